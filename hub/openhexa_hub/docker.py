"""DockerSpawner on the host network, for one machine (docker-compose, tests, benchmarks)."""

import asyncio
import time

import docker
from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port, url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Unicode, default

from .traits import EnvUnicode


def spawn_refused(message: str) -> web.HTTPError:
    """A failed spawn whose message the person sees on the hub's page."""
    error = web.HTTPError(503, message)
    error.jupyterhub_message = message
    return error


class HostNetworkDockerSpawner(DockerSpawner):
    """Each server runs on the host network and listens on its own free port.

    Servers listen on 127.0.0.1; stopped containers are removed, but the
    workspace folder lives in a named volume, as the bucket does in production:
    a killed or restarted server finds its files again. The workspace hooks
    name containers after the App's server hash.
    """

    stack = EnvUnicode(
        "OPENHEXA_STACK",
        "openhexa-notebooks",
        help="""Name of this hub's stack (env OPENHEXA_STACK). Labels its containers
        (org.openhexa.notebooks.stack) and prefixes its volumes, so `make down` or a
        test removes only what its own hub started.""",
    ).tag(config=True)

    workspace_dir = Unicode(
        "/home/jovyan/workspace",
        help="Where the workspace volume is mounted in the server (the image's OPENHEXA_WORKSPACE_DIR).",
    ).tag(config=True)

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
        # `make down` finds the servers its hub started by these labels.
        return {"labels": {"org.openhexa.notebooks": "server", "org.openhexa.notebooks.stack": self.stack}}

    @default("volumes")
    def _volumes_default(self):
        # The default server's folder is the person's own; the workspace hooks
        # drop it from workspace servers, which get the workspace's instead.
        return {f"{self.stack}-home-{{username}}": self.workspace_dir}

    @default("remove")
    def _remove_default(self):
        return True

    @default("extra_host_config")
    def _extra_host_config_default(self):
        # The hub removes a stopped server's container (remove=True), not Docker
        # as it exits: a server that dies while starting leaves its log to read.
        return {"auto_remove": False}

    async def pull_image(self, image):
        try:
            await super().pull_image(image)
        except docker.errors.APIError:
            raise spawn_refused(
                f"The notebook image {image} is not on this machine and could not be pulled. "
                "An administrator needs to build or load it."
            ) from None

    async def start(self):
        if self.name:  # a workspace server: the workspace's folder, shared by its members
            self.volumes = {**self.volumes, f"{self.stack}-workspace-{{servername}}": self.workspace_dir}
        self.port = self.choose_port()
        started = await super().start()
        await self._until_up_or_exited()
        return started

    def choose_port(self) -> int:
        """A port free on 127.0.0.1 now; the server binds it a moment later."""
        return random_port()

    async def _until_up_or_exited(self):
        """Wait for our own server to answer, failing readably if its container exits first.

        On the host network a port can be taken between choosing and binding it;
        the server then exits, and whatever holds the port must not be taken for
        it: only an answer carrying JupyterHub's version header counts.
        """
        url = f"http://{self.ip}:{self.port}" + url_path_join(self.server.base_url, "api")
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.http_timeout
        while time.monotonic() < deadline:
            status = await self.poll()
            if status is not None:
                logs = await self.docker("logs", self.container_id, tail=3)
                last = logs.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise spawn_refused(f"Your notebook server stopped while starting (exit {status}): {last[0][:300]}")
            try:
                response = await client.fetch(url, request_timeout=2, raise_error=False)
                if response.headers.get("X-JupyterHub-Version"):
                    return
            except (OSError, HTTPClientError):
                pass  # not listening yet
            await asyncio.sleep(0.5)

    async def get_ip_and_port(self):
        return self.host_ip, self.port
