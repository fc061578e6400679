"""Refused spawns never bring the hub down.

JupyterHub exits once ``Spawner.consecutive_failure_limit`` spawns in a row have failed (the
Zero to JupyterHub chart sets 5): on Kubernetes the hub pod restarts and everyone's session is
interrupted. A person the App refuses, clicking again and again, or an App outage, must not do
that; a spawner that really fails still counts.

The limits the hub's config takes from the chart's values, without a hub: tests/unit/test_hub_limits.py.
"""

import json

import pytest

from harness.app import DEMO
from harness.hub import CHART_VALUES, HUB_TIER_CONFIG, Hub
from harness.wait import WaitTimeout, wait_until
from openhexa_hub.chart import hub_limits, read_values

# The limit production has: the chart's, for our values.
LIMIT = hub_limits(read_values(CHART_VALUES))["consecutive_failure_limit"]


@pytest.fixture
def strict_hub(mock_app, tmp_path):
    """A hub on its own, with the chart's values: it exits after LIMIT consecutive spawn failures."""
    hub = Hub.start(
        mock_app.url,
        tmp_path / "hub",
        HUB_TIER_CONFIG,
        extra_env={
            "APP_READ_TIMEOUT": "2",
            "APP_CONNECT_TIMEOUT": "2",
            "CHART_VALUES": str(CHART_VALUES),
            # The App may make this hub tier's server exit (tests/hub/mock_server.py), an operator's extra name.
            "EXTRA_APP_ENV": "MOCK_SERVER_EXIT",
        },
        # A server that never answers fails after 5 s, not 30.
        extra_args=["--Spawner.http_timeout=5"],
    )
    yield hub
    hub.stop()


def refused_spawn(hub, session, name: str, workspace: str) -> int:
    return hub.launch_as_app(name, workspace, session).status_code


def test_many_refusals_in_a_row_leave_the_hub_running(app, strict_hub):
    bob = app.login(*DEMO["bob"])  # a viewer: the App refuses his workspace launches
    for _ in range(2 * LIMIT):
        assert refused_spawn(strict_hub, bob, "bob@openhexa.test", "malaria-dashboards") == 403
        assert refused_spawn(strict_hub, bob, "bob@openhexa.test", "no-such-workspace") == 404
    app.set_mode("status-500")
    for _ in range(LIMIT):
        assert refused_spawn(strict_hub, bob, "bob@openhexa.test", "malaria-dashboards") == 503
    app.set_mode("ok")
    # The hub's own refusals: a profile it does not have, an image outside its policy.
    alice = app.login(*DEMO["alice"])
    for _ in range(LIMIT):
        answer = strict_hub.launch_as_app("alice@openhexa.test", "malaria-dashboards", alice, {"profile": "huge"})
        assert answer.status_code == 400, answer.text
    image = {"env": {}, "notebooks_server_hash": "0" * 32, "image": "somebody/else:1"}
    app.answer(200, json.dumps(image), {"Content-Type": "application/json"}, path="/workspaces/credentials/")
    for _ in range(LIMIT):
        assert refused_spawn(strict_hub, alice, "alice@openhexa.test", "malaria-dashboards") == 403
    app.set_mode("ok")
    # JupyterHub exits 2 s after the limit is reached: give it the time to.
    with pytest.raises(WaitTimeout):
        wait_until(lambda: not strict_hub.process.alive(), "the hub to exit", timeout=4)
    assert strict_hub.api("GET", "/").status_code == 200


def test_refusals_after_real_failures_are_not_logged_as_more_failures(app, strict_hub):
    """The hub's log says what happens: after two real failures, JupyterHub warns once that two spawns in a row
    failed; refusals (the App failing, on the spawn page) are no failures, and add no such warning."""
    alice = app.login(*DEMO["alice"])
    alice.get(f"{strict_hub.url}/hub/login", allow_redirects=False, timeout=30)
    exiting = {"username": "alice@openhexa.test", "env": {"MOCK_SERVER_EXIT": "3"}, "files": {}}
    app.answer(200, json.dumps(exiting), {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")
    for _ in range(2):  # two servers that exit as they start: real failures
        alice.get(f"{strict_hub.url}/hub/spawn", timeout=60)
        wait_until(lambda: not (strict_hub.server("alice@openhexa.test") or {}).get("pending"), "the spawn to fail")
    wait_until(lambda: "2 consecutive spawns failed" in strict_hub.process.log(), "JupyterHub's warning")
    # The App failing to answer the credentials (the session check passes): the spawn hooks refuse, three times.
    app.answer(500, "{}", {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")
    for _ in range(3):
        assert alice.get(f"{strict_hub.url}/hub/spawn", timeout=60).status_code == 503
    app.set_mode("ok")
    assert strict_hub.process.log().count("consecutive spawns failed") == 1, "a refusal was logged as a failure"
    assert strict_hub.process.alive()


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
