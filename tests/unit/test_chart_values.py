"""chart-values/: the Zero to JupyterHub values, checked key by key and rendered into real pods.

- Files: every YAML parses and passes yamllint; values use only chart keys this
  project knows (KNOWN_KEYS below) and, when Z2JH_VALUES_SCHEMA names the
  chart's values.schema.json, the chart's own schema; the chart version is the
  same everywhere.
- Pods: a real KubeSpawner configured from the values as the chart's hub does
  (tests/unit/chart.py), the real OpenHexaAuthenticator.pre_spawn_start with the
  mock App's answers, then the profile, as KubeSpawner.start applies it: the pod
  of a default and of a workspace server for every profile and deployment.
- Network policy, secrets, profiles, the k3s CI wiring, and chart-values/smoke.py
  against the unit tier's real hub.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from jupyterhub.app import JupyterHub
from jupyterhub.traitlets import ByteSpecification
from kubespawner import KubeSpawner

from harness import ROOT
from harness.app import DEMO, FIXTURE_FILE, FIXTURES
from harness.hub import app_settings
from mockapp.state import State
from openhexa_hub.authenticator import REQUIRED, OpenHexaAuthenticator
from tests.unit import chart

WORKSPACE = "malaria-dashboards"
ALICE_EMAIL, _ = DEMO["alice"]
WORKFLOW = ROOT / ".github" / "workflows" / "chart.yml"
MOCK_APP_MANIFEST = chart.CHART_VALUES / "k3s-mock-app.yaml"
# Stand-ins for the Secrets the values reference (name/key).
SECRETS = {
    "openhexa-notebooks/hub-api-token": "token-from-the-secret",
    "openhexa-notebooks/hub-db-password": "password-from-the-secret",
}
ANY = chart.ANY

# Every key this project sets, as the targeted chart version (chart.yaml) knows
# it. A key missing here is a typo or a key the chart does not have: add it
# only after finding it in the chart's values.schema.yaml for that version.
# ANY: passed on as is (Kubernetes objects, environment, Python, traitlets).
KNOWN_KEYS = {
    "hub": {
        "image": {"name": ANY, "tag": ANY, "pullPolicy": ANY},
        "config": {
            "JupyterHub": {"authenticator_class": ANY, "subdomain_host": ANY, "cookie_host_prefix_enabled": ANY},
            "KubeSpawner": {"options_form": ANY, "container_security_context": ANY},
        },
        "allowNamedServers": ANY,
        "consecutiveFailureLimit": ANY,
        "concurrentSpawnLimit": ANY,
        "extraEnv": ANY,
        "extraConfig": ANY,
        "db": {"type": ANY, "url": ANY},
        "resources": ANY,
    },
    "proxy": {
        "service": {"type": ANY, "nodePorts": {"http": ANY, "https": ANY}},
        "chp": {"image": {"name": ANY, "tag": ANY, "pullPolicy": ANY}},
    },
    "ingress": {"enabled": ANY, "ingressClassName": ANY, "annotations": ANY, "hosts": ANY, "tls": ANY},
    "singleuser": {
        "image": {"name": ANY, "tag": ANY, "pullPolicy": ANY},
        "cmd": ANY,
        "defaultUrl": ANY,
        "uid": ANY,
        "fsGid": ANY,
        "allowPrivilegeEscalation": ANY,
        "startTimeout": ANY,
        "cpu": {"guarantee": ANY, "limit": ANY},
        "memory": {"guarantee": ANY, "limit": ANY},
        "profileList": [
            {
                "display_name": ANY,
                "slug": ANY,
                "description": ANY,
                "default": ANY,
                "kubespawner_override": {
                    "cpu_guarantee": ANY,
                    "cpu_limit": ANY,
                    "mem_guarantee": ANY,
                    "mem_limit": ANY,
                },
            }
        ],
        "extraEnv": ANY,
        "storage": {
            "type": ANY,
            "capacity": ANY,
            "homeMountPath": ANY,
            "dynamic": {
                "pvcNameTemplate": ANY,
                "volumeNameTemplate": ANY,
                "storageAccessModes": ANY,
                "storageClass": ANY,
            },
            "extraVolumes": ANY,
            "extraVolumeMounts": ANY,
        },
        "cloudMetadata": {"blockWithIptables": ANY},
        "networkPolicy": {
            "enabled": ANY,
            "egressAllowRules": {"cloudMetadataServer": ANY, "nonPrivateIPs": ANY, "privateIPs": ANY},
            "egress": ANY,
        },
    },
    "scheduling": {
        "userScheduler": {"enabled": ANY},
        "podPriority": {"enabled": ANY},
        "userPlaceholder": {"enabled": ANY, "replicas": ANY},
        "userPods": {"nodeAffinity": {"matchNodePurpose": ANY}},
        "corePods": {"nodeAffinity": {"matchNodePurpose": ANY}},
    },
    "prePuller": {"hook": {"enabled": ANY}, "continuous": {"enabled": ANY}},
    "cull": {"enabled": ANY, "timeout": ANY, "every": ANY, "removeNamedServers": ANY, "users": ANY},
}

# What a profile may change: the size of a server. Profiles are applied when
# the server starts, after the spawn hooks, so anything else (image, volumes,
# environment) would undo what the hooks set for a workspace.
SIZING_TRAITS = {
    "cpu_guarantee",
    "cpu_limit",
    "mem_guarantee",
    "mem_limit",
    "extra_resource_guarantees",
    "extra_resource_limits",
}
SIZES = ("cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit")

YAML_FILES = sorted(p.relative_to(ROOT) for p in chart.CHART_VALUES.glob("*.yaml")) + [WORKFLOW.relative_to(ROOT)]


def profiles(values: dict) -> list[dict]:
    return chart.get(values, "singleuser.profileList", [])


def as_bytes(size) -> int:
    return ByteSpecification().validate(None, size)


# -- the files --------------------------------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=str)
def test_yaml_parses_and_passes_yamllint(path):
    list(yaml.safe_load_all((ROOT / path).read_text()))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "yamllint"), "--strict", "-c", str(ROOT / ".yamllint.yaml"), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", chart.VALUES_FILES)
def test_values_use_only_chart_keys_this_project_knows(name):
    unknown = chart.unknown_keys(chart.load_values(name), KNOWN_KEYS)
    version = chart.chart_pin()["version"]
    assert not unknown, f"{name}: not keys of chart {version} this project knows: {', '.join(unknown)}"


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_values_pass_the_chart_schema(deployment):
    schema = os.environ.get("Z2JH_VALUES_SCHEMA")
    if not schema:
        pytest.skip(
            "Z2JH_VALUES_SCHEMA is unset: point it at the pinned chart's values.schema.json "
            "(helm pull jupyterhub --untar) to check against the chart's own schema"
        )
    errors = chart.schema_errors(chart.user_values(deployment), Path(schema))
    assert not errors, "\n".join(errors)


def test_the_schema_check_reports_unknown_keys_and_wrong_types(tmp_path):
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["hub"],
        "properties": {
            "singleuser": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"memory": {"type": "object", "additionalProperties": False, "properties": {}}},
            },
            "cull": {"type": "object", "properties": {"timeout": {"type": "integer"}}},
        },
    }
    path = tmp_path / "values.schema.json"
    path.write_text(json.dumps(schema))
    errors = chart.schema_errors({"singleuser": {"memory": {"limt": "4G"}}, "cull": {"timeout": "1h"}}, path)
    assert any(e.startswith("singleuser.memory:") and "'limt'" in e for e in errors), errors
    assert any(e.startswith("cull.timeout:") for e in errors), errors
    assert not any("required" in e for e in errors), "without the chart's defaults, required is not checked"
    (tmp_path / "values.yaml").write_text("cull: {timeout: 3600}\n")
    assert any("'hub' is a required property" in e for e in chart.schema_errors({}, path))


def test_the_chart_version_is_pinned_once_and_used_everywhere():
    pin = chart.chart_pin()
    version = pin["version"]
    assert pin["repository"] == "https://hub.jupyter.org/helm-chart/"
    assert pin["name"] == "jupyterhub"
    assert re.fullmatch(r"4\.\d+\.\d+", version), "a released 4.x chart: its hub runs JupyterHub 5"
    assert pin["hubBaseImage"] == f"quay.io/jupyterhub/k8s-hub:{version}"
    dockerfile = (ROOT / "hub" / "Dockerfile").read_text()
    base = re.escape(pin["hubBaseImage"])
    assert re.search(rf"\nARG HUB_BASE_IMAGE={base}(@sha256:[0-9a-f]{{64}})?\n", dockerfile), (
        "hub/Dockerfile builds on another chart's hub"
    )
    proxy = (ROOT / "proxy" / "Dockerfile").read_text()
    proxy_base = re.escape(pin["proxyBaseImage"])
    assert re.search(rf"\nARG PROXY_BASE_IMAGE={proxy_base}(@sha256:[0-9a-f]{{64}})?\n", proxy), (
        "proxy/Dockerfile builds on another proxy"
    )
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/configurable-http-proxy"]
    assert pin["proxyBaseImage"].endswith(f":{locked['version']}"), "the hub tier runs another proxy than the chart"
    assert f"Targets chart jupyterhub {version} " in (chart.CHART_VALUES / "values.yaml").read_text()
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert str(workflow["env"]["CHART_VERSION"]) == version
    deployment = next(d for d in yaml.safe_load_all(MOCK_APP_MANIFEST.read_text()) if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == pin["hubBaseImage"]


def test_images_are_ours_with_the_tag_the_last_release_published():
    values = chart.load_values("values.yaml")
    tag = values["hub"]["image"]["tag"]
    assert values["hub"]["image"] == {"name": "blsq/openhexa-jupyterhub", "tag": tag}
    assert values["singleuser"]["image"]["name"] == "blsq/openhexa-base-notebook"
    assert values["singleuser"]["image"]["tag"] == tag, "the hub and the notebooks come from one release"
    assert values["proxy"]["chp"]["image"] == {"name": "blsq/openhexa-proxy", "tag": tag}, "the chart's own proxy"
    # "dev" until the first release; then `make release` writes the tag it published.
    assert tag == "dev" or (ROOT / "releases" / tag / "manifest.json").exists(), f"no release {tag} in releases/"
    for name in ("k3s.yaml", "example-production.yaml"):
        overlay = chart.load_values(name)
        images = [overlay.get(k, {}).get("image") for k in ("hub", "singleuser")] + [
            chart.get(overlay, "proxy.chp.image")
        ]
        assert not any(images), f"{name}: image tags live in values.yaml only, where the release sets them"


# -- the hub ------------------------------------------------------------------------


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_secrets_come_from_kubernetes_secrets_never_literals(deployment):
    values = chart.chart_values(deployment)
    token = values["hub"]["extraEnv"]["HUB_API_TOKEN"]
    assert token == {"valueFrom": {"secretKeyRef": {"name": "openhexa-notebooks", "key": "hub-api-token"}}}
    for section in ("hub", "singleuser"):
        for name, value in chart.get(values, f"{section}.extraEnv", {}).items():
            if re.search(r"TOKEN|PASSWORD|SECRET|KEY", name):
                assert isinstance(value, dict) and "secretKeyRef" in value.get("valueFrom", {}), (
                    f"{section}.extraEnv.{name} must come from a Secret"
                )
    assert chart.get(values, "hub.db.password") is None, "the hub's database password comes from a Secret"


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_the_hub_env_configures_the_authenticator(deployment, monkeypatch):
    values = chart.chart_values(deployment)
    env = chart.hub_env(values, SECRETS)
    assert env["OPENHEXA_SPAWNER"] == "kubernetes"
    assert "CONTENT_SECURITY_POLICY" not in chart.get(values, "singleuser.extraEnv", {}), (
        "the spawn hooks give every server the hub's CONTENT_SECURITY_POLICY; a second copy would drift"
    )
    endpoints = {
        "AUTHENTICATION_URL": "/notebooks/authenticate/",
        "DEFAULT_CREDENTIALS_URL": "/notebooks/default-credentials/",
        "WORKSPACE_CREDENTIALS_URL": "/workspaces/credentials/",
    }
    for name, path in endpoints.items():
        assert env[name] == env["HEXA_SERVER_URL"] + path, f"{name}: the App contract's {path}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    authenticator = OpenHexaAuthenticator()
    for setting in REQUIRED:
        trait_env = OpenHexaAuthenticator.class_traits()[setting].metadata["env"]
        assert getattr(authenticator, setting) == env[trait_env]
    assert authenticator.app_login_url == env["APP_LOGIN_URL"]
    assert urlsplit(env["APP_LOGIN_URL"]).netloc in env["CONTENT_SECURITY_POLICY"]


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_the_hub_loads_our_config_and_keeps_the_charts_culler(deployment, monkeypatch):
    values = chart.chart_values(deployment)
    for name, value in chart.hub_env(values, SECRETS).items():
        monkeypatch.setenv(name, value)
    c = chart.hub_config(values)
    assert c.JupyterHub.authenticator_class == "openhexa"
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    assert c.JupyterHub.allow_named_servers is True
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert set(services) == {"jupyterhub-idle-culler", "openhexa-app"}
    assert services["openhexa-app"]["api_token"] == SECRETS["openhexa-notebooks/hub-api-token"]
    culler = services["jupyterhub-idle-culler"]["command"]
    assert f"--timeout={values['cull']['timeout']}" in culler
    assert "--remove-named-servers" in culler
    assert "--cull-users" not in culler, "users belong to the App"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert set(roles) == {"jupyterhub-idle-culler", "openhexa-app"}
    assert set(roles["openhexa-app"]["scopes"]) == {"admin:users", "admin:servers"}


# The limits chart-values/values.yaml sets on purpose, each with its reason.
LIMITS = {"consecutiveFailureLimit": 5, "concurrentSpawnLimit": 64}


def test_the_values_set_the_hubs_limits_on_purpose():
    lines = (chart.CHART_VALUES / "values.yaml").read_text().splitlines()
    hub = chart.load_values("values.yaml")["hub"]
    for key, number in LIMITS.items():
        assert hub.get(key) == number, f"values.yaml sets hub.{key}: {number}, the chart's number"
        (index,) = [i for i, line in enumerate(lines) if line.startswith(f"  {key}:")]
        assert lines[index - 1].strip().startswith("#"), f"hub.{key} comes with a comment saying why"


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_the_hub_runs_with_the_charts_limits(deployment, monkeypatch):
    values = chart.chart_values(deployment)
    limits = chart.hub_limits(values)
    assert limits == {"consecutive_failure_limit": 5, "concurrent_spawn_limit": 64}
    # The whole configuration, hub.extraConfig included, keeps them.
    for name, value in chart.hub_env(values, SECRETS).items():
        monkeypatch.setenv(name, value)
    c = chart.hub_config(values)
    assert c.Spawner.consecutive_failure_limit == limits["consecutive_failure_limit"]
    assert c.JupyterHub.concurrent_spawn_limit == limits["concurrent_spawn_limit"]
    assert "consecutive_failure_limit" not in c.KubeSpawner, "a KubeSpawner setting would win over the chart's"


def test_the_limits_come_from_the_values_or_else_the_charts_or_jupyterhubs_defaults():
    assert chart.hub_limits() == chart.hub_limits(chart.chart_values("base"))
    defaults = chart._chart_defaults(chart.chart_pin()["version"])
    ours = chart.user_values("base")
    for key in LIMITS:
        del ours["hub"][key]
    # Without our keys the chart's defaults apply: the same numbers.
    expected = {"consecutive_failure_limit": 5, "concurrent_spawn_limit": 64}
    assert chart.hub_limits(chart.helm_merge(defaults, ours)) == expected
    # A null removes the chart's defaults too: JupyterHub's own.
    removed = chart.helm_merge(defaults, {"hub": dict.fromkeys(LIMITS)})
    assert chart.hub_limits(removed) == {"consecutive_failure_limit": 0, "concurrent_spawn_limit": 100}
    changed = chart.helm_merge(defaults, {"hub": {"consecutiveFailureLimit": 2, "concurrentSpawnLimit": 8}})
    assert chart.hub_limits(changed) == {"consecutive_failure_limit": 2, "concurrent_spawn_limit": 8}


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_the_hub_settings_the_chart_gives(deployment, monkeypatch):
    values = chart.chart_values(deployment)
    env = chart.hub_env(values, SECRETS)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    c = chart.hub_config(values)
    # The hub's Service and the proxy API's, named without a release prefix (fullnameOverride "").
    assert c.JupyterHub.hub_connect_url == "http://hub:8081" and env["HUB_SERVICE_PORT"] == "8081"
    assert c.JupyterHub.hub_bind_url == "http://:8081"
    assert c.ConfigurableHTTPProxy.api_url == "http://proxy-api:8001" and env["PROXY_API_SERVICE_PORT"] == "8001"
    assert c.ConfigurableHTTPProxy.should_start is False, "the proxy is its own pod"
    assert env["CONFIGPROXY_AUTH_TOKEN"] == chart.CHART_SECRETS["hub.config.ConfigurableHTTPProxy.auth_token"]
    assert c.JupyterHub.cleanup_servers is False, "a restarted hub leaves running notebooks alone"
    assert c.KubeSpawner.namespace == env["POD_NAMESPACE"] == chart.NAMESPACE
    assert c.JupyterHub.cookie_secret == chart.CHART_SECRETS["hub.config.JupyterHub.cookie_secret"]
    assert c.JupyterHub.base_url == "/"
    if chart.get(values, "hub.db.type") == "postgres":
        assert c.JupyterHub.db_url == values["hub"]["db"]["url"] and "PGPASSWORD" in env
    else:
        assert c.JupyterHub.db_url == "sqlite:///jupyterhub.sqlite"
    assert c.JupyterHub.named_server_limit_per_user == 50, "hub/jupyterhub_config.py's, the chart sets none"


def test_resource_names_follow_the_release_and_fullname_override():
    names = chart.resource_names({"fullnameOverride": ""})
    assert (names["hub"], names["user-scheduler"], names["priority"]) == (
        "hub",
        f"{chart.RELEASE}-user-scheduler",
        f"{chart.RELEASE}-default-priority",
    )
    names = chart.resource_names({"fullnameOverride": None}, release="nb")
    assert (names["hub"], names["user-scheduler"], names["priority"]) == (
        "nb-jupyterhub-hub",
        "nb-jupyterhub-user-scheduler",
        "nb-jupyterhub",
    )
    assert chart.resource_names({"fullnameOverride": None}, release="my-jupyterhub")["hub"] == "my-jupyterhub-hub"


def test_the_hub_stops_when_the_image_lacks_our_config(monkeypatch):
    values = chart.chart_values("base")
    for name, value in chart.hub_env(values, SECRETS).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match="blsq/openhexa-jupyterhub"):
        chart.hub_config(values, load_subconfig=lambda path: None)


def test_hub_config_names_real_traits():
    config = chart.load_values("values.yaml")["hub"]["config"]
    assert set(config["JupyterHub"]) <= set(JupyterHub.class_trait_names())
    assert set(config["KubeSpawner"]) <= set(KubeSpawner.class_trait_names())


# -- profiles and resources ---------------------------------------------------------


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_every_profile_sets_guarantees_and_limits(deployment):
    values = chart.chart_values(deployment)
    su = values["singleuser"]
    for resource in ("cpu", "memory"):
        for key in ("guarantee", "limit"):
            assert su.get(resource, {}).get(key) is not None, f"singleuser.{resource}.{key} is not set"
    listed = profiles(values)
    assert {"trial", "standard"} <= {p["slug"] for p in listed}
    assert sum(bool(p.get("default")) for p in listed) == 1, "exactly one default profile"
    size = {}
    for profile in listed:
        override = profile.get("kubespawner_override", {})
        for key in SIZES:
            assert override.get(key) is not None, f"profile {profile['slug']} sets no {key}"
        assert override["cpu_guarantee"] <= override["cpu_limit"], profile["slug"]
        assert as_bytes(override["mem_guarantee"]) <= as_bytes(override["mem_limit"]), profile["slug"]
        size[profile["slug"]] = (override["cpu_limit"], as_bytes(override["mem_limit"]))
    assert size["trial"] <= size["standard"], "the trial profile is the small one"


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_profiles_only_size_servers(deployment):
    for profile in profiles(chart.chart_values(deployment)):
        override = set(profile.get("kubespawner_override", {}))
        assert override <= set(KubeSpawner.class_trait_names()), override
        assert override <= SIZING_TRAITS, f"profile {profile['slug']} overrides {override - SIZING_TRAITS}"


# -- network policy ------------------------------------------------------------------

APP_POD = {"namespace": "openhexa", "pod_labels": {"app.kubernetes.io/name": "openhexa-app"}}
# The PostgreSQL server of the workspace databases, and the App's own.
DATABASE = {"namespace": "openhexa", "pod_labels": {"app.kubernetes.io/name": "openhexa-workspace-databases"}}
APP_DATABASE = {"namespace": "openhexa", "pod_labels": {"app.kubernetes.io/name": "postgresql"}}


@pytest.mark.parametrize("deployment", chart.DEPLOYMENTS)
def test_notebooks_reach_the_app_and_databases_but_not_cloud_metadata(deployment):
    values = chart.chart_values(deployment)
    assert values["singleuser"]["networkPolicy"]["enabled"] is True
    assert values["singleuser"]["cloudMetadata"]["blockWithIptables"] is False, "no privileged init container"
    for port in (80, 443):
        assert not chart.egress_allowed(values, ip="169.254.169.254", port=port), f"metadata server, port {port}"
    assert chart.egress_allowed(values, port=8000, **APP_POD), "the App"
    assert chart.egress_allowed(values, port=5432, **DATABASE), "a workspace database"
    assert not chart.egress_allowed(values, port=9090, **DATABASE), "the database server's other ports"
    assert not chart.egress_allowed(values, port=5432, **APP_DATABASE), "the App's own database server"
    assert not chart.egress_allowed(values, port=5432, namespace="monitoring", pod_labels=DATABASE["pod_labels"])
    assert not chart.egress_allowed(values, port=8000, namespace="monitoring", pod_labels={"app": "grafana"})
    assert chart.egress_allowed(values, ip="151.101.0.223", port=443), "the internet (packages, APIs)"


# -- the pods -----------------------------------------------------------------------


RENDERS = [
    (deployment, server, profile["slug"])
    for deployment in chart.DEPLOYMENTS
    for profile in profiles(chart.chart_values(deployment))
    for server in ("", WORKSPACE)
]


@pytest.mark.parametrize(
    ("deployment", "server", "profile"), RENDERS, ids=[f"{d}-{s or 'default'}-{p}" for d, s, p in RENDERS]
)
def test_the_pod_of_each_server_and_profile(deployment, server, profile, inapp, kubeconfig, monkeypatch):
    values = chart.chart_values(deployment)
    app = inapp  # the mock App, in-process
    env = {**chart.hub_env(values, SECRETS), **app_settings(app.url)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = chart.hub_config(values)
    config.OpenHexaAuthenticator.app_client = app.client()
    spawner, pod, pvc, options_form = chart.render_pod(config, app.login("alice"), ALICE_EMAIL, server, profile)
    su = values["singleuser"]
    spec = pod["spec"]
    (container,) = spec["containers"]

    # The image and how it starts.
    assert container["image"] == f"{su['image']['name']}:{su['image']['tag']}"
    assert "args" not in container, "singleuser.cmd: null leaves the image's own CMD"
    assert spawner.start_timeout == su["startTimeout"]
    assert not options_form, "the App picks profiles; people see no form"

    # Resources: the profile's guarantees and limits; the default server keeps the default profile,
    # whatever its request asked for (a workspace's is the App's choice).
    chosen = profile if server else next(p["slug"] for p in profiles(values) if p.get("default"))
    sizes = next(p for p in profiles(values) if p["slug"] == chosen)["kubespawner_override"]
    for key, (field, resource, parse) in {
        "cpu_limit": ("limits", "cpu", float),
        "cpu_guarantee": ("requests", "cpu", float),
        "mem_limit": ("limits", "memory", as_bytes),
        "mem_guarantee": ("requests", "memory", as_bytes),
    }.items():
        actual = (container["resources"].get(field) or {}).get(resource)
        assert actual is not None, f"the pod has no resources.{field}.{resource}"
        assert sizes.get(key) is not None, f"profile {profile} sets no {key}"
        assert parse(actual) == parse(sizes[key]), key

    # Security: jovyan, group users, nothing privileged; FUSE (SYS_ADMIN, the FUSE seccomp profile that denies
    # user namespaces, /dev/fuse, privilege escalation) only for a workspace that mounts a bucket (the in-process
    # App's engine is s3), never for the default server.
    assert spec["securityContext"]["fsGroup"] == 100
    context = container["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["runAsNonRoot"]) == (1000, 100, True)
    for each in spec.get("initContainers", []) + spec["containers"]:
        assert not (each.get("securityContext") or {}).get("privileged"), f"{each['name']} is privileged"
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    if server:
        assert context["capabilities"] == {"drop": ["ALL"], "add": ["SYS_ADMIN"]}
        assert context["seccompProfile"] == {"type": "Localhost", "localhostProfile": "openhexa/fuse.json"}
        assert context["appArmorProfile"] == {"type": "Unconfined"} and context["allowPrivilegeEscalation"] is True
        assert volumes[mounts["/dev/fuse"]]["hostPath"] == {"path": "/dev/fuse", "type": "CharDevice"}
    else:
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert context["appArmorProfile"] == {"type": "RuntimeDefault"}
        assert context["allowPrivilegeEscalation"] is False
        assert "/dev/fuse" not in mounts and "fuse" not in volumes

    # Volumes: the home for default servers only.
    claims = [v["persistentVolumeClaim"]["claimName"] for v in volumes.values() if "persistentVolumeClaim" in v]
    if server:
        assert claims == [] and "/home/jovyan" not in mounts
        assert spawner.storage_pvc_ensure is False
    else:
        assert claims == [spawner.pvc_name]
        assert volumes[mounts["/home/jovyan"]]["persistentVolumeClaim"]["claimName"] == spawner.pvc_name
        assert spawner.storage_pvc_ensure is True

    # Labels the chart's NetworkPolicies and the hub select on; the pod's name.
    labels = pod["metadata"]["labels"]
    chart_label = f"jupyterhub-{chart.chart_pin()['version']}"
    assert labels["component"] == "singleuser-server"
    assert labels["app"] == labels["app.kubernetes.io/name"] == "jupyterhub"
    assert labels["release"] == labels["app.kubernetes.io/instance"] == chart.RELEASE
    assert labels["chart"] == labels["helm.sh/chart"] == chart_label
    assert labels["app.kubernetes.io/managed-by"] == "kubespawner"
    assert "heritage" not in labels, "the chart's hub sets no heritage label on user pods"
    assert labels["hub.jupyter.org/network-access-hub"] == "true"
    assert labels["hub.jupyter.org/servername"] == server
    assert spawner.namespace == chart.NAMESPACE, "KubeSpawner creates the pod in the hub's namespace"
    if server:
        server_hash = State.load(FIXTURE_FILE).notebooks_server_hash(server, ALICE_EMAIL)
        assert pod["metadata"]["name"] == f"jupyter-{server_hash}"
        assert pvc is None
    else:
        assert pvc["metadata"]["name"] == spawner.pvc_name
        assert pvc["spec"]["resources"]["requests"]["storage"] == su["storage"]["capacity"]
    # The user scheduler the chart deploys registers itself under the release's name.
    scheduler = f"{chart.RELEASE}-user-scheduler" if values["scheduling"]["userScheduler"]["enabled"] else None
    assert spec.get("schedulerName") == scheduler
    priority = f"{chart.RELEASE}-default-priority" if values["scheduling"]["podPriority"]["enabled"] else None
    assert spec.get("priorityClassName") == priority

    # The environment: every credential exactly as the App sent it.
    pod_env = {e["name"]: e.get("value") for e in container["env"]}
    if server:
        expected = {**FIXTURES["workspaces"][server]["env"], "HEXA_WORKSPACE": server}
    else:
        credentials = FIXTURES["users"][0]["default_credentials"]
        expected = {**credentials["env"], "OPENHEXA_FILES": json.dumps(credentials["files"])}
    expected |= {
        "HEXA_SERVER_URL": app.url,
        "CONTENT_SECURITY_POLICY": env["CONTENT_SECURITY_POLICY"],  # the hub's, passed on
        "JUPYTERHUB_DEFAULT_URL": "/lab",
    }
    assert "{" in expected.get("WORKSPACE_DATABASE_PASSWORD", "{"), "the fixture keeps its braces"
    for name, value in expected.items():
        assert pod_env.get(name) == value, name


# -- the k3s CI wiring ---------------------------------------------------------------


def test_the_k3s_mock_app_is_where_the_values_and_the_workflow_point():
    values = chart.chart_values("k3s")
    docs = {d["kind"]: d for d in yaml.safe_load_all(MOCK_APP_MANIFEST.read_text())}
    service, deployment = docs["Service"], docs["Deployment"]
    namespace = service["metadata"]["namespace"]
    port = next(p for p in service["spec"]["ports"] if p["name"] == "backend")
    env = chart.hub_env(values, SECRETS)
    for name in (
        "AUTHENTICATION_URL",
        "DEFAULT_CREDENTIALS_URL",
        "WORKSPACE_CREDENTIALS_URL",
        "HEXA_SERVER_URL",
    ):
        url = urlsplit(env[name])
        assert (url.hostname, url.port) == (
            f"{service['metadata']['name']}.{namespace}.svc.cluster.local",
            port["port"],
        ), name
    for name in ("LOGOUT_REDIRECT_URL", "APP_LOGIN_URL"):
        assert urlsplit(env[name]).port == port["nodePort"], name
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert chart.egress_allowed(values, port=port["targetPort"], namespace=namespace, pod_labels=pod_labels)

    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["env"]["NAMESPACE"] == namespace == chart.NAMESPACE
    assert workflow["env"]["RELEASE"] == chart.RELEASE
    runs = "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    assert "--values chart-values/values.yaml --values chart-values/k3s.yaml" in runs
    hub_port = values["proxy"]["service"]["nodePorts"]["http"]
    assert f"--hub-url http://localhost:{hub_port} --app-url http://localhost:{port['nodePort']}" in runs
    assert "chart-values/k3s-mock-app.yaml" in runs and "--from-file=mockapp/" in runs


def test_the_workflow_runs_project_commands():
    # How actions are pinned is tests/unit/test_workflows.py's, for every workflow.
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any("make setup" in run for run in runs)
    checks = [run for run in runs if "make test-unit" in run]
    assert checks, "the workflow runs the unit tier's chart checks"
    for run in checks:
        assert run.index("make chart-pull") < run.index("make test-unit"), "on the pulled chart"
        selected = re.search(r"-k '([^']+)'", run).group(1)
        assert "schema" in selected and "chart_upstream" in selected, selected
    assert any(".venv/bin/python chart-values/smoke.py" in run for run in runs)


def test_the_workflow_deploys_this_commits_images_by_digest_and_fails_fast():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    names = [step.get("name", step.get("uses", "")) for step in job["steps"]]
    runs = [step.get("run", "") for step in job["steps"]]

    def first(text: str) -> int:
        found = [i for i, run in enumerate(runs) if text in run]
        assert found, f"no step runs {text!r}"
        return found[0]

    build, push = first("make build"), first("scripts/chart-images.sh localhost:5000")
    install, wait = first("helm upgrade --install"), first("scripts/k8s_wait.py")
    smoke = first("chart-values/smoke.py")
    assert build < push < install < wait < smoke, names
    assert "make registry-up" in runs[push]
    assert '--values "$RUNNER_TEMP/images.yaml"' in runs[install] and ".chart/jupyterhub" in runs[install]
    assert "--wait" not in runs[install], "the wait step fails fast; helm --wait would wait out its timeout"
    assert "--no-cell" not in runs[smoke], "the smoke test runs a cell on the deployed notebook image"
    shown = job["steps"][-1]
    assert shown.get("if") == "failure()"
    for what in ("get pods,events", "describe pods", "logs deploy/hub"):
        assert what in shown["run"], what
    assert job["env"]["BASE"] == "upstream"


# -- chart-values/smoke.py (against a real hub: tests/hub/test_chart_smoke.py) -------


@pytest.fixture
def smoke():
    return chart.load_smoke()


def test_smoke_needs_the_app_token(smoke, monkeypatch, capsys):
    monkeypatch.delenv("HUB_API_TOKEN", raising=False)
    assert smoke.main(["--hub-url", "http://127.0.0.1:9", "--app-url", "http://127.0.0.1:9"]) == 2
    assert "HUB_API_TOKEN" in capsys.readouterr().err


# -- cookies behind TLS -------------------------------------------------------------


def hub_urls(values: dict) -> list[str]:
    """The hub as the browser reaches it: https:// for the ingress hosts its TLS covers, or the proxy's HTTPS."""
    tls_hosts = {host for entry in chart.get(values, "ingress.tls", None) or [] for host in entry.get("hosts", [])}
    urls = []
    if chart.get(values, "ingress.enabled", False):
        urls += [
            f"{'https' if host in tls_hosts else 'http'}://{host}" for host in chart.get(values, "ingress.hosts", [])
        ]
    if chart.get(values, "proxy.https.enabled", False):
        urls += [f"https://{host}" for host in chart.get(values, "proxy.https.hosts", [])] or ["https://"]
    return urls


def test_the_production_example_gives_each_person_an_origin_of_their_own():
    values = chart.chart_values("production")
    hub = values["hub"]["config"]["JupyterHub"]
    parts = urlsplit(hub["subdomain_host"])
    assert parts.scheme == "https" and hub["cookie_host_prefix_enabled"] is True
    wildcard = [parts.hostname, f"*.{parts.hostname}"]
    assert values["ingress"]["hosts"] == wildcard, "the ingress takes every person's subdomain"
    assert values["ingress"]["tls"][0]["hosts"] == wildcard, "a wildcard certificate"


def test_https_deployments_mark_every_cookie_secure(monkeypatch):
    """Behind TLS-terminating ingress the hub sees http; COOKIE_SECURE makes its cookies Secure anyway."""
    checked = []
    for deployment in chart.DEPLOYMENTS:
        values = chart.chart_values(deployment)
        env = chart.hub_env(values, SECRETS)
        app_urls = [env[name] for name in ("LOGOUT_REDIRECT_URL", "APP_LOGIN_URL") if name in env]
        urls = hub_urls(values) + app_urls
        if not any(url.startswith("https://") for url in hub_urls(values)):
            continue  # no HTTPS hub: nothing marks the hub's cookies Secure in its browser
        assert all(url.startswith("https://") for url in urls), f"{deployment}: HTTPS and HTTP mixed: {urls}"
        assert env.get("COOKIE_SECURE", "").lower() == "true", (
            f"{deployment}: the hub is served over HTTPS ({urls}) but hub.extraEnv.COOKIE_SECURE is not true"
        )
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            assert OpenHexaAuthenticator().cookie_secure is True
        checked.append(deployment)
    assert "production" in checked, "example-production.yaml serves the hub over HTTPS at its ingress"


def test_the_kubernetes_minimum_the_values_need_is_written_down():
    """appArmorProfile exists from Kubernetes 1.30; older API servers drop it without a word."""
    values = chart.chart_values("base")
    context = chart.get(values, "hub.config.KubeSpawner.container_security_context", {})
    readme = (chart.CHART_VALUES / "README.md").read_text()
    if "appArmorProfile" in context:
        assert "**Kubernetes 1.30 or newer.**" in readme
        assert "container.apparmor.security.beta.kubernetes.io/notebook: unconfined" in readme, "what 1.28-1.29 need"
