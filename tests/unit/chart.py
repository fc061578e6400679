"""The Zero to JupyterHub chart as its hub applies our values, for tests/unit/test_chart_values.py.

The chart's hub turns Helm values into JupyterHub configuration in its
``files/hub/jupyterhub_config.py``. :func:`hub_config` mirrors that file, in the
same order (the proxy, the hub's own settings and limits, the pods' labels,
singleuser, scheduling, storage, culler, ``hub.config``, then
``hub.extraConfig``), for the release :data:`RELEASE` in :data:`NAMESPACE`, so a
real KubeSpawner built from it renders the pod the cluster would get;
:func:`hub_limits` says which failure and spawn limits the hub runs with.
:func:`egress_allowed` reads the singleuser NetworkPolicy the chart renders from
``singleuser.networkPolicy``. With Z2JH_CHART_DIR, tests/unit/test_chart_upstream.py
runs the chart's own file over the same values and compares.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
from http.cookies import SimpleCookie
from pathlib import Path
from types import SimpleNamespace

import yaml
from jupyterhub.utils import url_path_join
from kubespawner import KubeSpawner
from traitlets.config import Config, PyFileConfigLoader

from harness import ROOT
from harness.chart import (  # noqa: F401 - the model's users read them here too
    DEPLOYMENTS,
    NAMESPACE,
    RELEASE,
    VALUES_DIR,
    chart_pin,
    extra_env,
    helm_merge,
    load_smoke,
    load_values,
    user_values,
)

CHART_VALUES = VALUES_DIR
VALUES_FILES = ("values.yaml", "k3s.yaml", "example-production.yaml")
# Where the hub image installs hub/jupyterhub_config.py (hub.extraConfig loads it).
IMAGE_HUB_CONFIG = "/usr/local/etc/jupyterhub/openhexa/jupyterhub_config.py"


def _chart_defaults(version: str) -> dict:
    """The chart's own defaults (its values.yaml) for every key :func:`hub_config` reads.

    With Z2JH_CHART_DIR, tests/unit/test_chart_upstream.py compares each of them
    with the chart's values.yaml.
    """
    dedicated_user = [
        {"key": key, "operator": "Equal", "value": "user", "effect": "NoSchedule"}
        for key in ("hub.jupyter.org/dedicated", "hub.jupyter.org_dedicated")
    ]
    no_affinity = {"required": [], "preferred": []}
    return {
        "fullnameOverride": "",
        "nameOverride": None,
        "imagePullSecret": {"create": False, "automaticReferenceInjection": True},
        "imagePullSecrets": [],
        "hub": {
            "config": {"JupyterHub": {"admin_access": True, "authenticator_class": "dummy"}},
            "baseUrl": "/",
            # The chart's own limits, where JupyterHub's defaults are 100 and 0.
            "concurrentSpawnLimit": 64,
            "consecutiveFailureLimit": 5,
            "activeServerLimit": None,
            "db": {"type": "sqlite-pvc", "url": None, "password": None},
            "allowNamedServers": False,
            "namedServerLimitPerUser": None,
            "authenticatePrometheus": None,
            "redirectToServer": None,
            "shutdownOnLogout": None,
            "templatePaths": [],
            "templateVars": {},
            "extraEnv": {},
            "extraConfig": {},
            "loadRoles": {},
            "services": {},
        },
        "singleuser": {
            "podNameTemplate": None,
            "extraTolerations": [],
            "nodeSelector": {},
            "extraNodeAffinity": dict(no_affinity),
            "extraPodAffinity": dict(no_affinity),
            "extraPodAntiAffinity": dict(no_affinity),
            "networkTools": {
                "image": {"name": "quay.io/jupyterhub/k8s-network-tools", "tag": version, "pullSecrets": []},
                "resources": {},
            },
            "cloudMetadata": {"blockWithIptables": True, "ip": "169.254.169.254"},
            "networkPolicy": {
                "enabled": True,
                "ingress": [],
                "egress": [],
                "egressAllowRules": {
                    "cloudMetadataServer": False,
                    "dnsPortsCloudMetadataServer": True,
                    "dnsPortsKubeSystemNamespace": True,
                    "dnsPortsPrivateIPs": True,
                    "nonPrivateIPs": True,
                    "privateIPs": False,
                },
            },
            "events": True,
            "extraAnnotations": {},
            "extraLabels": {"hub.jupyter.org/network-access-hub": "true"},
            "extraFiles": {},
            "extraEnv": {},
            "lifecycleHooks": {},
            "initContainers": [],
            "extraContainers": [],
            "allowPrivilegeEscalation": False,
            "uid": 1000,
            "fsGid": 100,
            "serviceAccountName": None,
            "storage": {
                "type": "dynamic",
                "extraLabels": {},
                "extraVolumes": None,
                "extraVolumeMounts": None,
                "static": {"pvcName": None, "subPath": "{username}"},
                "capacity": "10Gi",
                "homeMountPath": "/home/jovyan",
                "dynamic": {
                    "storageClass": None,
                    "pvcNameTemplate": None,
                    "volumeNameTemplate": "volume-{user_server}",
                    "storageAccessModes": ["ReadWriteOnce"],
                    "subPath": None,
                },
            },
            "image": {
                "name": "quay.io/jupyterhub/k8s-singleuser-sample",
                "tag": version,
                "pullPolicy": None,
                "pullSecrets": [],
            },
            "startTimeout": 300,
            "cpu": {"limit": None, "guarantee": None},
            "memory": {"limit": None, "guarantee": "1G"},
            "extraResource": {"limits": {}, "guarantees": {}},
            "cmd": "jupyterhub-singleuser",
            "defaultUrl": None,
            "extraPodConfig": {},
            "profileList": [],
        },
        "scheduling": {
            "userScheduler": {"enabled": True},
            "podPriority": {"enabled": False},
            "userPlaceholder": {"enabled": True, "replicas": 0},
            "userPods": {"tolerations": dedicated_user, "nodeAffinity": {"matchNodePurpose": "prefer"}},
        },
        "cull": {
            "enabled": True,
            "users": False,
            "adminUsers": True,
            "removeNamedServers": False,
            "timeout": 3600,
            "every": 600,
            "concurrency": 10,
            "maxAge": 0,
        },
        "debug": {"enabled": False},
    }


def chart_values(deployment: str) -> dict:
    """What the chart's hub sees: its defaults with our files merged on top."""
    return helm_merge(_chart_defaults(chart_pin()["version"]), user_values(deployment))


_UNSET = object()

# The ports of the chart's hub and proxy-api Services (templates/hub/service.yaml and
# templates/proxy/service.yaml); Kubernetes gives the hub pod <SERVICE>_SERVICE_PORT for each.
HUB_PORT = 8081
PROXY_API_PORT = 8001
# What the chart keeps in its hub Secret besides the values, generated on the first install.
# Stand-ins here; CryptKeeper.keys holds ;-separated keys.
CHART_SECRETS = {
    "hub.config.ConfigurableHTTPProxy.auth_token": "chart-generated-proxy-token",
    "hub.config.JupyterHub.cookie_secret": "0123456789abcdef" * 4,
    "hub.config.CryptKeeper.keys": "chart-generated-key-1;chart-generated-key-2",
}


def get(values: dict, dotted: str, default=None):
    """The chart's ``get_config``: a dotted key into the values, or ``default``."""
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _set_if_not_none(section, trait, values, key):
    value = get(values, key)
    if value is not None:
        section[trait] = copy.deepcopy(value)


def resource_names(values: dict, release: str = RELEASE) -> dict[str, str]:
    """The chart's names of its resources (its _helpers-names.tpl) that its hub reads from its ConfigMap."""
    override = values.get("fullnameOverride", "")
    if isinstance(override, str):
        fullname = override
    else:
        name = values.get("nameOverride") or "jupyterhub"
        fullname = release if name in release else f"{release}-{name}"
    dash = f"{fullname}-" if fullname else ""
    return {
        "fullname": fullname,
        "hub": f"{dash}hub",
        "proxy-api": f"{dash}proxy-api",
        "singleuser": f"{dash}singleuser",
        "image-pull-secret": f"{dash}image-pull-secret",
        # Cluster-wide names: the release keeps them apart when there is no prefix.
        "user-scheduler": f"{dash}user-scheduler" if fullname else f"{release}-user-scheduler",
        "priority": fullname or f"{release}-default-priority",
    }


def service_env(service: str, suffix: str) -> str:
    """The environment variable Kubernetes sets for a Service (the chart's ``get_name_env``)."""
    return (service + suffix).upper().replace("-", "_")


# (JupyterHub trait, key under hub.) as the chart's jupyterhub_config.py maps them.
HUB_TRAITS = (
    ("concurrent_spawn_limit", "concurrentSpawnLimit"),
    ("active_server_limit", "activeServerLimit"),
    ("base_url", "baseUrl"),
    ("allow_named_servers", "allowNamedServers"),
    ("named_server_limit_per_user", "namedServerLimitPerUser"),
    ("authenticate_prometheus", "authenticatePrometheus"),
    ("redirect_to_server", "redirectToServer"),
    ("shutdown_on_logout", "shutdownOnLogout"),
    ("template_paths", "templatePaths"),
    ("template_vars", "templateVars"),
)

# (KubeSpawner trait, key under singleuser.) as the chart's jupyterhub_config.py maps them.
SINGLEUSER_TRAITS = (
    ("pod_name_template", "podNameTemplate"),
    ("start_timeout", "startTimeout"),
    ("image_pull_policy", "image.pullPolicy"),
    ("events_enabled", "events"),
    ("extra_labels", "extraLabels"),
    ("extra_annotations", "extraAnnotations"),
    ("uid", "uid"),
    ("fs_gid", "fsGid"),
    ("service_account", "serviceAccountName"),
    ("storage_extra_labels", "storage.extraLabels"),
    ("node_selector", "nodeSelector"),
    ("node_affinity_required", "extraNodeAffinity.required"),
    ("node_affinity_preferred", "extraNodeAffinity.preferred"),
    ("pod_affinity_required", "extraPodAffinity.required"),
    ("pod_affinity_preferred", "extraPodAffinity.preferred"),
    ("pod_anti_affinity_required", "extraPodAntiAffinity.required"),
    ("pod_anti_affinity_preferred", "extraPodAntiAffinity.preferred"),
    ("lifecycle_hooks", "lifecycleHooks"),
    ("init_containers", "initContainers"),
    ("extra_containers", "extraContainers"),
    ("mem_limit", "memory.limit"),
    ("mem_guarantee", "memory.guarantee"),
    ("cpu_limit", "cpu.limit"),
    ("cpu_guarantee", "cpu.guarantee"),
    ("extra_resource_limits", "extraResource.limits"),
    ("extra_resource_guarantees", "extraResource.guarantees"),
    ("environment", "extraEnv"),
    ("profile_list", "profileList"),
    ("extra_pod_config", "extraPodConfig"),
)


def _unsupported(values: dict) -> None:
    """Keys whose effect on the hub this model does not follow: fail rather than guess."""
    for key in ("hub.db.password", "singleuser.extraFiles", "hub.services"):
        if get(values, key):
            raise NotImplementedError(f"{key}: the model of the chart's hub does not follow it")
    if get(values, "imagePullSecret.create") and get(values, "imagePullSecret.automaticReferenceInjection"):
        raise NotImplementedError("imagePullSecret.create: the model of the chart's hub does not follow it")


def chart_config(values: dict, *, chart_secrets: dict | None = None, namespace: str = NAMESPACE) -> Config:
    """What the chart's jupyterhub_config.py configures before it runs ``hub.extraConfig``.

    In the chart's order: the proxy, the hub's own settings (database, limits,
    URLs), the pods' labels, singleuser, scheduling, storage, culler, secrets,
    then ``hub.config``. ``chart_secrets``: the chart's hub Secret
    (:data:`CHART_SECRETS` by default).
    """
    _unsupported(values)
    secrets = CHART_SECRETS if chart_secrets is None else chart_secrets
    names = resource_names(values)
    version = chart_pin()["version"]
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    # The proxy runs in its own pod: the hub reaches its API through the proxy-api Service.
    c.ConfigurableHTTPProxy.api_url = f"http://{names['proxy-api']}:{PROXY_API_PORT}"
    c.ConfigurableHTTPProxy.should_start = False
    # A restarted hub leaves running servers alone.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.last_activity_interval = 60
    c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

    db_type = get(values, "hub.db.type")
    if db_type == "sqlite-pvc":
        c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
    elif db_type == "sqlite-memory":
        c.JupyterHub.db_url = "sqlite://"
    else:
        _set_if_not_none(c.JupyterHub, "db_url", values, "hub.db.url")

    for trait, key in HUB_TRAITS:
        _set_if_not_none(c.JupyterHub, trait, values, f"hub.{key}")
    c.JupyterHub.hub_bind_url = f"http://:{HUB_PORT}"
    # How the proxy and the notebook servers reach the hub: its Service.
    c.JupyterHub.hub_connect_url = f"http://{names['hub']}:{HUB_PORT}"

    # Labels on every user pod; the chart's NetworkPolicies select pods by them.
    name = values.get("nameOverride")
    name = "jupyterhub" if name is None else name
    chart_label = f"jupyterhub-{version.replace('+', '_')}"
    c.KubeSpawner.common_labels = {
        "app.kubernetes.io/name": name,
        "app": name,
        "app.kubernetes.io/instance": RELEASE,
        "release": RELEASE,
        "helm.sh/chart": chart_label,
        "chart": chart_label,
        "app.kubernetes.io/managed-by": "kubespawner",
    }
    c.KubeSpawner.namespace = namespace
    # After this many failed spawns in a row the hub exits (and Kubernetes restarts it).
    _set_if_not_none(c.Spawner, "consecutive_failure_limit", values, "hub.consecutiveFailureLimit")

    su = values.get("singleuser", {})
    for trait, key in SINGLEUSER_TRAITS:
        _set_if_not_none(c.KubeSpawner, trait, su, key)
    image = get(su, "image.name")
    if image:
        tag = get(su, "image.tag")
        c.KubeSpawner.image = f"{image}:{tag}" if tag else image
    c.KubeSpawner.allow_privilege_escalation = get(su, "allowPrivilegeEscalation")
    pull_secrets = list(get(values, "imagePullSecrets") or []) + list(get(su, "image.pullSecrets") or [])
    if pull_secrets:
        c.KubeSpawner.image_pull_secrets = copy.deepcopy(pull_secrets)

    if get(values, "scheduling.userScheduler.enabled"):
        c.KubeSpawner.scheduler_name = names["user-scheduler"]
    if get(values, "scheduling.podPriority.enabled"):
        c.KubeSpawner.priority_class_name = names["priority"]
    purpose = get(values, "scheduling.userPods.nodeAffinity.matchNodePurpose")
    selector = {"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}
    if purpose == "prefer":
        preferred = list(c.KubeSpawner.get("node_affinity_preferred", []))
        c.KubeSpawner.node_affinity_preferred = preferred + [{"weight": 100, "preference": selector}]
    elif purpose == "require":
        c.KubeSpawner.node_affinity_required = list(c.KubeSpawner.get("node_affinity_required", [])) + [selector]
    elif purpose and purpose != "ignore":
        raise ValueError(f"Unrecognized value for matchNodePurpose: {purpose}")
    tolerations = get(values, "scheduling.userPods.tolerations", []) + get(su, "extraTolerations", [])
    if tolerations:
        c.KubeSpawner.tolerations = copy.deepcopy(tolerations)

    # Volumes and mounts as dicts, as the chart builds them: KubeSpawner orders them by key.
    volumes, mounts = {}, {}
    if get(su, "storage.type") == "dynamic":
        pvc_name_template = get(su, "storage.dynamic.pvcNameTemplate")
        if pvc_name_template:
            c.KubeSpawner.pvc_name_template = pvc_name_template
        volume_name = get(su, "storage.dynamic.volumeNameTemplate")
        c.KubeSpawner.storage_pvc_ensure = True
        _set_if_not_none(c.KubeSpawner, "storage_class", su, "storage.dynamic.storageClass")
        _set_if_not_none(c.KubeSpawner, "storage_access_modes", su, "storage.dynamic.storageAccessModes")
        _set_if_not_none(c.KubeSpawner, "storage_capacity", su, "storage.capacity")
        # {pvc_name} is the claim KubeSpawner resolved, whatever the template.
        volumes[volume_name] = {"name": volume_name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}
        mounts[volume_name] = {
            "mountPath": get(su, "storage.homeMountPath"),
            "name": volume_name,
            "subPath": get(su, "storage.dynamic.subPath"),
        }
    elif get(su, "storage.type") == "static":
        volumes["home"] = {"name": "home", "persistentVolumeClaim": {"claimName": get(su, "storage.static.pvcName")}}
        mounts["home"] = {
            "mountPath": get(su, "storage.homeMountPath"),
            "name": "home",
            "subPath": get(su, "storage.static.subPath"),
        }
    extra_volumes = copy.deepcopy(get(su, "storage.extraVolumes") or {})
    if isinstance(extra_volumes, dict):
        volumes.update(extra_volumes)
    else:
        volumes.update({volume["name"]: volume for volume in extra_volumes})
    extra_mounts = copy.deepcopy(get(su, "storage.extraVolumeMounts") or {})
    if isinstance(extra_mounts, dict):
        mounts.update(extra_mounts)
    else:
        mounts.update({f"{i}-{mount['name']}": mount for i, mount in enumerate(extra_mounts)})
    c.KubeSpawner.volumes = volumes
    c.KubeSpawner.volume_mounts = mounts

    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    if get(values, "cull.enabled", False):
        role = {
            "name": "jupyterhub-idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler"],
        }
        base_url = c.JupyterHub.get("base_url", "/")
        command = [
            "python3",
            "-m",
            "jupyterhub_idle_culler",
            f"--url=http://localhost:{HUB_PORT}" + url_path_join(base_url, "hub/api"),
        ]
        for flag, key in (("timeout", "timeout"), ("cull-every", "every"), ("concurrency", "concurrency")):
            if get(values, f"cull.{key}"):
                command.append(f"--{flag}={get(values, f'cull.{key}')}")
        if get(values, "cull.users"):
            command.append("--cull-users")
            role["scopes"].append("admin:users")
        if not get(values, "cull.adminUsers"):
            command.append("--cull-admin-users=false")
        if get(values, "cull.removeNamedServers"):
            command.append("--remove-named-servers")
        if get(values, "cull.maxAge"):
            command.append(f"--max-age={get(values, 'cull.maxAge')}")
        c.JupyterHub.services.append({"name": "jupyterhub-idle-culler", "command": command})
        c.JupyterHub.load_roles.append(role)
    for key, role in copy.deepcopy(get(values, "hub.loadRoles", {})).items():
        role.setdefault("name", key)
        c.JupyterHub.load_roles.append(role)

    # singleuser.cmd: null (removed by helm) keeps the image's own CMD.
    cmd = get(su, "cmd", _UNSET)
    if cmd is not _UNSET:
        c.Spawner.cmd = cmd
    _set_if_not_none(c.Spawner, "default_url", su, "defaultUrl")

    if get(su, "cloudMetadata.blockWithIptables") is True:
        # The chart's way of blocking the metadata server: a privileged init container.
        from kubernetes_asyncio import client

        tools = get(su, "networkTools.image")
        port80 = ["--protocol", "tcp", "--destination", get(su, "cloudMetadata.ip"), "--destination-port", "80"]
        container = client.V1Container(
            name="block-cloud-metadata",
            image=f"{tools['name']}:{tools['tag']}",
            command=["iptables", "--append", "OUTPUT", *port80, "--jump", "DROP"],
            security_context=client.V1SecurityContext(
                privileged=True, run_as_user=0, capabilities=client.V1Capabilities(add=["NET_ADMIN"])
            ),
            resources=get(su, "networkTools.resources"),
        )
        c.KubeSpawner.init_containers = list(c.KubeSpawner.get("init_containers", [])) + [container]

    if get(values, "debug.enabled", False):
        c.JupyterHub.log_level = "DEBUG"
        c.Spawner.debug = True

    c.JupyterHub.cookie_secret = secrets["hub.config.JupyterHub.cookie_secret"]
    c.CryptKeeper.keys = secrets["hub.config.CryptKeeper.keys"].split(";")

    # hub.config passes through, less the secrets the chart keeps in its Secret.
    dropped = {
        "JupyterHub": ("proxy_auth_token", "cookie_secret", "services"),
        "ConfigurableHTTPProxy": ("auth_token",),
    }
    dropped["CryptKeeper"] = ("keys",)
    for section, settings in copy.deepcopy(get(values, "hub.config", {})).items():
        if not section[:1].isupper():
            raise SystemExit(f"FATAL: Invalid hub.config section name: {section}.")
        for key in dropped.get(section, ()):
            settings.pop(key, None)
        c[section].update(settings)
    return c


def hub_config(
    values: dict, *, load_subconfig=None, chart_secrets: dict | None = None, namespace: str = NAMESPACE
) -> Config:
    """The hub's configuration from chart values: :func:`chart_config`, then ``hub.extraConfig``.

    ``load_subconfig`` is what ``hub.extraConfig`` snippets call; the default
    loads :data:`IMAGE_HUB_CONFIG` from this repository's hub/jupyterhub_config.py,
    as the hub image installs it, and ignores other missing files as traitlets does.
    (The chart would also run /usr/local/etc/jupyterhub/jupyterhub_config.d/*.py:
    the hub image has none.)
    """
    c = chart_config(values, chart_secrets=chart_secrets, namespace=namespace)
    loader = load_subconfig or (lambda path: _load_subconfig(c, path))
    for _name, snippet in sorted(get(values, "hub.extraConfig", {}).items()):
        exec(
            snippet,
            {
                "c": c,
                "load_subconfig": loader,
                "get_config": lambda key, default=None: get(values, key, default),
            },
        )
    return c


def hub_limits(values: dict | None = None) -> dict[str, int]:
    """The hub-level limits the chart gives ``values`` (merged, as :func:`chart_values` returns them).

    ``{"consecutive_failure_limit": ..., "concurrent_spawn_limit": ...}``: what the
    chart's hub runs with (JupyterHub's own defaults where the chart sets nothing).
    Without ``values``, the base deployment's. hub.extraConfig sets neither (a
    test in test_chart_values.py holds the full configuration to these).
    """
    from jupyterhub.app import JupyterHub
    from jupyterhub.spawner import Spawner

    c = chart_config(chart_values("base") if values is None else values)
    failures = c.Spawner.get("consecutive_failure_limit", Spawner.class_traits()["consecutive_failure_limit"].default())
    spawns = c.JupyterHub.get("concurrent_spawn_limit", JupyterHub.class_traits()["concurrent_spawn_limit"].default())
    return {"consecutive_failure_limit": failures, "concurrent_spawn_limit": spawns}


def _load_subconfig(c: Config, path: str) -> None:
    """traitlets' load_subconfig, with the hub image's config path mapped to this repository."""
    real = ROOT / "hub" / "jupyterhub_config.py" if path == IMAGE_HUB_CONFIG else Path(path)
    if not real.exists():
        return  # traitlets ignores a missing file the same way
    loader = PyFileConfigLoader(real.name, path=str(real.parent))
    c.merge(loader.load_config())


def hub_env(
    values: dict, secrets: dict[str, str], *, chart_secrets: dict | None = None, namespace: str = NAMESPACE
) -> dict[str, str]:
    """The hub container's environment, as the chart's hub Deployment and Kubernetes set it.

    The chart's own variables, the ``<SERVICE>_SERVICE_PORT`` of the hub's and
    the proxy API's Services, then hub.extraEnv, whose secretKeyRef values come
    from ``secrets`` (``name/key``).
    """
    chart_secrets = CHART_SECRETS if chart_secrets is None else chart_secrets
    names = resource_names(values)
    env = {
        "PYTHONUNBUFFERED": "1",
        "HELM_RELEASE_NAME": RELEASE,
        "POD_NAMESPACE": namespace,
        "CONFIGPROXY_AUTH_TOKEN": chart_secrets["hub.config.ConfigurableHTTPProxy.auth_token"],
        service_env(names["hub"], "_SERVICE_PORT"): str(HUB_PORT),
        service_env(names["proxy-api"], "_SERVICE_PORT"): str(PROXY_API_PORT),
    }
    env.update(extra_env(get(values, "hub.extraEnv", {}), secrets))
    return env


# -- pods -----------------------------------------------------------------------------


class HubUser:
    """The hub's user object, as much of it as the spawner and the hooks read."""

    def __init__(self, name: str):
        self.name = name
        self.id = 1
        self.url = f"/user/{name}/"


# The App's service, whose token launches workspace servers (the REST API's requester).
APP_SERVICE = SimpleNamespace(kind="service", name="openhexa-app")


def app_handler(session, requester) -> SimpleNamespace:
    """The request that triggers a spawn: the App's cookies, as the hub receives them, from ``requester``."""
    cookies = SimpleCookie()
    for name in ("sessionid", "csrftoken"):
        cookies[name] = session.cookies[name]
    request = SimpleNamespace(cookies=cookies, protocol="http", host="localhost:8001")
    return SimpleNamespace(request=request, current_user=requester)


def render_pod(config: Config, session, user_name: str, server: str, profile: str):
    """The pod the hub would create, as a real spawn gets there: pre_spawn_start, then the profile.

    ``session``: the person's App session (its cookies go with the spawn request).
    Returns the spawner, the pod, the claim for a server that gets one (or None)
    and the options form, the manifests as the Kubernetes API would receive them.
    """
    from openhexa_hub.authenticator import OpenHexaAuthenticator

    async def spawn():
        user = HubUser(user_name)
        spawner = KubeSpawner(
            _mock=True, config=config, user=user, orm_spawner=SimpleNamespace(name=server, server=None)
        )
        # A workspace server at the App's request; the default server at the person's.
        spawner.handler = app_handler(session, APP_SERVICE if server else user)
        spawner.user_options = {"profile": profile}
        await OpenHexaAuthenticator(config=config).pre_spawn_start(user, spawner)  # JupyterHub's User.spawn
        await spawner.load_user_options()  # KubeSpawner.start
        serialize = spawner.api.api_client.sanitize_for_serialization
        pod = serialize(await spawner.get_pod_manifest())
        pvc = serialize(spawner.get_pvc_manifest()) if spawner.storage_pvc_ensure else None
        return spawner, pod, pvc, await spawner.get_options_form()

    return asyncio.run(spawn())


# -- the singleuser NetworkPolicy ------------------------------------------------

# The chart writes its "private IPs" as the three RFC 1918 blocks. The model asks ipaddress
# instead (is_private, a superset: loopback, link-local, documentation ranges too), so a test
# that expects a refusal must use an address the chart itself refuses.
PRIVATE_IPS = {"ipBlock": {"private": True}}
METADATA = "169.254.169.254/32"
NON_PRIVATE_IPS = {"ipBlock": {"private": False, "except": [METADATA]}}
DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def _allow_rules(flags: dict) -> list[dict]:
    """The egress rules the chart adds for singleuser.networkPolicy.egressAllowRules."""
    rules = []
    if flags.get("dnsPortsCloudMetadataServer"):
        rules.append({"to": [{"ipBlock": {"cidr": METADATA}}], "ports": DNS_PORTS})
    if flags.get("dnsPortsKubeSystemNamespace"):
        kube_system = {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
        rules.append({"to": [{"namespaceSelector": kube_system}], "ports": DNS_PORTS})
    if flags.get("dnsPortsPrivateIPs"):
        rules.append({"to": [PRIVATE_IPS], "ports": DNS_PORTS})
    if flags.get("nonPrivateIPs"):
        rules.append({"to": [NON_PRIVATE_IPS]})
    if flags.get("privateIPs"):
        rules.append({"to": [PRIVATE_IPS]})
    if flags.get("cloudMetadataServer"):
        rules.append({"to": [{"ipBlock": {"cidr": METADATA}}]})
    return rules


def _labels_match(selector: dict, labels: dict) -> bool:
    if set(selector) - {"matchLabels"}:
        raise NotImplementedError(f"only matchLabels selectors are understood here: {selector}")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(peer: dict, dest: dict, own_namespace: str) -> bool:
    if "ipBlock" in peer:
        if "ip" not in dest:
            return False
        ip = ipaddress.ip_address(dest["ip"])
        block = peer["ipBlock"]
        inside = ip.is_private == block["private"] if "private" in block else ip in ipaddress.ip_network(block["cidr"])
        return inside and not any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if "pod_labels" not in dest:
        return False
    if "namespaceSelector" in peer:
        if not _labels_match(peer["namespaceSelector"], {"kubernetes.io/metadata.name": dest["namespace"]}):
            return False
    elif dest["namespace"] != own_namespace:
        return False
    return _labels_match(peer.get("podSelector", {}), dest["pod_labels"])


def _port_matches(ports: list | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if not isinstance(entry.get("port"), int):
            raise NotImplementedError(f"only numbered ports are understood here: {entry}")
        if entry["port"] == port and entry.get("protocol", "TCP") == protocol:
            return True
    return False


def egress_allowed(values: dict, *, port: int, protocol: str = "TCP", own_namespace: str = "openhexa", **dest):
    """Whether the singleuser NetworkPolicy lets a notebook connect to ``dest``.

    ``dest`` is ``ip="1.2.3.4"`` or ``namespace="ns", pod_labels={...}``. Core
    rules (to the hub, DNS) that the chart always adds are left out: this asks
    about everything else.
    """
    policy = get(values, "singleuser.networkPolicy", {})
    if not policy.get("enabled"):
        return True
    rules = _allow_rules(policy.get("egressAllowRules", {})) + list(policy.get("egress") or [])
    for rule in rules:
        peers = rule.get("to") or [
            {"ipBlock": {"cidr": "0.0.0.0/0"}},
            {"podSelector": {}, "namespaceSelector": {}},
        ]
        if _port_matches(rule.get("ports"), port, protocol) and any(
            _peer_matches(peer, dest, own_namespace) for peer in peers
        ):
            return True
    return False


# -- keys and schemas -------------------------------------------------------------

ANY = ...  # in a key allow-list: a value passed on as is (Kubernetes objects, env, code)


def unknown_keys(value, known, path: str = "") -> list[str]:
    """Dotted paths of keys in ``value`` that the nested allow-list ``known`` does not list.

    ``known`` is a dict of key to its own allow-list, :data:`ANY` for a value
    not checked further, or a one-item list whose item checks every list element.
    """
    if known is ANY:
        return []
    if isinstance(known, list):
        if not isinstance(value, list):
            return [f"{path} (expected a list)"]
        return [p for i, item in enumerate(value) for p in unknown_keys(item, known[0], f"{path}[{i}]")]
    if not isinstance(value, dict):
        return [f"{path} (expected a mapping)"] if isinstance(known, dict) and known else []
    found = []
    for key, item in value.items():
        dotted = f"{path}.{key}" if path else str(key)
        if key not in known:
            found.append(dotted)
        else:
            found.extend(unknown_keys(item, known[key], dotted))
    return found


def schema_errors(values: dict, schema_path: Path) -> list[str]:
    """Errors of the chart's values JSON schema for ``values``, as ``path: message``.

    Helm validates the chart's defaults merged with the user's values; when the
    schema sits in an unpacked chart, its values.yaml is merged first. Without
    it, the schema's ``required`` lists are not checked (the defaults fill them).
    """
    from jsonschema import Draft7Validator, validators

    schema = yaml.safe_load(schema_path.read_text())
    defaults_path = schema_path.parent / "values.yaml"
    if defaults_path.exists():
        values = helm_merge(yaml.safe_load(defaults_path.read_text()) or {}, values)
        validator_class = Draft7Validator
    else:
        validator_class = validators.extend(Draft7Validator, {"required": lambda *args: iter(())})
    errors = validator_class(schema).iter_errors(json.loads(json.dumps(values)))
    return sorted(f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}" for error in errors)
