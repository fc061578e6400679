"""The Zero to JupyterHub chart's hub pod, laid out from the chart's own files.

Helm merges our values (chart-values/) onto the chart's defaults; the chart's hub pod then
runs the chart's ``files/hub/jupyterhub_config.py`` (with ``z2jh.py``), which reads what
the Deployment mounts under /usr/local/etc/jupyterhub:

- the hub Secret (templates/hub/secret.yaml): ``values.yaml``, the merged values plus
  ``Chart`` and ``Release`` (its ``merge dict .Values`` leaves out top-level nulls), and the
  generated secrets (proxy token, cookie secret, CryptKeeper keys);
- the hub ConfigMap (templates/hub/configmap.yaml): the resource names as
  templates/_helpers-names.tpl renders them for ``fullnameOverride: ""``, and the chart's
  two files, also mounted beside it by subPath;

with the environment of templates/hub/deployment.yaml and the Services' ports. Written from
the chart's templates, not from the model of the chart (tests/unit/chart.py), which the unit
tier compares with it; the chart-config tier (tests/chart) starts real hubs on this layout.
The chart's files come from ``Z2JH_CHART_DIR`` (the pinned chart, ``helm pull --untar``).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
from pathlib import Path

import yaml

from harness import ROOT

VALUES_DIR = ROOT / "chart-values"
# helm --values order for each deployment: the base, then its overlay.
DEPLOYMENTS = {
    "base": ("values.yaml",),
    "k3s": ("values.yaml", "k3s.yaml"),
    "production": ("values.yaml", "example-production.yaml"),
}
RELEASE = "openhexa-notebooks"  # the Helm release name of the docs and CI
NAMESPACE = "openhexa"  # the namespace of the docs and CI: the hub pod's POD_NAMESPACE
MOUNT = "/usr/local/etc/jupyterhub"  # where the chart's hub Deployment mounts its ConfigMap and Secret
# What the chart keeps in its hub Secret besides the values, by key.
SECRET_KEYS = ("hub.config.ConfigurableHTTPProxy.auth_token", "hub.config.JupyterHub.cookie_secret",
               "hub.config.CryptKeeper.keys")  # fmt: skip
CHART_DIR_HELP = (
    "point Z2JH_CHART_DIR at the pinned chart unpacked: helm pull jupyterhub --repo "
    "https://hub.jupyter.org/helm-chart/ --version {version} --untar (the folder with Chart.yaml)"
)


def chart_pin() -> dict:
    """chart-values/chart.yaml: the chart (repository, name, version) the values target."""
    return yaml.safe_load((VALUES_DIR / "chart.yaml").read_text())


def chart_dir_from_env() -> tuple[Path | None, str]:
    """The pinned chart's folder from Z2JH_CHART_DIR, or None and what to do to have it."""
    path = os.environ.get("Z2JH_CHART_DIR")
    if not path:
        return None, "Z2JH_CHART_DIR is unset: " + CHART_DIR_HELP.format(version=chart_pin()["version"])
    folder = Path(path)
    for name in ("Chart.yaml", "values.yaml", "files/hub/jupyterhub_config.py", "files/hub/z2jh.py"):
        if not (folder / name).is_file():
            raise AssertionError(f"Z2JH_CHART_DIR={folder}: no {name}; it names the folder with Chart.yaml")
    return folder, ""


def helm_merge(base, override):
    """Merge ``override`` onto ``base`` as Helm merges --values files.

    Maps merge key by key, anything else (lists included) replaces, and a null
    removes the key.
    """
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_values(name: str) -> dict:
    return yaml.safe_load((VALUES_DIR / name).read_text()) or {}


def user_values(deployment: str, *overlays: dict) -> dict:
    """Our values for a deployment (then ``overlays``), merged as helm merges its --values files."""
    merged: dict = {}
    for values in [load_values(name) for name in DEPLOYMENTS[deployment]] + list(overlays):
        merged = helm_merge(merged, values)
    return merged


def extra_env(entries: dict, secrets: dict[str, str]) -> dict[str, str]:
    """hub.extraEnv as the hub Deployment renders it: values as they are, secret references resolved
    from ``secrets`` ("<secret name>/<key>" -> value)."""
    env = {}
    for name, value in entries.items():
        if isinstance(value, dict):
            ref = value["valueFrom"]["secretKeyRef"]
            env[name] = secrets[f"{ref['name']}/{ref['key']}"]
        else:
            env[name] = str(value)
    return env


def generated_secrets() -> dict[str, str]:
    """The hub Secret's generated values, as the chart makes them on a first install."""
    return {
        "hub.config.ConfigurableHTTPProxy.auth_token": os.urandom(32).hex(),
        "hub.config.JupyterHub.cookie_secret": os.urandom(32).hex(),
        "hub.config.CryptKeeper.keys": os.urandom(32).hex(),
    }


def configmap_names(values: dict) -> dict[str, str]:
    """The resource names in the hub ConfigMap that the chart's hub reads, for fullnameOverride "".

    As templates/_helpers-names.tpl renders them; a name the chart's file reads and this
    leaves out fails the hub's start ("... not found!").
    """
    if values.get("fullnameOverride", "") != "" or values.get("nameOverride") is not None:
        raise NotImplementedError('only fullnameOverride: "" is emulated')
    names = {name: name for name in ("hub", "proxy", "proxy-api", "proxy-public", "singleuser", "image-pull-secret")}
    # Cluster-wide resources get the release's name when the prefix is blank.
    names |= {"fullname": "", "user-scheduler": f"{RELEASE}-user-scheduler", "priority": f"{RELEASE}-default-priority"}
    return names


def service_port(chart_dir: Path, template: str, name: str) -> int:
    """The port a Service template gives its port ``name`` (the pod sees <SERVICE>_SERVICE_PORT)."""
    text = (chart_dir / "templates" / template).read_text()
    # The hub's Service names its port; the proxy-api Service, first in its file, has one port.
    match = re.search(rf"- name: {name}\n\s+port: (\d+)\n", text) or re.search(r"\n\s+- port: (\d+)\n", text)
    assert match, f"{template}: no port {name}"
    return int(match.group(1))


def secret_values(chart_dir: Path, values: dict) -> dict:
    """values.yaml of the hub Secret: the chart's defaults, our ``values`` on top, Chart and Release."""
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    merged = helm_merge(defaults, values)
    merged = {key: value for key, value in merged.items() if value is not None}  # sprig's merge drops them
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    merged["Chart"] = {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta.get("appVersion")}
    merged["Release"] = {"Name": RELEASE, "Namespace": NAMESPACE, "Service": "Helm"}
    return merged


def deployment_env(values: dict, secrets: dict[str, str], generated: dict[str, str], ports: dict[str, int]):
    """The hub container's environment: templates/hub/deployment.yaml's, the Services' ports
    (``ports``: ``hub`` and ``proxy-api``), then hub.extraEnv with ``secrets`` resolved."""
    env = {
        "PYTHONUNBUFFERED": "1",
        "HELM_RELEASE_NAME": RELEASE,
        "POD_NAMESPACE": NAMESPACE,  # the release's namespace (fieldRef metadata.namespace)
        "CONFIGPROXY_AUTH_TOKEN": generated["hub.config.ConfigurableHTTPProxy.auth_token"],
        "HUB_SERVICE_PORT": str(ports["hub"]),
        "PROXY_API_SERVICE_PORT": str(ports["proxy-api"]),
    }
    env.update(extra_env(values["hub"].get("extraEnv") or {}, secrets))
    return env


def lay_out_mount(chart_dir: Path, values: dict, generated: dict[str, str], root: Path) -> dict:
    """Write into ``root`` what the hub pod has under /usr/local/etc/jupyterhub; return the Secret's
    values. ``values``: ours, merged (``user_values``); ``generated``: the Secret's generated values."""
    secret = secret_values(chart_dir, values)
    (root / "secret").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "secret" / "values.yaml").write_text(yaml.safe_dump(secret))
    for key in SECRET_KEYS:
        (root / "secret" / key).write_text(generated[key])
    for name, value in configmap_names(secret).items():
        (root / "config" / name).write_text(value)
    for name in ("jupyterhub_config.py", "z2jh.py"):
        shutil.copy(chart_dir / "files" / "hub" / name, root / "config" / name)
        shutil.copy(chart_dir / "files" / "hub" / name, root / name)  # the Deployment's subPath mounts
    return secret


def load_smoke():
    """chart-values/smoke.py (the chart workflow's smoke test) as a module: its folder is not a package."""
    spec = importlib.util.spec_from_file_location("chart_smoke", VALUES_DIR / "smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
