"""DockerSpawner on the host network, for one machine (docker-compose, tests, benchmarks)."""

import asyncio
import contextlib
import os
import time
import weakref
from collections import deque

import docker
from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port, url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Unicode, default

from .errors import refusal
from .spawner_rules import ProfileList, escape_template
from .traits import EnvInt, EnvUnicode


def telling_line(logs: str) -> str:
    """The line of a server's last log lines that says why it stopped: its last error (a Jupyter
    ``[C ...]``/``[E ...]`` line or one saying ERROR), else its last line."""
    lines = [line.strip() for line in logs.splitlines() if line.strip()] or ["no output"]
    errors = [line for line in lines if line.startswith(("[C ", "[E ")) or "ERROR" in line]
    return (errors or lines)[-1][:300]


class StartSlots:
    """At most ``size`` servers start at once; the others wait their turn, first come first served.

    Dozens of servers starting together on a few cores all start slowly and
    time out together; started in turn, each is up in seconds.
    """

    def __init__(self, size: int):
        self.size = size
        self.starting = 0
        self.waiting: deque[asyncio.Future] = deque()

    def ahead_of(self, turn: asyncio.Future) -> int:
        """How many wait before ``turn``."""
        return self.waiting.index(turn) if turn in self.waiting else 0

    async def acquire(self, turn: asyncio.Future, timeout: float) -> None:
        """Take a slot, waiting at most ``timeout`` seconds (then TimeoutError)."""
        if self.starting < self.size and not self.waiting:
            self.starting += 1
            return
        self.waiting.append(turn)
        try:
            async with asyncio.timeout(timeout):
                await turn
        except BaseException:
            if turn.done() and not turn.cancelled():  # handed a slot as we gave up: pass it on
                self.release()
            elif turn in self.waiting:
                self.waiting.remove(turn)
            raise

    def release(self) -> None:
        """Hand the slot to the next in line, or free it."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.starting -= 1


def _target(volume) -> str:
    """Where a DockerSpawner volume is mounted: its value is the path, or a dict with ``bind``."""
    return volume.get("bind", "") if isinstance(volume, dict) else volume


# One queue per hub: a hub runs one event loop; keyed so tests' loops never share one.
_start_slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class HostNetworkDockerSpawner(ProfileList, DockerSpawner):
    """Each server runs on the host network and listens on its own free port.

    Servers listen on 127.0.0.1; stopped containers are removed, but the
    workspace folder outlives them: the App's folder of the bucket ('local'
    storage), or else a named volume of the person's in that workspace. A killed
    or restarted server finds its files again. The workspace hooks name
    containers, and so those volumes, after the App's server hash.
    """

    stack = EnvUnicode(
        "OPENHEXA_STACK",
        "openhexa-notebooks",
        help="""Name of this hub's stack (env OPENHEXA_STACK). Labels its containers
        (org.openhexa.notebooks.stack) and prefixes its volumes, so `make down` or a
        test removes only what its own hub started.""",
    ).tag(config=True)

    concurrent_starts = EnvInt(
        "DOCKER_CONCURRENT_STARTS",
        os.cpu_count() or 1,
        min=1,
        help="""How many servers start at once (env DOCKER_CONCURRENT_STARTS; default:
        the machine's cores). Others wait their turn and see their place in the line.""",
    ).tag(config=True, default_text="the machine's cores")

    workspace_dir = Unicode(
        "/home/jovyan/workspace",
        help="Where the workspace volume is mounted in the server (the image's OPENHEXA_WORKSPACE_DIR).",
    ).tag(config=True)

    workspace_host_path = Unicode(
        "",
        help="""The workspace's folder on the Docker host, bound at workspace_dir: the App's
        WORKSPACE_STORAGE_MOUNT_PATH for the 'local' storage engine (set by the spawn hooks).
        Empty: a Docker volume of the stack's, one per workspace.""",
    )

    _turn: asyncio.Future | None = None  # this spawner's place in the start line, while in it

    @default("start_timeout")
    def _start_timeout_default(self):
        # The wait for a start slot counts: 100 people at once on two cores.
        return 600

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
            raise refusal(
                503,
                f"The notebook image {image} is not on this machine and could not be pulled. "
                "An administrator needs to build or load it.",
            ) from None

    async def start(self):
        if self.name:
            self.volumes = self.workspace_volumes()
        slots = self._slots()
        await self._take_slot(slots)
        try:
            self.port = self.choose_port()
            started = await super().start()
            await self._until_up_or_exited()
        finally:
            slots.release()
        return started

    def workspace_volumes(self) -> dict:
        """A workspace server's volumes: its folder at workspace_dir, and whatever else it had.

        The folder is the App's for 'local', else a Docker volume named after the container,
        itself named after the App's server hash (one per person and workspace): names of
        workspaces that differ only in case, or two people's, can never meet in one volume.
        """
        volume = f"{self.stack}-workspace-{escape_template(self.object_name)}"
        source = escape_template(self.workspace_host_path) or volume
        others = {k: v for k, v in self.volumes.items() if _target(v) != self.workspace_dir}
        return {**others, source: {"bind": self.workspace_dir, "mode": "rw"}}

    def _slots(self) -> StartSlots:
        loop = asyncio.get_running_loop()
        if loop not in _start_slots:
            _start_slots[loop] = StartSlots(self.concurrent_starts)
        return _start_slots[loop]

    async def _take_slot(self, slots: StartSlots) -> None:
        """Wait for a start slot, leaving time to start the container within ``start_timeout``."""
        self._turn = asyncio.get_running_loop().create_future()
        patience = max(self.start_timeout - self.http_timeout - 30, 10)
        try:
            await slots.acquire(self._turn, patience)
        except TimeoutError:
            ahead = len(slots.waiting)
            raise refusal(
                503,
                f"This machine was still starting other servers after {patience:.0f}s "
                f"({slots.starting} starting, {ahead} waiting). Try again in a few minutes.",
            ) from None
        finally:
            self._turn = None

    async def progress(self):
        """While in line for a start slot, the place in it; then DockerSpawner's own progress."""
        said = None
        while (turn := self._turn) is not None and not turn.done():
            slots = self._slots()
            ahead = slots.ahead_of(turn) + slots.starting
            if ahead != said:
                said = ahead
                message = f"Waiting to start: {ahead} servers ahead of yours ({slots.size} start at a time)"
                yield {"progress": 10, "message": message}
            await asyncio.sleep(0.5)
        async for event in super().progress():
            yield event

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
        deadline = time.monotonic() + self.http_timeout
        next_inspect = 0.0
        # A client of its own, not queued behind the hub's requests. Knock every 0.1 s
        # (a refused connection costs nothing); ask Docker every second.
        with contextlib.closing(AsyncHTTPClient(force_instance=True)) as client:
            while (now := time.monotonic()) < deadline:
                if now >= next_inspect:
                    next_inspect = now + 1
                    status = await self.poll()
                    if status is not None:
                        last = await self._last_log_line()
                        raise refusal(503, f"Your notebook server stopped while starting (exit {status}): {last}")
                try:
                    response = await client.fetch(url, request_timeout=2, raise_error=False)
                    if response.headers.get("X-JupyterHub-Version"):
                        return
                except (OSError, HTTPClientError):
                    pass  # not listening yet
                await asyncio.sleep(0.1)
        last = await self._last_log_line()
        raise refusal(503, f"Your notebook server did not answer within {self.http_timeout:.0f}s: {last}")

    async def _last_log_line(self) -> str:
        logs = await self.docker("logs", self.container_id, tail=20)
        return telling_line(logs.decode(errors="replace"))

    async def get_ip_and_port(self):
        return self.host_ip, self.port
