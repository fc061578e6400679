"""The model of the chart (tests/unit/chart.py) against the chart itself, wherever it is at hand.

With Z2JH_CHART_DIR naming the pinned chart unpacked (``helm pull jupyterhub --untar``:
the folder with Chart.yaml), these tests run the chart's own
``files/hub/jupyterhub_config.py`` over our values, in this process, as its hub pod
does. Under a temporary folder that stands for /usr/local/etc/jupyterhub (the
paths below it are redirected while the chart's file loads) they lay out what the
chart mounts there:

- the hub Secret (templates/hub/secret.yaml): ``values.yaml``, the chart's defaults
  with our files merged on top as Helm merges them, plus ``Chart`` and ``Release``
  (its ``merge dict .Values`` leaves out top-level nulls), and the generated
  secrets (chart.CHART_SECRETS stands for them);
- the hub ConfigMap (templates/hub/configmap.yaml): the resource names, as
  templates/_helpers-names.tpl renders them with ``fullnameOverride: ""``, and the
  chart's two files;
- the hub image's copy of hub/jupyterhub_config.py, which hub.extraConfig loads;

with the environment the chart's hub Deployment and Kubernetes give the pod. Then
every hub setting, and every field of each pod and claim that the two
configurations give (through the real spawn hooks), is compared with the model's;
a difference fails with the field named.
"""

from __future__ import annotations

import builtins
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from jupyterhub.app import JupyterHub
from jupyterhub.crypto import CryptKeeper
from jupyterhub.proxy import ConfigurableHTTPProxy
from jupyterhub.spawner import Spawner
from kubespawner import KubeSpawner
from tornado.httpclient import AsyncHTTPClient
from traitlets.config import Config, LazyConfigValue, PyFileConfigLoader

from harness import ROOT
from harness import chart as harness_chart
from harness.app import DEMO
from harness.hub import app_settings
from openhexa_hub.authenticator import OpenHexaAuthenticator
from tests.unit import chart

MOUNT = harness_chart.MOUNT + "/"
WORKSPACE = "malaria-dashboards"
ALICE_EMAIL, _ = DEMO["alice"]
# Stand-ins for the Secrets the values reference (name/key), as test_chart_values.py has them.
SECRETS = {
    "openhexa-notebooks/hub-api-token": "token-from-the-secret",
    "openhexa-notebooks/hub-db-password": "password-from-the-secret",
}
# The classes whose traits the hub's configuration sets, by section.
SECTIONS = {
    "JupyterHub": JupyterHub,
    "Spawner": Spawner,
    "KubeSpawner": KubeSpawner,
    "ConfigurableHTTPProxy": ConfigurableHTTPProxy,
    "CryptKeeper": CryptKeeper,
    "OpenHexaAuthenticator": OpenHexaAuthenticator,
}


@pytest.fixture(scope="module")
def chart_dir() -> Path:
    path, missing = harness_chart.chart_dir_from_env()
    if path is None:
        pytest.skip(f"{missing}, to compare the model of the chart with the chart's own hub configuration")
    return path


def chart_metadata(chart_dir: Path) -> dict:
    return yaml.safe_load((chart_dir / "Chart.yaml").read_text())


def chart_defaults(chart_dir: Path) -> dict:
    return yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}


# -- what the chart mounts in its hub pod (harness/chart.py) ---------------------------


def lay_out_mount(chart_dir: Path, deployment: str, root: Path) -> dict:
    """The hub pod's /usr/local/etc/jupyterhub in ``root``, plus the image's copy of hub/jupyterhub_config.py."""
    values = harness_chart.lay_out_mount(chart_dir, chart.user_values(deployment), chart.CHART_SECRETS, root)
    (root / "openhexa").mkdir()
    shutil.copy(ROOT / "hub" / "jupyterhub_config.py", root / "openhexa" / "jupyterhub_config.py")  # hub/Dockerfile
    return values


def deployment_env(chart_dir: Path, values: dict) -> dict[str, str]:
    """The hub container's environment, with the ports the chart's Service templates give."""
    ports = {"hub": harness_chart.service_port(chart_dir, "hub/service.yaml", "hub"),
             "proxy-api": harness_chart.service_port(chart_dir, "proxy/service.yaml", "api")}  # fmt: skip
    return harness_chart.deployment_env(values, SECRETS, chart.CHART_SECRETS, ports)


def run_chart_hub_config(chart_dir: Path, deployment: str, root: Path, monkeypatch) -> tuple[Config, dict]:
    """The configuration the chart's hub loads for ``deployment``, and the environment it ran with."""
    values = lay_out_mount(chart_dir, deployment, root)
    env = deployment_env(chart_dir, values)
    real_open, exists, isdir, isfile = builtins.open, os.path.exists, os.path.isdir, os.path.isfile

    def moved(path):
        text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
        if isinstance(text, str) and (text + "/").startswith(MOUNT):
            return str(root / text[len(MOUNT) :])
        return path

    configured = []
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(builtins, "open", lambda file, *args, **kwargs: real_open(moved(file), *args, **kwargs))
        patch.setattr(os.path, "exists", lambda path: exists(moved(path)))
        patch.setattr(os.path, "isdir", lambda path: isdir(moved(path)))
        patch.setattr(os.path, "isfile", lambda path: isfile(moved(path)))
        patch.setattr(sys, "path", list(sys.path))  # the chart's file puts its folder first
        # The chart's hub has pycurl; this process keeps tornado's client as it is.
        patch.setattr(AsyncHTTPClient, "configure", classmethod(lambda cls, impl, **kwargs: configured.append(impl)))
        sys.modules.pop("z2jh", None)
        try:
            config = PyFileConfigLoader("jupyterhub_config.py", path=str(root)).load_config()
        finally:
            sys.modules.pop("z2jh", None)
    assert configured == ["tornado.curl_httpclient.CurlAsyncHTTPClient"]
    return config, env


# -- comparing -----------------------------------------------------------------------


def settings(config: Config) -> dict[str, object]:
    """Every setting of a configuration as ``Section.trait``; appends and updates resolved on the defaults."""
    flat = {}
    for section, traits in config.items():
        for trait, value in traits.items():
            if isinstance(value, LazyConfigValue):
                cls = SECTIONS.get(section)
                assert cls is not None and trait in cls.class_traits(), f"{section}.{trait}: unknown"
                value = value.get_value(cls.class_traits()[trait].default())
            flat[f"{section}.{trait}"] = value
    return flat


def differences(chart_value, model_value, path: str) -> list[str]:
    """Where two values differ, each named by its path; dicts and lists are walked."""
    if isinstance(chart_value, dict) and isinstance(model_value, dict):
        found = []
        for key in list(chart_value) + [k for k in model_value if k not in chart_value]:
            if key not in model_value:
                found.append(f"{path}.{key}: the chart sets {chart_value[key]!r}, the model nothing")
            elif key not in chart_value:
                found.append(f"{path}.{key}: the model sets {model_value[key]!r}, the chart nothing")
            else:
                found += differences(chart_value[key], model_value[key], f"{path}.{key}")
        return found
    if isinstance(chart_value, list) and isinstance(model_value, list) and len(chart_value) == len(model_value):
        pairs = enumerate(zip(chart_value, model_value, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    if chart_value != model_value or type(chart_value) is not type(model_value):
        return [f"{path}: the chart gives {chart_value!r}, the model {model_value!r}"]
    return []


def assert_same(chart_value, model_value, what: str) -> None:
    found = differences(chart_value, model_value, what)
    assert not found, "the model of the chart differs from the chart:\n" + "\n".join(found)


# -- the tests -------------------------------------------------------------------------


def test_the_chart_at_hand_is_the_pinned_one(chart_dir):
    meta = chart_metadata(chart_dir)
    pin = chart.chart_pin()
    assert (meta["name"], meta["version"]) == (pin["name"], pin["version"]), (
        f"Z2JH_CHART_DIR holds {meta['name']} {meta['version']}; chart-values/chart.yaml pins {pin['version']}"
    )


def test_the_models_defaults_are_the_charts(chart_dir):
    version = chart.chart_pin()["version"]
    model = chart._chart_defaults(version)
    defaults = chart_defaults(chart_dir)

    def leaves(node, path=()):
        if isinstance(node, dict) and node:
            for key, value in node.items():
                yield from leaves(value, (*path, key))
        else:
            yield path, node

    def at(values, path):
        for key in path:
            if not isinstance(values, dict) or key not in values:
                return "<missing>"
            values = values[key]
        return values

    found = []
    for path, value in leaves(model):
        actual = at(defaults, path)
        if actual != value:
            found.append(f"{'.'.join(path)}: the chart's values.yaml has {actual!r}, the model {value!r}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_the_hub_settings_are_the_charts(chart_dir, deployment, tmp_path, monkeypatch):
    real, env = run_chart_hub_config(chart_dir, deployment, tmp_path / "etc", monkeypatch)
    values = chart.chart_values(deployment)
    assert_same(env, chart.hub_env(values, SECRETS), "hub environment")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    model = chart.hub_config(values)
    assert_same(settings(real), settings(model), "c")
    limits = chart.hub_limits(values)
    assert real.Spawner.consecutive_failure_limit == limits["consecutive_failure_limit"]
    assert real.JupyterHub.concurrent_spawn_limit == limits["concurrent_spawn_limit"]


def test_the_comparison_names_the_field_that_differs():
    real = Config({"KubeSpawner": {"scheduler_name": "a-user-scheduler", "common_labels": {"app": "jupyterhub"}}})
    model = Config({"KubeSpawner": {"scheduler_name": "user-scheduler", "common_labels": {"heritage": "jupyterhub"}}})
    real.Spawner.consecutive_failure_limit = 5
    found = differences(settings(real), settings(model), "c")
    assert any(d.startswith("c.KubeSpawner.scheduler_name: ") for d in found), found
    assert any(d.startswith("c.KubeSpawner.common_labels.app: the chart sets") for d in found), found
    assert any(d.startswith("c.KubeSpawner.common_labels.heritage: the model sets") for d in found), found
    assert any(d.startswith("c.Spawner.consecutive_failure_limit: the chart sets 5") for d in found), found
    lazy = Config()
    lazy.KubeSpawner.init_containers.append({"name": "x"})
    assert settings(lazy) == {"KubeSpawner.init_containers": [{"name": "x"}]}
    assert differences([1, 2], [1], "l") == ["l: the chart gives [1, 2], the model [1]"]
    assert differences(1, 1.0, "n") == ["n: the chart gives 1, the model 1.0"]


RENDERS = [
    (deployment, server, profile["slug"])
    for deployment in chart.DEPLOYMENTS
    for profile in chart.get(chart.chart_values(deployment), "singleuser.profileList", [])
    for server in ("", WORKSPACE)
]


@pytest.mark.parametrize(
    ("deployment", "server", "profile"), RENDERS, ids=[f"{d}-{s or 'default'}-{p}" for d, s, p in RENDERS]
)
def test_the_pods_are_the_charts(chart_dir, deployment, server, profile, inapp, kubeconfig, tmp_path, monkeypatch):
    real, env = run_chart_hub_config(chart_dir, deployment, tmp_path / "etc", monkeypatch)
    for name, value in {**env, **app_settings(inapp.url)}.items():
        monkeypatch.setenv(name, value)
    model = chart.hub_config(chart.chart_values(deployment))
    for config in (real, model):  # the mock App, in-process
        config.OpenHexaAuthenticator.app_client = inapp.client()
    session = inapp.login("alice")
    _, real_pod, real_pvc, real_form = chart.render_pod(real, session, ALICE_EMAIL, server, profile)
    _, model_pod, model_pvc, model_form = chart.render_pod(model, session, ALICE_EMAIL, server, profile)
    assert_same(real_pod, model_pod, "pod")
    assert_same(real_pvc, model_pvc, "claim")
    assert real_form == model_form
    assert real_pod["spec"]["containers"][0]["image"].startswith("blsq/openhexa-base-notebook:"), "a real render"
