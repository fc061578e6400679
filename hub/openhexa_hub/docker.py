"""DockerSpawner on the host network, for one machine (docker-compose, tests)."""

from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port
from traitlets import default


class HostNetworkDockerSpawner(DockerSpawner):
    """Each server runs on the host network and listens on its own free port.

    Stopped containers are removed; the workspace hooks name containers after
    the App's server hash.
    """

    @default("network_name")
    def _network_name_default(self):
        return "host"

    @default("use_internal_ip")
    def _use_internal_ip_default(self):
        return False

    @default("host_ip")
    def _host_ip_default(self):
        return "127.0.0.1"

    @default("remove")
    def _remove_default(self):
        return True

    async def start(self):
        self.port = random_port()
        return await super().start()

    async def get_ip_and_port(self):
        return self.host_ip, self.port
