"""DockerSpawner on the host network, for one machine (docker-compose, tests)."""

from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port
from traitlets import default


class HostNetworkDockerSpawner(DockerSpawner):
    """Each server runs on the host network and listens on its own free port.

    Servers listen on 127.0.0.1; stopped containers are removed; the workspace
    hooks name containers after the App's server hash.
    """

    @default("network_name")
    def _network_name_default(self):
        return "host"

    @default("use_internal_ip")
    def _use_internal_ip_default(self):
        # True only so DockerSpawner adds no port bindings, which the host
        # network refuses; get_ip_and_port below says where the server is.
        return True

    @default("host_ip")
    def _host_ip_default(self):
        return "127.0.0.1"

    @default("ip")
    def _ip_default(self):
        return "127.0.0.1"  # the server listens on loopback only

    @default("extra_create_kwargs")
    def _extra_create_kwargs_default(self):
        # `make down` finds the servers the hub started by this label.
        return {"labels": {"org.openhexa.notebooks": "server"}}

    @default("remove")
    def _remove_default(self):
        return True

    async def start(self):
        self.port = random_port()
        return await super().start()

    async def get_ip_and_port(self):
        return self.host_ip, self.port
