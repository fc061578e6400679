"""configurable-http-proxy as this project runs it (proxy/openhexa-proxy.mjs), alone; routes as JupyterHub adds them.

From the repository (what the hub tier runs) or in an image (the chart's proxy image, the local
hub's), on the host network; and requests sent exactly as written, for what reaches a server.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import requests

from harness.hub import PROXY_PATH
from harness.net import StandInServer, free_ports
from harness.process import Process


class Proxy:
    """The proxy in its own process (or container), its REST API on a port of its own."""

    def __init__(self, process: Process, url: str, api_url: str, token: str, container: str | None = None):
        self.process, self.url, self.api_url, self.token, self.container = process, url, api_url, token, container

    @classmethod
    def start(
        cls, log_dir: Path, default_target: str, *flags: str, env: dict | None = None, image: str | None = None
    ) -> Proxy:
        """Start it with ``default_target`` (the hub, as the chart's proxy pod has it) and more ``flags``;
        ``image``: run the image's ``configurable-http-proxy`` instead of the repository's."""
        port, api_port = free_ports(2)
        token = os.urandom(16).hex()
        settings = {"CONFIGPROXY_AUTH_TOKEN": token, **(env or {})}
        flags = ("--ip=127.0.0.1", f"--port={port}", "--api-ip=127.0.0.1", f"--api-port={api_port}",
                 f"--default-target={default_target}", *flags)  # fmt: skip
        container = None
        if image:
            container = f"openhexa-proxy-test-{port}"
            settings_args = [arg for name in settings for arg in ("-e", name)]
            args = ["docker", "run", "--rm", "--name", container, "--network", "host", *settings_args,
                    "--entrypoint", "configurable-http-proxy", image, *flags]  # fmt: skip
        else:
            args = ["configurable-http-proxy", *flags]
        process_env = {**os.environ, "PATH": f"{PROXY_PATH}:{os.environ['PATH']}", **settings}
        process = Process.start("proxy", args, log_dir / "proxy.log", env=process_env)
        proxy = cls(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}", token, container)
        try:
            process.wait_ready(f"{proxy.url}/_chp_healthz")
        except BaseException:
            proxy.stop()
            raise
        return proxy

    def add_route(self, routespec: str, target: str, **data):
        """Add a route as JupyterHub does: its target and data ({"user": ..., "server_name": ...}, {"hub": True})."""
        response = requests.post(
            f"{self.api_url}/api/routes{routespec}",
            json={"target": target, **data},
            headers={"Authorization": f"token {self.token}"},
            timeout=10,
        )
        response.raise_for_status()

    def stop(self):
        self.process.stop()
        if self.container:
            with contextlib.suppress(Exception):
                subprocess.run(["docker", "rm", "-f", self.container], capture_output=True, timeout=60)


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def cookies_received(stand_in: StandInServer) -> dict[str, str]:
    """The cookies the last request that reached ``stand_in`` carried (the proxy sends header names in lowercase)."""
    headers = {name.lower(): value for name, value in stand_in.requests[-1].headers.items()}
    return dict(pair.split("=", 1) for pair in headers.get("cookie", "").split("; ") if pair)


def send_raw(url: str, path: str, headers: dict) -> int:
    """GET ``path`` exactly as written (no client normalises it), as a browser or a script sends it; the status."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()
