"""A hub outside Zero to JupyterHub, configured as the chart configures production.

The chart's own hub configuration sets hub-wide settings from its Helm values: the
spawn limits below (whatever our values say, the chart has defaults for them) and
KubeSpawner's ``profile_list``. A DockerSpawner hub (``make up``, the tests, the
benchmark) reads the same values through ``CHART_VALUES``, so it refuses, queues and
gives up on spawns as production does.
"""

from __future__ import annotations

# Chart 4.4.0's jupyterhub/values.yaml: what production has where our values say nothing.
CHART_DEFAULTS = {"consecutiveFailureLimit": 5, "concurrentSpawnLimit": 64}


def read_values(path) -> dict:
    """Helm values from a YAML file (an empty file is no values)."""
    import yaml  # only the hub's configuration needs it

    with open(path) as stream:
        values = yaml.safe_load(stream) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: not Helm values (a mapping)")
    return values


def hub_limits(values: dict) -> dict[str, int]:
    """The chart's spawn limits for these values, by JupyterHub trait.

    ``consecutive_failure_limit`` (``c.Spawner``): the hub exits after that many spawns in
    a row fail to start (refusals by the App do not count); ``concurrent_spawn_limit``
    (``c.JupyterHub``): beyond that many pending spawns, the hub answers 429.
    """
    hub = {**CHART_DEFAULTS, **{k: v for k, v in (values.get("hub") or {}).items() if v is not None}}
    return {
        "consecutive_failure_limit": int(hub["consecutiveFailureLimit"]),
        "concurrent_spawn_limit": int(hub["concurrentSpawnLimit"]),
    }
