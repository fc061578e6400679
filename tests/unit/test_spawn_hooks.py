"""The spawn rules on real KubeSpawner and DockerSpawner objects, without a cluster or a Docker engine."""

import asyncio
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner
from kubespawner import KubeSpawner

from openhexa_hub import spawn
from openhexa_hub.docker import HostNetworkDockerSpawner

pytestmark = pytest.mark.usefixtures("kubeconfig")  # KubeSpawner needs a client configuration

BRACES = "s3cr{et}-{{pw}}-4d1b"
ENV = {"WORKSPACE_DATABASE_PASSWORD": BRACES, "PLAIN": "value", "HEXA_WORKSPACE": "malaria-dashboards"}


class FakeUser:
    name = "alice@openhexa.test"
    id = 1
    url = "/user/alice@openhexa.test/"


def workspace_server():
    return SimpleNamespace(name="malaria-dashboards", server=None)


def kube_pod(setup, **traits):
    """A KubeSpawner after ``setup(spawner)``, and the pod it would create.

    KubeSpawner makes its API client when created, which needs a running loop.
    """

    async def build():
        spawner = KubeSpawner(_mock=True, user=FakeUser(), orm_spawner=workspace_server(), **traits)
        setup(spawner)
        return spawner, await spawner.get_pod_manifest()

    return asyncio.run(build())


HUB = SimpleNamespace(
    public_host="",
    url="http://127.0.0.1:8081/hub/",
    base_url="/hub/",
    api_url="http://127.0.0.1:8081/hub/api",
)


def docker(cls=DockerSpawner, **traits):
    return cls(user=FakeUser(), orm_spawner=workspace_server(), hub=HUB, **traits)


def test_kubespawner_gets_escaped_values_and_the_pod_carries_them_intact():
    spawner, pod = kube_pod(lambda s: spawn.add_environment(s, ENV))
    assert spawner.environment["WORKSPACE_DATABASE_PASSWORD"] == "s3cr{{et}}-{{{{pw}}}}-4d1b"
    container_env = {e.name: e.value for e in pod.spec.containers[0].env}
    for name, value in ENV.items():
        assert container_env[name] == value


@pytest.mark.parametrize("cls", [DockerSpawner, HostNetworkDockerSpawner])
def test_dockerspawner_values_are_passed_as_they_are(cls):
    spawner = docker(cls)
    spawn.add_environment(spawner, ENV)
    assert spawner.environment["WORKSPACE_DATABASE_PASSWORD"] == BRACES
    assert spawner.get_env()["WORKSPACE_DATABASE_PASSWORD"] == BRACES


def test_pod_is_named_after_the_server_hash():
    _, pod = kube_pod(lambda s: spawn.name_after_hash(s, "dec0d4f2b75b172d5d83"))
    assert pod.metadata.name == "jupyter-dec0d4f2b75b172d5d83"


def test_container_is_named_after_the_server_hash():
    spawner = docker()
    spawn.name_after_hash(spawner, "dec0d4f2b75b172d5d83")
    assert spawner.object_name == "jupyter-dec0d4f2b75b172d5d83"


def test_workspace_pods_lose_the_home_volume_and_keep_shared_ones():
    removed = []
    spawner, pod = kube_pod(
        lambda s: removed.extend(spawn.drop_personal_volumes(s)),
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
    spawn.drop_personal_volumes(spawner)
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
    assert spawn.image_allowed(image, "blsq/openhexa-base-notebook:dev", ["blsq/openhexa-base-notebook:1.2"]) is allowed


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
    with pytest.raises(spawn.BadCredentials):
        spawn.parse_workspace_credentials(payload)


def test_scalars_become_their_json_spelling():
    credentials = spawn.parse_workspace_credentials(
        {"env": {"PORT": 5432, "FLAG": True, "SKIP": None}, "notebooks_server_hash": "abcdef0123"}
    )
    assert credentials.env == {"PORT": "5432", "FLAG": "true"}


def test_default_credential_files_must_be_base64():
    with pytest.raises(spawn.BadCredentials):
        spawn.parse_default_credentials({"env": {}, "files": {"a.txt": "not base64!"}})
    ok = spawn.parse_default_credentials({"env": {}, "files": {"a.txt": "aGk="}})
    assert ok.files == {"a.txt": "aGk="}
