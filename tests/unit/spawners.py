"""Real KubeSpawner and DockerSpawner objects for the unit tier, without a cluster or a Docker engine."""

import asyncio
from types import SimpleNamespace

from dockerspawner import DockerSpawner
from kubespawner import KubeSpawner


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
