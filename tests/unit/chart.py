"""The Zero to JupyterHub chart as its hub applies our values, for tests/unit/test_chart_values.py.

The chart's hub turns Helm values into JupyterHub configuration in its
``files/hub/jupyterhub_config.py``. :func:`hub_config` mirrors that file for the
keys this project uses, in the same order (singleuser, scheduling, storage,
culler, ``hub.config``, then ``hub.extraConfig``), so a real KubeSpawner built
from it renders the pod the cluster would get. :func:`egress_allowed` reads the
singleuser NetworkPolicy the chart renders from ``singleuser.networkPolicy``.
"""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import json
from pathlib import Path

import yaml
from traitlets.config import Config, PyFileConfigLoader

from tests.support import ROOT

CHART_VALUES = ROOT / "chart-values"
VALUES_FILES = ("values.yaml", "k3s.yaml", "example-production.yaml")
# helm --values order for each deployment: the base, then its overlay.
DEPLOYMENTS = {
    "base": ("values.yaml",),
    "k3s": ("values.yaml", "k3s.yaml"),
    "production": ("values.yaml", "example-production.yaml"),
}
RELEASE = "openhexa-notebooks"  # the Helm release name of the docs and CI
# Where the hub image installs hub/jupyterhub_config.py (hub.extraConfig loads it).
IMAGE_HUB_CONFIG = "/usr/local/etc/jupyterhub/openhexa/jupyterhub_config.py"


def chart_pin() -> dict:
    """chart-values/chart.yaml: the chart (repository, name, version) the values target."""
    return yaml.safe_load((CHART_VALUES / "chart.yaml").read_text())


def _chart_defaults(version: str) -> dict:
    """The chart's own defaults (its values.yaml) for the keys the mapping below reads."""
    dedicated_user = [
        {"key": key, "operator": "Equal", "value": "user", "effect": "NoSchedule"}
        for key in ("hub.jupyter.org/dedicated", "hub.jupyter.org_dedicated")
    ]
    return {
        "hub": {
            "config": {"JupyterHub": {"admin_access": True, "authenticator_class": "dummy"}},
            "allowNamedServers": False,
            "extraEnv": {},
            "extraConfig": {},
        },
        "singleuser": {
            "podNameTemplate": None,
            "extraLabels": {"hub.jupyter.org/network-access-hub": "true"},
            "extraAnnotations": {},
            "extraEnv": {},
            "extraTolerations": [],
            "nodeSelector": {},
            "networkTools": {"image": {"name": "quay.io/jupyterhub/k8s-network-tools", "tag": version}},
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
            "uid": 1000,
            "fsGid": 100,
            "allowPrivilegeEscalation": False,
            "storage": {
                "type": "dynamic",
                "extraLabels": {},
                "extraVolumes": [],
                "extraVolumeMounts": [],
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
            "image": {"name": "quay.io/jupyterhub/k8s-singleuser-sample", "tag": version},
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
    }


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
    return yaml.safe_load((CHART_VALUES / name).read_text()) or {}


def user_values(deployment: str) -> dict:
    """Our values for a deployment, merged as helm merges its --values files."""
    merged: dict = {}
    for name in DEPLOYMENTS[deployment]:
        merged = helm_merge(merged, load_values(name))
    return merged


def chart_values(deployment: str) -> dict:
    """What the chart's hub sees: its defaults with our files merged on top."""
    return helm_merge(_chart_defaults(chart_pin()["version"]), user_values(deployment))


_UNSET = object()


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


def hub_config(values: dict, *, load_subconfig=None) -> Config:
    """The hub's configuration from chart values (the chart's jupyterhub_config.py, in order).

    ``load_subconfig`` is what ``hub.extraConfig`` snippets call; the default
    loads :data:`IMAGE_HUB_CONFIG` from this repository's hub/jupyterhub_config.py,
    as the hub image installs it, and ignores other missing files as traitlets does.
    """
    c = Config()
    version = chart_pin()["version"]
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    _set_if_not_none(c.JupyterHub, "allow_named_servers", values, "hub.allowNamedServers")
    # Labels on every user pod; the chart's NetworkPolicies select pods by them.
    c.KubeSpawner.common_labels = {
        "app": "jupyterhub",
        "heritage": "jupyterhub",
        "chart": f"jupyterhub-{version}",
        "release": RELEASE,
    }
    su = values.get("singleuser", {})
    for trait, key in SINGLEUSER_TRAITS:
        _set_if_not_none(c.KubeSpawner, trait, su, key)
    image = get(su, "image.name")
    if image:
        tag = get(su, "image.tag")
        c.KubeSpawner.image = f"{image}:{tag}" if tag else image
    c.KubeSpawner.allow_privilege_escalation = get(su, "allowPrivilegeEscalation")

    if get(values, "scheduling.userScheduler.enabled"):
        c.KubeSpawner.scheduler_name = "user-scheduler"
    if get(values, "scheduling.podPriority.enabled"):
        c.KubeSpawner.priority_class_name = f"{RELEASE}-default-priority"
    purpose = get(values, "scheduling.userPods.nodeAffinity.matchNodePurpose")
    selector = {"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}
    if purpose == "prefer":
        c.KubeSpawner.node_affinity_preferred = [{"weight": 100, "preference": selector}]
    elif purpose == "require":
        c.KubeSpawner.node_affinity_required = [selector]
    elif purpose not in (None, "ignore"):
        raise ValueError(f"Unrecognized value for matchNodePurpose: {purpose}")
    tolerations = get(values, "scheduling.userPods.tolerations", []) + get(su, "extraTolerations", [])
    if tolerations:
        c.KubeSpawner.tolerations = tolerations

    volumes, mounts = [], []
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
        volumes.append({"name": volume_name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}})
        mount = {"mountPath": get(su, "storage.homeMountPath"), "name": volume_name}
        if get(su, "storage.dynamic.subPath"):
            mount["subPath"] = get(su, "storage.dynamic.subPath")
        mounts.append(mount)
    elif get(su, "storage.type") == "static":
        volumes.append({"name": "home", "persistentVolumeClaim": {"claimName": get(su, "storage.static.pvcName")}})
        mounts.append(
            {
                "mountPath": get(su, "storage.homeMountPath"),
                "name": "home",
                "subPath": get(su, "storage.static.subPath"),
            }
        )
    c.KubeSpawner.volumes = volumes + copy.deepcopy(get(su, "storage.extraVolumes", []))
    c.KubeSpawner.volume_mounts = mounts + copy.deepcopy(get(su, "storage.extraVolumeMounts", []))

    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    if get(values, "cull.enabled"):
        role = {
            "name": "jupyterhub-idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler"],
        }
        command = ["python3", "-m", "jupyterhub_idle_culler", "--url=http://localhost:8081/hub/api"]
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

    # singleuser.cmd: null (removed by helm) keeps the image's own CMD.
    cmd = get(su, "cmd", _UNSET)
    if cmd is not _UNSET:
        c.Spawner.cmd = cmd
    _set_if_not_none(c.Spawner, "default_url", su, "defaultUrl")

    if get(su, "cloudMetadata.blockWithIptables") is True:
        # The chart's way of blocking the metadata server: a privileged init container.
        tools = get(su, "networkTools.image")
        c.KubeSpawner.init_containers = list(c.KubeSpawner.get("init_containers", [])) + [
            {
                "name": "block-cloud-metadata",
                "image": f"{tools['name']}:{tools['tag']}",
                "command": ["iptables", "-A", "OUTPUT", "-d", get(su, "cloudMetadata.ip"), "-j", "DROP"],
                "securityContext": {
                    "privileged": True,
                    "runAsUser": 0,
                    "capabilities": {"add": ["NET_ADMIN"]},
                },
            }
        ]

    for app, section in get(values, "hub.config", {}).items():
        c[app].update(copy.deepcopy(section))

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


def _load_subconfig(c: Config, path: str) -> None:
    """traitlets' load_subconfig, with the hub image's config path mapped to this repository."""
    real = ROOT / "hub" / "jupyterhub_config.py" if path == IMAGE_HUB_CONFIG else Path(path)
    if not real.exists():
        return  # traitlets ignores a missing file the same way
    loader = PyFileConfigLoader(real.name, path=str(real.parent))
    c.merge(loader.load_config())


def hub_env(values: dict, secrets: dict[str, str]) -> dict[str, str]:
    """The hub container's environment from hub.extraEnv; secretKeyRef values come from ``secrets``."""
    env = {}
    for name, value in get(values, "hub.extraEnv", {}).items():
        if isinstance(value, dict):
            ref = value["valueFrom"]["secretKeyRef"]
            env[name] = secrets[f"{ref['name']}/{ref['key']}"]
        else:
            env[name] = str(value)
    return env


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


def load_smoke():
    """chart-values/smoke.py as a module (its folder is not a package)."""
    spec = importlib.util.spec_from_file_location("chart_smoke", CHART_VALUES / "smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
