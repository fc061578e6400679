"""Refused spawns never bring the hub down.

JupyterHub exits once ``Spawner.consecutive_failure_limit`` spawns in a row have failed (the
Zero to JupyterHub chart sets 5): on Kubernetes the hub pod restarts and everyone's session is
interrupted. A person the App refuses, clicking again and again, or an App outage, must not do
that; a spawner that really fails still counts.
"""

import json

import pytest

from tests.conftest import DEMO, UNIT_HUB_CONFIG
from tests.support import Hub, WaitTimeout, wait_until

LIMIT = 3  # the chart's is 5: fewer, for a shorter test


@pytest.fixture
def strict_hub(mock_app, tmp_path):
    """A hub on its own that exits after LIMIT consecutive spawn failures, as the chart configures it."""
    hub = Hub.start(
        mock_app.url,
        tmp_path / "hub",
        UNIT_HUB_CONFIG,
        extra_env={"APP_READ_TIMEOUT": "2", "APP_CONNECT_TIMEOUT": "2"},
        # A server that never answers fails after 5 s, not 30.
        extra_args=[f"--Spawner.consecutive_failure_limit={LIMIT}", "--Spawner.http_timeout=5"],
    )
    yield hub
    hub.stop()


def refused_spawn(hub, session, name: str, workspace: str) -> int:
    return hub.launch_as_app(name, workspace, session).status_code


@pytest.mark.reliability(
    "Fault",
    "spawns refused again and again (a viewer clicking, an unknown workspace, the App down) past the hub's "
    "consecutive failure limit",
    "each is refused with its reason; the hub keeps running",
)
def test_many_refusals_in_a_row_leave_the_hub_running(app, strict_hub):
    bob = app.login(*DEMO["bob"])  # a viewer: the App refuses his workspace launches
    for _ in range(2 * LIMIT):
        assert refused_spawn(strict_hub, bob, "bob@openhexa.test", "malaria-dashboards") == 403
        assert refused_spawn(strict_hub, bob, "bob@openhexa.test", "no-such-workspace") == 404
    app.set_mode("status-500")
    for _ in range(LIMIT):
        assert refused_spawn(strict_hub, bob, "bob@openhexa.test", "malaria-dashboards") == 503
    app.set_mode("ok")
    # JupyterHub exits 2 s after the limit is reached: give it the time to.
    with pytest.raises(WaitTimeout):
        wait_until(lambda: not strict_hub.process.alive(), "the hub to exit", timeout=4)
    assert strict_hub.api("GET", "/").status_code == 200


def test_a_failing_spawner_still_counts(app, strict_hub):
    """The limit still does its job: servers that exit as they start stop the hub after LIMIT tries."""
    alice = app.login(*DEMO["alice"])
    alice.get(f"{strict_hub.url}/hub/login", allow_redirects=False, timeout=30)
    body = {"username": "alice@openhexa.test", "env": {"MOCK_SERVER_EXIT": "3"}, "files": {}}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")
    for _ in range(LIMIT):
        if not strict_hub.process.alive():
            break
        alice.get(f"{strict_hub.url}/hub/spawn", timeout=60)
        wait_until(lambda: not (strict_hub.server("alice@openhexa.test") or {}).get("pending"), "the spawn to fail")
    wait_until(lambda: not strict_hub.process.alive(), "the hub to exit after the real failures", timeout=30)
