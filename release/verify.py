"""Pull each image back by digest and start it: the notebook serves /api, the hub and the proxy their health checks."""

from __future__ import annotations

import contextlib
import os
import subprocess

from harness.hub import app_settings
from harness.net import StandInServer, answers_ok, free_port, random_token
from harness.wait import WaitTimeout, wait_until
from release import ReleaseError, run, sbom
from release.images import Image, look_inside
from release.oci import RegistryAPI
from release.registry import Registry

HUB_CONFIG = "/usr/local/etc/jupyterhub/openhexa/jupyterhub_config.py"
NOWHERE = "http://127.0.0.1:9"  # the App, which a hub needs only once someone logs in
START_TIMEOUT = 120


def pinned(registry: Registry, image: Image) -> str:
    return f"{registry.host}/{image.repository}@{image.digest}"


def verify(registry: Registry, image: Image) -> None:
    """Pull ``image`` back by its digest, check its SBOM against what is inside it, and start it on a
    free port until it answers."""
    ref = pinned(registry, image)
    run("docker", "pull", "-q", ref)
    check_sbom(registry, image, ref)
    port = free_port()
    with contextlib.ExitStack() as stack:
        if image.key == "notebook":
            command = ["notebook", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1"]
            url, env = f"http://127.0.0.1:{port}/api", []
        elif image.key == "proxy":
            command, env = proxy_command(port)
            url = f"http://127.0.0.1:{port}/_chp_healthz"
        else:
            proxy_api = stack.enter_context(proxy_api_stand_in())
            command, env = hub_command(port, proxy_api.url)
            url = f"http://127.0.0.1:{port}/hub/health"
        start_and_wait(ref, command, env, url, f"{image.repository} started from its digest")


def check_sbom(registry: Registry, image: Image, ref: str) -> None:
    """The SBOM attached to the image's digest lists exactly what the image pulled back by it holds."""
    sbom.check(RegistryAPI(registry.host), image.repository, image.digest, look_inside(ref, image.key))


def proxy_api_stand_in() -> StandInServer:
    """A stand-in for the proxy's REST API, which the hub needs to start.

    The hub image ships no proxy: in the chart, configurable-http-proxy is its
    own pod. This answers the hub's route calls so the hub can come up alone.
    """
    statuses = {"GET": 200, "POST": 201, "DELETE": 204}
    return StandInServer(lambda request: (statuses.get(request.method, 200), {}, {} if request.method == "GET" else ""))


def hub_command(port: int, proxy_api: str) -> tuple[list[str], list[str]]:
    """The hub on ``port`` with every required setting, its App nowhere, its proxy at ``proxy_api``."""
    settings = {
        "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex(),
        **app_settings(NOWHERE),
        "HUB_API_TOKEN": random_token(),
        "JUPYTERHUB_CRYPT_KEY": random_token(),
        "OPENHEXA_SPAWNER": "kubernetes",
    }
    env = [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]
    command = [
        "jupyterhub", "-f", HUB_CONFIG,
        "--JupyterHub.hub_ip=127.0.0.1", f"--JupyterHub.hub_port={port}",
        "--ConfigurableHTTPProxy.should_start=False", f"--ConfigurableHTTPProxy.api_url={proxy_api}",
        "--JupyterHub.db_url=sqlite:///:memory:",
    ]  # fmt: skip
    return command, env


def proxy_command(port: int) -> tuple[list[str], list[str]]:
    """The proxy's flags as the chart's proxy Deployment gives them, on loopback and free ports."""
    command = ["--ip=127.0.0.1", f"--port={port}", "--api-ip=127.0.0.1", f"--api-port={free_port()}",
               f"--default-target={NOWHERE}", f"--error-target={NOWHERE}/hub/error"]  # fmt: skip
    return command, ["-e", f"CONFIGPROXY_AUTH_TOKEN={os.urandom(16).hex()}"]


def start_and_wait(ref: str, command: list[str], env: list[str], url: str, what: str) -> None:
    """Run ``ref`` on the host network until ``url`` answers 200; always remove it."""
    container = run("docker", "run", "-d", "--network", "host", *env, ref, *command)
    try:
        wait_until(lambda: answers_ok(url), f"{what} at {url}", timeout=START_TIMEOUT, interval=1)
    except WaitTimeout:
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        raise ReleaseError(f"{ref} did not start:\n{(logs.stdout + logs.stderr)[-3000:]}") from None
    finally:
        run("docker", "rm", "-f", container, check=False)
