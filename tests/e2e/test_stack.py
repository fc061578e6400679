"""`make up`'s stack as `docker ps` shows it: every container healthy within a minute of its start; a second
`make up` beside it stops, naming the port it holds."""

import pytest

from harness.stack import APP_URL, Stack

WITHIN = 60  # seconds from a container's start to its first passing healthcheck


def test_every_container_of_the_stack_turns_healthy_within_a_minute(stack, docker_client):
    """Measured as the stack came up (the ``stack`` fixture: ``Stack.seconds_to_healthy``)."""
    containers = docker_client.containers.list(filters={"label": f"com.docker.compose.project={stack.project}"})
    services = {c.labels["com.docker.compose.service"]: c for c in containers}
    assert {"app", "hub"} <= set(services), services
    for service, container in services.items():
        assert container.attrs["Config"].get("Healthcheck"), f"{service} declares no healthcheck"
    assert set(stack.healthy_after) >= {"app", "hub"}, stack.healthy_after
    late = {service: seconds for service, seconds in stack.healthy_after.items() if seconds > WITHIN}
    assert not late, f"healthy later than {WITHIN}s after their start: {late}"


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
