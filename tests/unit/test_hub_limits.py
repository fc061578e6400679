"""The hub's spawn limits (consecutive failures, concurrent spawns) from the chart's values, as its config loads them.

That a hub with these limits survives refusals and exits on real failures is the hub tier's
(tests/hub/test_failure_limit.py).
"""

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from harness import ROOT
from harness.hub import CHART_VALUES
from openhexa_hub.chart import CHART_DEFAULTS, hub_limits, read_values
from tests.unit import chart

# The limit production has: the chart's, for our values.
LIMIT = hub_limits(read_values(CHART_VALUES))["consecutive_failure_limit"]


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
