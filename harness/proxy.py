"""configurable-http-proxy as this project runs it (proxy/openhexa-proxy.mjs), alone; routes as JupyterHub adds them."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from harness.hub import PROXY_PATH
from harness.net import free_ports
from harness.process import Process


class Proxy:
    """The proxy in its own process, its REST API on a port of its own."""

    def __init__(self, process: Process, url: str, api_url: str, token: str):
        self.process, self.url, self.api_url, self.token = process, url, api_url, token

    @classmethod
    def start(cls, log_dir: Path, default_target: str, *flags: str, env: dict | None = None) -> Proxy:
        """Start it with ``default_target`` (the hub, as the chart's proxy pod has it) and more ``flags``."""
        port, api_port = free_ports(2)
        token = os.urandom(16).hex()
        args = ["configurable-http-proxy", "--ip=127.0.0.1", f"--port={port}", "--api-ip=127.0.0.1",
                f"--api-port={api_port}", f"--default-target={default_target}", *flags]  # fmt: skip
        process = Process.start(
            "proxy",
            args,
            log_dir / "proxy.log",
            env={
                **os.environ,
                "PATH": f"{PROXY_PATH}:{os.environ['PATH']}",
                "CONFIGPROXY_AUTH_TOKEN": token,
                **(env or {}),
            },
        )
        proxy = cls(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}", token)
        process.wait_ready(f"{proxy.url}/_chp_healthz")
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
