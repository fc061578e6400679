"""A real JupyterHub with this project's configuration, and the App's calls to its REST API."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from harness import ROOT
from harness.app import app_cookie_header
from harness.net import free_ports, random_token
from harness.process import Process
from harness.wait import WaitTimeout, wait_until

# The hub configurations the tiers run: the project's own, loaded by the hub tier's (a
# process spawner) and by the Docker spawner's of the fault tests.
HUB_TIER_CONFIG = ROOT / "tests" / "hub" / "hub_config.py"
DOCKER_HUB_CONFIG = ROOT / "tests" / "e2e" / "docker_hub_config.py"
# The chart's values (CHART_VALUES): the profiles and spawn limits production has.
CHART_VALUES = ROOT / "chart-values" / "values.yaml"
# configurable-http-proxy as the project's images run it (proxy/openhexa-proxy.mjs, which
# servers reach with no App cookie), first on the PATH where JupyterHub looks for it;
# node_modules/.bin has the Node.js it runs on (package-lock.json).
PROXY_PATH = f"{ROOT / 'proxy' / 'bin'}:{ROOT / 'node_modules' / '.bin'}"


class HubServers:
    """A person's servers through a hub's REST API (``api``, as the App's service)."""

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        raise NotImplementedError

    def servers(self, name: str) -> dict:
        """The person's servers by name ("" the default one); none when the person is unknown."""
        response = self.api("GET", f"/users/{quote(name, safe='')}")
        return response.json().get("servers", {}) if response.status_code == 200 else {}

    def server(self, name: str, server: str = "") -> dict | None:
        """The hub's model of one server, or None when it does not exist."""
        return self.servers(name).get(server)

    def launch_as_app(self, name: str, server: str, session: requests.Session, body: dict | None = None):
        """What the App does to open a workspace: create the user (409 when known), then POST the
        named server with the person's App cookies and the App's token, with ``body`` as the App sends
        ``{"profile": ...}``, or no body at all for a workspace without a profile; returns that answer."""
        user = quote(name, safe="")
        self.api("POST", f"/users/{user}")
        cookies = {"Cookie": app_cookie_header(session)}
        return self.api("POST", f"/users/{user}/servers/{server}", json=body, headers=cookies)

    def wait_ready(self, name: str, server: str = ""):
        """Wait until the person's server is ready; return the hub's model of it."""

        def ready():
            model = self.server(name, server)
            return model if model and model.get("ready") else None

        return wait_until(ready, f"{name}'s server {server!r} to be ready")

    def stop_servers(self, name: str):
        """Stop every server of the person, and wait until they are gone."""
        user = quote(name, safe="")
        for server in self.servers(name):
            path = f"/users/{user}/servers/{quote(server)}" if server else f"/users/{user}/server"
            self.api("DELETE", path)
        wait_until(lambda: not self.servers(name), f"{name}'s servers to stop", timeout=60)


@dataclass
class Hub(HubServers):
    """A real JupyterHub (with its proxy) in its own process group."""

    process: Process
    url: str  # the proxy, as people reach the hub
    api_token: str
    data_dir: Path

    @classmethod
    def start(
        cls,
        app_url: str,
        data_dir: Path,
        config: Path,
        extra_env: dict | None = None,
        port: int | None = None,
        api_token: str | None = None,
        extra_args: list[str] | None = None,
        host: str = "127.0.0.1",
    ) -> Hub:
        """Start a hub for the App at ``app_url``; ``port`` and ``api_token`` when the App must know them first;
        ``extra_args``: more command-line configuration (``--Spawner.x=y``); ``host``: the name people reach
        it by (it listens on 127.0.0.1)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        token = api_token or random_token()
        for attempt in (1, 2):
            try:
                return cls._start(app_url, data_dir, config, extra_env, port, token, extra_args, host)
            except WaitTimeout as failure:
                # A port chosen free can be taken before the hub binds it (a server another
                # test started, say): the hub exits at once. Once more, on new ports.
                if attempt == 2 or "exited" not in str(failure):
                    raise
                print(f"hub exited while starting; starting it again on other ports: {str(failure)[:300]}")
        raise AssertionError("unreachable")

    @classmethod
    def _start(cls, app_url, data_dir, config, extra_env, port, token, extra_args, host) -> Hub:
        public, hub_port, api_port = free_ports(3)
        port = port or public
        env = {
            **os.environ,
            "PATH": f"{PROXY_PATH}:{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex(),
            "HUB_API_TOKEN": token,
            # auth_state (which App session each browser's login came from) is encrypted with it.
            "JUPYTERHUB_CRYPT_KEY": random_token(),
            **app_settings(app_url),
            **(extra_env or {}),
        }
        args = [
            sys.executable, "-m", "jupyterhub", "-f", str(config),
            "--ip=127.0.0.1", f"--port={port}",
            "--JupyterHub.hub_ip=127.0.0.1", f"--JupyterHub.hub_port={hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
            f"--ConfigurableHTTPProxy.pid_file={data_dir / 'proxy.pid'}",
            f"--JupyterHub.db_url=sqlite:///{data_dir / 'jupyterhub.sqlite'}",
            f"--JupyterHub.cookie_secret_file={data_dir / 'cookie_secret'}",
            *(extra_args or []),
        ]  # fmt: skip
        process = Process.start("hub", args, data_dir / "hub.log", env=env, cwd=data_dir)
        hub = cls(process, f"http://{host}:{port}", token, data_dir)
        try:
            process.wait_ready(f"{hub.url}/hub/api/")
        except BaseException:
            hub.stop()  # a hub that never answered, and its proxy, are not left running
            raise
        return hub

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's REST API as the OpenHexa App's service."""
        headers = {"Authorization": f"token {self.api_token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def database_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.data_dir.glob("jupyterhub.sqlite*"))

    def stop(self):
        self.process.stop(timeout=30)
        # The proxy runs in a session of its own; a hub that exited by itself (its
        # consecutive failure limit) left it running, its pid in the file.
        pid_file = self.data_dir / "proxy.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def own_token(hub_url: str, session: requests.Session, name: str, note: str = "my script") -> str:
    """A token a person makes for themselves on the hub's REST API, with their browser's cookies (the
    hub's login and its ``_xsrf``, which a visit to /hub/home sets)."""
    session.get(f"{hub_url}/hub/home", timeout=30)
    response = session.post(
        f"{hub_url}/hub/api/users/{quote(name, safe='@')}/tokens",
        json={"note": note},
        headers={"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf", "")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def app_settings(app_url: str) -> dict[str, str]:
    """The hub's environment for an App at ``app_url``, as deployments set it."""
    return {
        "AUTHENTICATION_URL": f"{app_url}/notebooks/authenticate/",
        "DEFAULT_CREDENTIALS_URL": f"{app_url}/notebooks/default-credentials/",
        "WORKSPACE_CREDENTIALS_URL": f"{app_url}/workspaces/credentials/",
        "LOGOUT_REDIRECT_URL": f"{app_url}/login",
        "HEXA_SERVER_URL": app_url,
        "CONTENT_SECURITY_POLICY": f"frame-ancestors 'self' {app_url}",
    }
