"""Containers of the images under test: tracked, always removed, their logs kept."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from harness.wait import SCALE, wait_until

# The single-user image under test (`make build` builds it).
NOTEBOOK_IMAGE = os.environ.get("NOTEBOOK_IMAGE", "blsq/openhexa-base-notebook:dev")
# The hub image (production; ``-local`` adds DockerSpawner and the proxy) and the chart's proxy
# image, as `make build` names them.
HUB_IMAGE = f"{os.environ.get('IMAGE_PREFIX', 'blsq/')}openhexa-jupyterhub:{os.environ.get('TAG', 'dev')}"
PROXY_IMAGE = f"{os.environ.get('IMAGE_PREFIX', 'blsq/')}openhexa-proxy:{os.environ.get('TAG', 'dev')}"

TIMED_OUT = 124  # timeout(1)'s exit status when it stopped the command


class ExecFailed(AssertionError):
    """A command run in a container failed (or ran out of time); the message has its output."""


class TrackedContainer:
    """Containers of one image for one test, on the host network; all removed by ``remove_all``.

    Three verbs, as in Jupyter Docker Stacks' tests: ``run_detached``,
    ``run_and_wait`` (to completion, with its logs) and ``exec`` (wrapped in
    ``timeout``, since the Docker SDK's exec has none).
    """

    def __init__(self, client, image: str, **defaults):
        self.client = client
        self.image = image
        self.defaults = {"network_mode": "host", **defaults}
        self.containers = []

    def run_detached(self, **kwargs):
        container = self.client.containers.run(self.image, detach=True, **{**self.defaults, **kwargs})
        self.containers.append(container)
        return container

    def run_and_wait(self, timeout: float = 120, expect_exit: int | None = 0, **kwargs) -> tuple[int, str]:
        container = self.run_detached(**kwargs)
        status = container.wait(timeout=timeout * SCALE)["StatusCode"]
        logs = container.logs().decode(errors="replace")
        if expect_exit is not None:
            assert status == expect_exit, f"exit {status}, expected {expect_exit}:\n{logs[-3000:]}"
        return status, logs

    def exec(self, container, command: list[str], timeout: int = 60, **kwargs) -> str:
        """Run ``command`` in ``container``; its output. Raises ExecFailed on a non-zero exit or a timeout."""
        status, output = self.exec_status(container, command, timeout, **kwargs)
        if status != 0:
            raise ExecFailed(f"{command} exited {status} in {container.short_id}:\n{output[-3000:]}")
        return output

    def exec_status(self, container, command: list[str], timeout: int = 60, **kwargs) -> tuple[int, str]:
        """Run ``command``, whose failure the caller judges; (exit status, output). Raises on a timeout."""
        timeout = round(timeout * SCALE)
        result = container.exec_run(["timeout", str(timeout), *command], **kwargs)
        output = result.output.decode(errors="replace")
        if result.exit_code == TIMED_OUT:
            raise ExecFailed(f"{command} did not finish within {timeout}s in {container.short_id}:\n{output[-3000:]}")
        return result.exit_code, output

    def remove_all(self):
        for container in self.containers:
            with contextlib.suppress(Exception):  # already gone
                container.remove(force=True)
        self.containers.clear()


# A container's own HEALTHCHECK command, run every second from its start: healthy as soon as it passes.
FAST_HEALTHCHECK = {"interval": 1_000_000_000, "start_period": 0}


def wait_healthy(container, what: str, timeout: float = 90) -> None:
    """Wait until Docker reports ``container`` healthy (its HEALTHCHECK passed)."""

    def health():
        container.reload()
        return container.attrs["State"].get("Health", {}).get("Status") == "healthy"

    wait_until(health, f"{what}'s healthcheck to pass", timeout)


def remove_spawned(client, stack: str):
    """Remove the servers a hub of ``stack`` (OPENHEXA_STACK) started, and their volumes."""
    for container in client.containers.list(all=True, filters={"label": f"org.openhexa.notebooks.stack={stack}"}):
        with contextlib.suppress(Exception):  # already gone
            container.remove(force=True)
    for volume in client.volumes.list(filters={"name": f"{stack}-"}):
        with contextlib.suppress(Exception):
            volume.remove(force=True)


class LogRecorder:
    """Every log line of every server a hub starts, kept even after the hub removes its container.

    Follows Docker's events; each server that starts is followed until it stops. ``files``
    lists the logs of hubs run as processes, read when ``text()`` is called.
    """

    def __init__(self, client):
        self.client = client
        self.logs: dict[str, list[bytes]] = {}
        self.files: list[Path] = []
        self.events = client.events(decode=True, filters={"event": "start", "label": "org.openhexa.notebooks=server"})
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        with contextlib.suppress(Exception):  # the event stream closes on stop()
            for event in self.events:
                threading.Thread(target=self._follow, args=(event["id"],), daemon=True).start()

    def _follow(self, container_id: str):
        chunks = self.logs.setdefault(container_id, [])
        with contextlib.suppress(Exception):  # the container went away
            for chunk in self.client.containers.get(container_id).logs(stream=True, follow=True):
                chunks.append(chunk)

    def text(self) -> str:
        containers = [b"".join(chunks).decode(errors="replace") for chunks in list(self.logs.values())]
        return "\n".join(containers + [path.read_text(errors="replace") for path in self.files if path.exists()])

    def stop(self):
        self.events.close()


# -- the docker-compose stack and the browser ---------------------------------------
