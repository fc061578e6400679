"""The spawn rules on real KubeSpawner and DockerSpawner objects, without a cluster or a Docker engine."""

import asyncio
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner
from kubespawner import KubeSpawner

from harness.net import StandInServer
from openhexa_hub import spawner_rules
from openhexa_hub.docker import HostNetworkDockerSpawner
from tests.unit.spawners import HUB, FakeUser, docker, kube_pod, workspace_server

pytestmark = pytest.mark.usefixtures("kubeconfig")  # KubeSpawner needs a client configuration

BRACES = "s3cr{et}-{{pw}}-4d1b"
ENV = {"WORKSPACE_DATABASE_PASSWORD": BRACES, "PLAIN": "value", "HEXA_WORKSPACE": "malaria-dashboards"}


def test_kubespawner_gets_escaped_values_and_the_pod_carries_them_intact():
    spawner, pod = kube_pod(lambda s: spawner_rules.add_environment(s, ENV))
    assert spawner.environment["WORKSPACE_DATABASE_PASSWORD"] == "s3cr{{et}}-{{{{pw}}}}-4d1b"
    container_env = {e.name: e.value for e in pod.spec.containers[0].env}
    for name, value in ENV.items():
        assert container_env[name] == value


@pytest.mark.parametrize("cls", [DockerSpawner, HostNetworkDockerSpawner])
def test_dockerspawner_values_are_passed_as_they_are(cls):
    spawner = docker(cls)
    spawner_rules.add_environment(spawner, ENV)
    assert spawner.environment["WORKSPACE_DATABASE_PASSWORD"] == BRACES
    assert spawner.get_env()["WORKSPACE_DATABASE_PASSWORD"] == BRACES


def test_pod_is_named_after_the_server_hash():
    _, pod = kube_pod(lambda s: spawner_rules.name_after_hash(s, "dec0d4f2b75b172d5d83"))
    assert pod.metadata.name == "jupyter-dec0d4f2b75b172d5d83"


def test_container_is_named_after_the_server_hash():
    spawner = docker()
    spawner_rules.name_after_hash(spawner, "dec0d4f2b75b172d5d83")
    assert spawner.object_name == "jupyter-dec0d4f2b75b172d5d83"


def test_workspace_pods_lose_the_home_volume_and_keep_shared_ones():
    removed = []
    spawner, pod = kube_pod(
        lambda s: removed.extend(spawner_rules.drop_personal_volumes(s)),
        volumes=[
            {"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
            {"name": "fuse", "hostPath": {"path": "/dev/fuse"}},
        ],
        volume_mounts=[
            {"name": "volume-{user_server}", "mountPath": "/home/jovyan"},
            {"name": "fuse", "mountPath": "/dev/fuse"},
        ],
        storage_pvc_ensure=True,
    )
    assert removed == ["volume-{user_server}"]
    assert [v.name for v in pod.spec.volumes] == ["fuse"]
    assert [m.name for m in pod.spec.containers[0].volume_mounts] == ["fuse"]
    assert spawner.storage_pvc_ensure is False


def test_workspace_containers_lose_the_home_volume():
    spawner = docker(volumes={"jupyterhub-user-{username}": "/home/jovyan/work", "/srv/shared": "/shared"})
    spawner_rules.drop_personal_volumes(spawner)
    assert spawner.volumes == {"/srv/shared": "/shared"}


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        ("blsq/openhexa-base-notebook:dev", True),
        ("blsq/openhexa-base-notebook:1.2", True),
        ("evil/miner", False),
    ],
)
def test_images_come_only_from_the_allow_list(image, allowed):
    own, listed = "blsq/openhexa-base-notebook:dev", ["blsq/openhexa-base-notebook:1.2"]
    assert spawner_rules.image_allowed(image, own, listed) is allowed


@pytest.mark.parametrize(
    "payload",
    [
        {"env": {}},
        {"env": {}, "notebooks_server_hash": "../../etc"},
        {"env": {}, "notebooks_server_hash": "ABCDEF0123"},
        {"env": {"BAD NAME": "x"}, "notebooks_server_hash": "abcdef0123"},
        {"env": {"X": {"nested": 1}}, "notebooks_server_hash": "abcdef0123"},
        {"env": [], "notebooks_server_hash": "abcdef0123"},
        {"env": {}, "notebooks_server_hash": "abcdef0123", "image": 5},
    ],
)
def test_malformed_workspace_answers_are_rejected(payload):
    with pytest.raises(spawner_rules.BadCredentials):
        spawner_rules.parse_workspace_credentials(payload)


def test_scalars_become_their_json_spelling():
    env = {"WORKSPACE_DATABASE_PORT": 5432, "AWS_FRESH_ROLE": True, "HEXA_TOKEN": None}
    credentials = spawner_rules.parse_workspace_credentials({"env": env, "notebooks_server_hash": "abcdef0123"})
    assert credentials.env == {"WORKSPACE_DATABASE_PORT": "5432", "AWS_FRESH_ROLE": "true"}


def test_default_credential_files_must_be_base64():
    with pytest.raises(spawner_rules.BadCredentials):
        spawner_rules.parse_default_credentials({"env": {}, "files": {"a.txt": "not base64!"}})
    ok = spawner_rules.parse_default_credentials({"env": {}, "files": {"a.txt": "aGk="}})
    assert ok.files == {"a.txt": "aGk="}


def test_workspace_pods_carry_the_workspace_label():
    _, pod = kube_pod(lambda s: spawner_rules.label_workspace(s, "malaria-dashboards"))
    assert pod.metadata.labels["hexa-workspace"] == "malaria-dashboards"


def test_workspace_containers_carry_the_workspace_label_beside_the_stacks():
    spawner = docker(HostNetworkDockerSpawner)
    spawner_rules.label_workspace(spawner, "malaria-dashboards")
    labels = spawner.extra_create_kwargs["labels"]
    assert labels["hexa-workspace"] == "malaria-dashboards"
    assert labels["org.openhexa.notebooks"] == "server"  # `make down` still finds it


PROFILES = spawner_rules.load_profiles(spawner_rules.__file__.rsplit("/hub/", 1)[0] + "/chart-values/values.yaml")


@pytest.mark.parametrize(("asked", "chosen"), [(None, "standard"), ("", "standard"), ("trial", "trial")])
def test_a_profile_is_chosen_by_slug_or_the_default(asked, chosen):
    assert spawner_rules.choose_profile(PROFILES, asked)["slug"] == chosen


def test_an_unknown_profile_names_those_there_are():
    with pytest.raises(spawner_rules.UnknownProfile, match=r"'huge' .* trial, standard\.$"):
        spawner_rules.choose_profile(PROFILES, "huge")


def test_without_profiles_a_named_one_is_ignored():
    assert spawner_rules.choose_profile([], "trial") is None


def test_docker_servers_get_the_profiles_sizes():
    spawner = docker(HostNetworkDockerSpawner, profile_list=PROFILES)
    profile = spawner_rules.choose_profile(spawner_rules.profiles_of(spawner), "trial")
    sizing = spawner_rules.apply_profile(spawner, profile)
    assert sizing == {"cpu_guarantee": 0.25, "cpu_limit": 1, "mem_guarantee": "1G", "mem_limit": "2G"}
    assert spawner.mem_limit == 2 * 1024**3 and spawner.cpu_limit == 1


def test_kubespawner_applies_the_profile_itself_from_the_same_list():
    spawner, _ = kube_pod(lambda s: None, profile_list=PROFILES)
    assert spawner_rules.apply_profile(spawner, PROFILES[0]) == {}
    assert spawner_rules.profiles_of(spawner) == PROFILES


def test_a_workspace_back_on_the_apps_default_image_gets_the_hubs_own_again():
    from tornado.web import HTTPError

    from openhexa_hub.authenticator import REQUIRED, OpenHexaAuthenticator

    auth = OpenHexaAuthenticator(**dict.fromkeys(REQUIRED, "http://app.test/"), allowed_images=["blsq/custom:1"])
    spawner = docker(HostNetworkDockerSpawner, image="blsq/openhexa-base-notebook:dev")
    auth._choose_image(spawner, "malaria-dashboards", "blsq/custom:1")
    assert spawner.image == "blsq/custom:1"
    auth._choose_image(spawner, "malaria-dashboards", auth.app_default_image)
    assert spawner.image == "blsq/openhexa-base-notebook:dev"
    with pytest.raises(HTTPError) as refused:
        auth._choose_image(spawner, "malaria-dashboards", "evil/miner")
    assert refused.value.status_code == 403 and "evil/miner" in refused.value.jupyterhub_message


LOCAL = {"WORKSPACE_STORAGE_ENGINE": "local", "WORKSPACE_STORAGE_MOUNT_PATH": "/srv/openhexa/buckets/hexa-ws"}
ROOT = "/srv/openhexa/buckets"  # LOCAL_STORAGE_ROOT: where the App keeps its buckets


def test_local_storage_is_bound_at_the_workspace_folder_under_docker():
    spawner = docker(HostNetworkDockerSpawner)
    assert spawner_rules.bind_local_storage(spawner, LOCAL, ROOT) == LOCAL["WORKSPACE_STORAGE_MOUNT_PATH"]
    volumes = spawner.workspace_volumes()
    assert volumes == {"/srv/openhexa/buckets/hexa-ws": {"bind": "/home/jovyan/workspace", "mode": "rw"}}


def test_a_workspace_that_leaves_local_storage_gets_its_docker_volume_back():
    spawner = docker(HostNetworkDockerSpawner, stack="s")
    spawner_rules.name_after_hash(spawner, "0123456789abcdef0123456789abcdef")
    spawner_rules.bind_local_storage(spawner, LOCAL, ROOT)
    spawner.volumes = spawner.workspace_volumes()  # as a first start leaves it
    assert spawner_rules.bind_local_storage(spawner, {"WORKSPACE_STORAGE_ENGINE": "s3"}, ROOT) is None
    volume = "s-workspace-jupyter-0123456789abcdef0123456789abcdef"
    assert spawner.workspace_volumes() == {volume: {"bind": "/home/jovyan/workspace", "mode": "rw"}}


def test_workspace_volumes_never_meet():
    volumes = set()
    for name, server_hash in (("Ws", "a" * 32), ("ws", "b" * 32), ("ws", "c" * 32)):  # the last: another person
        spawner = HostNetworkDockerSpawner(
            user=FakeUser(), orm_spawner=SimpleNamespace(name=name, server=None), hub=HUB, stack="s"
        )
        spawner_rules.name_after_hash(spawner, server_hash)
        (source,) = spawner.workspace_volumes()
        volumes.add(spawner._render_templates(source))
    assert len(volumes) == 3, volumes


def test_local_storage_is_refused_under_kubernetes():
    with pytest.raises(spawner_rules.LocalStorageRefused, match="single-machine deployments"):
        kube_pod(lambda s: spawner_rules.bind_local_storage(s, LOCAL, ROOT))


@pytest.mark.parametrize("path", ["relative/bucket", "/srv/buckets/../etc", "/srv//buckets"])
def test_a_local_storage_path_must_be_absolute_and_normalised(path):
    with pytest.raises(spawner_rules.BadCredentials):
        local = {**LOCAL, "WORKSPACE_STORAGE_MOUNT_PATH": path}
        spawner_rules.bind_local_storage(docker(HostNetworkDockerSpawner), local, ROOT)


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/", ROOT), ("/var/run/docker.sock", ROOT), ("/srv/openhexa/buckets-of-others/x", ROOT),
        (ROOT, ROOT), (LOCAL["WORKSPACE_STORAGE_MOUNT_PATH"], ""), (LOCAL["WORKSPACE_STORAGE_MOUNT_PATH"], "relative"),
        ("/var/run/docker.sock", "/"), ("/var/run/docker.sock", "//"),
    ],
    ids=["root", "docker-socket", "a-sibling-folder", "the-root-itself", "no-root-set", "relative-root",
         "slash-as-root", "double-slash-as-root"],
)  # fmt: skip
def test_local_storage_binds_only_folders_under_the_root(path, root):
    spawner = docker(HostNetworkDockerSpawner)
    with pytest.raises(spawner_rules.LocalStorageRefused, match="LOCAL_STORAGE_ROOT"):
        spawner_rules.bind_local_storage(spawner, {**LOCAL, "WORKSPACE_STORAGE_MOUNT_PATH": path}, root)
    assert spawner.workspace_host_path == ""


@pytest.mark.parametrize("engine", ["s3", "gcp", "azure"])
def test_docker_servers_of_a_cloud_engine_get_what_fuse_needs_and_no_more(engine):
    spawner = docker(HostNetworkDockerSpawner)
    assert spawner_rules.grant_fuse(spawner, {"WORKSPACE_STORAGE_ENGINE": engine})
    config = spawner.extra_host_config
    assert config["devices"] == ["/dev/fuse:/dev/fuse:rwm"] and config["cap_add"] == ["SYS_ADMIN"]
    assert config["auto_remove"] is False  # the spawner's own settings stay
    # DockerSpawner renders its templates: the profile reaches Docker as the file's JSON, whole.
    apparmor, seccomp = spawner._render_templates(config["security_opt"])
    assert apparmor == "apparmor:unconfined"
    assert json.loads(seccomp.removeprefix("seccomp=")) == json.loads(spawner_rules.FUSE_SECCOMP.read_text())
    # The same workspace back on 'local' (the spawner outlives the server): nothing extra.
    assert not spawner_rules.grant_fuse(spawner, LOCAL)
    assert spawner.extra_host_config == {"auto_remove": False}


def test_kubernetes_pods_of_a_cloud_engine_get_fuse_and_the_profile_that_denies_user_namespaces():
    base = {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}

    def granted(s):
        s.container_security_context = base
        assert spawner_rules.grant_fuse(s, {"WORKSPACE_STORAGE_ENGINE": "s3"}, "profiles/fuse.json")

    spawner, pod = kube_pod(granted, volumes=[{"name": "home"}], volume_mounts=[{"name": "home", "mountPath": "/h"}])
    context = pod.spec.containers[0].security_context  # KubeSpawner passes container_security_context on
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["SYS_ADMIN"]} and context["allowPrivilegeEscalation"]
    assert context["seccompProfile"] == {"type": "Localhost", "localhostProfile": "profiles/fuse.json"}
    assert [v.name for v in pod.spec.volumes] == ["home", "fuse"]
    # The same spawner, next time a 'local' workspace: the chart's context back, no /dev/fuse.
    assert not spawner_rules.grant_fuse(spawner, LOCAL)
    assert spawner.container_security_context == base and [v["name"] for v in spawner.volumes] == ["home"]


def test_the_fuse_seccomp_profile_denies_namespaces_and_allows_mounting():
    """hub/openhexa_hub/seccomp/fuse.json: the container runtime's default profile for the default capabilities
    (moby's profiles/seccomp/default.json without CAP_SYS_ADMIN), plus mount, umount and umount2."""
    profile = json.loads(spawner_rules.FUSE_SECCOMP.read_text())
    assert (profile["defaultAction"], profile["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    assert not {"archMap", "includes", "excludes"} & set(profile), "containerd ignores Docker's own keys"
    rules = {}
    for rule in profile["syscalls"]:
        assert not {"includes", "excludes"} & set(rule)
        for name in rule["names"]:
            rules.setdefault(name, []).append(rule)
    for name in (
        "unshare",
        "setns",
        "bpf",
        "perf_event_open",
        "fsopen",
        "fsmount",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "init_module",
        "kexec_load",
    ):
        assert name not in rules, f"{name} is allowed"  # fmt: skip
    (clone,) = rules["clone"]
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    assert rules["clone3"] == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    for name in ("mount", "umount2", "execve", "openat", "socket"):
        assert any(rule["action"] == "SCMP_ACT_ALLOW" for rule in rules[name]), name


def test_an_environment_name_is_matched_whole():
    with pytest.raises(spawner_rules.BadCredentials, match="invalid name"):
        spawner_rules.parse_workspace_credentials({"env": {"HEXA_TOKEN\n": "x"}, "notebooks_server_hash": "abcdef0123"})


@pytest.mark.parametrize(
    "name",
    [
        "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_OAUTH_ACCESS_SCOPES", "JUPYTER_CONFIG_PATH", "PATH", "LD_PRELOAD",
        "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONSTARTUP", "HOME", "BASH_ENV", "NB_USER", "GRANT_SUDO",
        "OPENHEXA_WORKSPACE_DIR", "HEXA_SERVER_URL", "MEM_LIMIT",
    ],
)  # fmt: skip
def test_names_the_hub_and_the_image_rely_on_are_refused(name):
    with pytest.raises(spawner_rules.ForbiddenName) as refused:
        spawner_rules.parse_default_credentials({"env": {"HEXA_TOKEN": "t", name: "/tmp/evil"}})
    assert refused.value.name == name and "/tmp/evil" not in str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "HEXA_TOKEN", "GIT_EXTENSION_ENABLED", "WORKSPACE_DATABASE_URL", "AWS_DEFAULT_REGION", "AWS_S3_FUSE_CONFIG",
        "DHIS2_INSTANCES_SLUGS", "DHIS2_PLAY_URL", "DHIS2_SIERRA_LEONE_PASSWORD", "POSTGRESQL_DATABASE_NAMES",
        "POSTGRESQL_MALARIA_DB2_PORT", "WORKSPACE_STORAGE_ENGINE_S3_SESSION_TOKEN",
        "WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN", "WORKSPACE_STORAGE_MOUNT_PATH",
    ],
)  # fmt: skip
def test_the_apps_own_names_pass(name):
    """The names the App's code sends (notebooks/views.py, workspaces/views.py, the connector plugins'
    credentials.py, files/backends/*.py)."""
    assert name in spawner_rules.parse_default_credentials({"env": {name: "v"}}).env


@pytest.mark.parametrize(
    "name",
    [
        "SHELLOPTS", "PS4", "HTTP_PROXY", "https_proxy", "ALL_PROXY", "NO_PROXY", "PIP_INDEX_URL", "NODE_OPTIONS",
        "GIT_SSH_COMMAND", "GIT_CONFIG_COUNT", "R_PROFILE_USER", "R_LIBS_USER", "IPYTHONDIR", "GCS_TOKEN",
        "MALARIA_DB_PASSWORD", "DHIS2_URL", "POSTGRESQL_X_SHELL", "AWS_CONFIG_FILE",
    ],
)  # fmt: skip
def test_names_the_app_does_not_send_are_refused(name):
    with pytest.raises(spawner_rules.ForbiddenName) as refused:
        spawner_rules.parse_workspace_credentials({"env": {name: "x"}, "notebooks_server_hash": "abcdef0123"})
    assert refused.value.name == name


def test_an_operator_extends_the_names_but_never_to_what_the_hub_relies_on():
    extra = ["MALARIA_DB_*", "GCS_TOKEN", "LD_PRELOAD", "NODE_*", "HTTPS_PROXY"]
    env = {"MALARIA_DB_PASSWORD": "p", "GCS_TOKEN": "t"}
    assert spawner_rules.parse_default_credentials({"env": env}, extra).env == env
    for name in ("LD_PRELOAD", "NODE_OPTIONS", "HTTPS_PROXY", "https_proxy"):
        with pytest.raises(spawner_rules.ForbiddenName):
            spawner_rules.parse_default_credentials({"env": {name: "x"}}, extra)


@pytest.mark.parametrize(
    "path",
    [
        ".jupyter/jupyter_server_config.py", "~/.jupyter/jupyter_server_config.py", "~/.ipython/profile_default/x.py",
        ".bashrc", "~/.bashrc", "~/.config/matplotlib/matplotlibrc", "~/../etc/passwd", "/etc/profile.d/x.sh",
        "~/work/../.bashrc", "~/.pgpass/../.bashrc", "data/.hidden", "",
    ],
)  # fmt: skip
def test_files_from_the_app_never_go_in_hidden_files_or_folders(path):
    with pytest.raises(spawner_rules.ForbiddenFile):
        spawner_rules.parse_default_credentials({"env": {}, "files": {path: "aGk="}})


@pytest.mark.parametrize("path", ["~/.pgpass", ".pgpass", "data/sample.csv", "~/notes/readme.txt"])
def test_the_apps_pgpass_and_plain_files_are_written(path):
    assert spawner_rules.parse_default_credentials({"env": {}, "files": {path: "aGk="}}).files == {path: "aGk="}


def test_a_pod_kubernetes_refuses_is_logged_without_its_credentials():
    from kubernetes_asyncio.client.exceptions import ApiException

    from openhexa_hub.authenticator import REQUIRED, OpenHexaAuthenticator

    refusal = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403}
    log = logging.getLogger("openhexa-test-hub")
    records = []
    log.addHandler(RecordingHandler(records))
    OpenHexaAuthenticator(**dict.fromkeys(REQUIRED, "http://app.test/"), log=log)  # as the hub starts

    async def create_refused_pod():
        spawner = KubeSpawner(
            user=FakeUser(), orm_spawner=workspace_server(), hub=HUB, log=log, k8s_api_host=kube_api.url, namespace="ns"
        )
        spawner_rules.add_environment(spawner, ENV)
        pod = await spawner.get_pod_manifest()
        with pytest.raises(ApiException):
            await spawner._make_create_pod_request(pod, 10)

    with StandInServer(lambda request: (403, {}, refusal)) as kube_api:
        asyncio.run(create_refused_pod())
    assert any(r.method == "POST" and r.path.endswith("/pods") for r in kube_api.requests), "no pod was sent"
    logged = "\n".join(handler_format(record) for record in records)
    assert "jupyter-alice" in logged  # the pod is named, for the administrator
    for value in ENV.values():
        assert value not in logged, value


class RecordingHandler(logging.Handler):
    def __init__(self, records):
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record):
        self.records.append(record)


def handler_format(record) -> str:
    return logging.Formatter().format(record)


def test_the_readme_lists_every_name_the_app_may_not_set():
    readme = (Path(spawner_rules.__file__).resolve().parents[1] / "README.md").read_text()  # hub/README.md
    for name in sorted(spawner_rules.FORBIDDEN_ENV_NAMES) + list(spawner_rules.FORBIDDEN_ENV_PREFIXES):
        assert f"`{name}`" in readme, name
