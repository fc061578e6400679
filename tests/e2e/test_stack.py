"""`make up`'s stack as `docker ps` shows it: every container healthy within a minute of its start; a second
`make up` beside it stops, naming the port it holds."""

import datetime as dt

import pytest

from harness.stack import APP_URL, Stack
from harness.wait import wait_until

WITHIN = 60  # seconds from a container's start to its first passing healthcheck


def started_seconds_ago(container) -> float:
    started = dt.datetime.fromisoformat(container.attrs["State"]["StartedAt"][:26].rstrip("Z") + "+00:00")
    return (dt.datetime.now(dt.UTC) - started).total_seconds()


def test_every_container_of_the_stack_turns_healthy_within_a_minute(stack, docker_client):
    containers = docker_client.containers.list(filters={"label": f"com.docker.compose.project={stack.project}"})
    services = {c.labels["com.docker.compose.service"]: c for c in containers}
    assert {"app", "hub"} <= set(services), services
    for service, container in services.items():
        assert container.attrs["Config"].get("Healthcheck"), f"{service} declares no healthcheck"

        def healthy(container=container):
            container.reload()
            return container.attrs["State"]["Health"]["Status"] == "healthy"

        left = max(WITHIN - started_seconds_ago(container), 5)
        wait_until(healthy, f"the stack's {service} to be healthy within {WITHIN}s of its start", left, interval=1)


@pytest.mark.parametrize("app", [None, APP_URL], ids=["the-mock", "your-own-app"])
def test_make_up_stops_naming_the_hubs_port_when_another_program_holds_it(stack, docker_client, app):
    beside = Stack(project="openhexa-e2e-beside")  # the session's stack holds 8001
    try:
        said = beside.script("up", *([app] if app else []), check=False)
        assert "port 8001 on 127.0.0.1 (the hub) is taken by another program" in said
        project = f"com.docker.compose.project={beside.project}"
        assert not docker_client.containers.list(all=True, filters={"label": project}), "it started something"
    finally:
        beside.down()
