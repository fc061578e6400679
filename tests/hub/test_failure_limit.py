"""Refused spawns never bring the hub down.

JupyterHub exits once ``Spawner.consecutive_failure_limit`` spawns in a row have failed (the
Zero to JupyterHub chart sets 5): on Kubernetes the hub pod restarts and everyone's session is
interrupted. A person the App refuses, clicking again and again, or an App outage, must not do
that; a spawner that really fails still counts.
"""

import json

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from harness import ROOT
from harness.app import DEMO
from harness.hub import CHART_VALUES, HUB_TIER_CONFIG, Hub
from harness.wait import WaitTimeout, wait_until
from openhexa_hub.chart import CHART_DEFAULTS, hub_limits, read_values
from tests.unit import chart

# The limit production has: the chart's, for our values.
LIMIT = hub_limits(read_values(CHART_VALUES))["consecutive_failure_limit"]


@pytest.fixture
def strict_hub(mock_app, tmp_path):
    """A hub on its own, with the chart's values: it exits after LIMIT consecutive spawn failures."""
    hub = Hub.start(
        mock_app.url,
        tmp_path / "hub",
        HUB_TIER_CONFIG,
        extra_env={"APP_READ_TIMEOUT": "2", "APP_CONNECT_TIMEOUT": "2", "CHART_VALUES": str(CHART_VALUES)},
        # A server that never answers fails after 5 s, not 30.
        extra_args=["--Spawner.http_timeout=5"],
    )
    yield hub
    hub.stop()


def refused_spawn(hub, session, name: str, workspace: str) -> int:
    return hub.launch_as_app(name, workspace, session).status_code


@pytest.mark.reliability(
    "Fault",
    "spawns refused again and again (a viewer clicking, an unknown workspace, the App down, an unknown profile, "
    "an image outside the policy) past the chart's consecutive failure limit",
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


def hub_config(monkeypatch, **env):
    """hub/jupyterhub_config.py as JupyterHub loads it, with this environment."""
    monkeypatch.setenv("HUB_API_TOKEN", "t" * 32)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", str(ROOT / "hub")).load_config()


@pytest.mark.parametrize(
    ("values", "failures", "spawns"),
    [
        ("", 5, 64),  # values that say nothing: the chart's defaults
        ("hub: {consecutiveFailureLimit: 0, concurrentSpawnLimit: 7}\n", 0, 7),
        ("hub: {concurrentSpawnLimit: null}\n", 5, 64),
    ],
)
def test_outside_the_chart_the_hub_takes_the_limits_the_chart_would_set(
    monkeypatch, tmp_path, values, failures, spawns
):
    path = tmp_path / "values.yaml"
    path.write_text(values)
    config = hub_config(monkeypatch, CHART_VALUES=str(path))
    assert config.Spawner.consecutive_failure_limit == failures
    assert config.JupyterHub.concurrent_spawn_limit == spawns


def test_our_values_give_the_hub_the_limits_on_purpose(monkeypatch):
    """values.yaml sets both limits itself, so production does not depend on the chart's defaults."""
    hub = read_values(CHART_VALUES)["hub"]
    config = hub_config(monkeypatch, CHART_VALUES=str(CHART_VALUES))
    assert config.Spawner.consecutive_failure_limit == hub["consecutiveFailureLimit"] == LIMIT > 0
    assert config.JupyterHub.concurrent_spawn_limit == hub["concurrentSpawnLimit"]
    assert [p["slug"] for p in config.Spawner.profile_list] == [
        p["slug"] for p in read_values(CHART_VALUES)["singleuser"]["profileList"]
    ]
    assert "concurrent_spawn_limit" not in hub_config(monkeypatch, CHART_VALUES="").JupyterHub, (
        "under the chart, its own"
    )


@pytest.mark.parametrize("deployment", sorted(chart.DEPLOYMENTS))
def test_outside_the_chart_the_limits_are_the_charts(deployment, tmp_path):
    """CHART_VALUES gives a DockerSpawner hub the limits the chart gives the same values in production."""
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(chart.user_values(deployment)))
    assert hub_limits(read_values(path)) == chart.hub_limits(chart.chart_values(deployment))
    defaults = chart._chart_defaults(chart.chart_pin()["version"])["hub"]
    assert {key: defaults[key] for key in CHART_DEFAULTS} == CHART_DEFAULTS, "the chart's own defaults"
