"""The mock App and a real hub as one browser reaches them on ``localhost``, optionally with per-person origins.

The hub runs this project's configuration with the hub tier's process spawner (tests/hub/hub_config.py):
each person's server is tests/hub/mock_server.py, which answers its environment and echoes paths,
so a browser test sees whose server answered. With ``subdomains``, ``SUBDOMAIN_HOST`` is
``http://localhost:<port>``: each person's servers are at ``http://u-...localhost:<port>``, which
Chromium resolves to loopback by itself (Python does not: only browsers go there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from harness.app import MockApp
from harness.hub import HUB_TIER_CONFIG, Hub
from harness.net import free_port, random_token


@dataclass
class Site:
    app: MockApp
    hub: Hub

    @classmethod
    def start(cls, folder: Path, subdomains: bool = False, hub_env: dict | None = None, hub_args=None) -> Site:
        port, token = free_port(), random_token()
        hub_url = f"http://localhost:{port}"
        app = MockApp.start(folder / "app", hub_url=hub_url, hub_api_token=token, host="localhost")
        env = {
            # The App as the browser reaches it: its login page, and its pages that frame the hub.
            "APP_LOGIN_URL": f"{app.browser_url}/login",
            "LOGOUT_REDIRECT_URL": f"{app.browser_url}/login",
            "CONTENT_SECURITY_POLICY": f"frame-ancestors 'self' {app.browser_url} {app.frontend_url}",
            **({"SUBDOMAIN_HOST": hub_url} if subdomains else {}),
            **(hub_env or {}),
        }
        try:
            hub = Hub.start(
                app.url, folder / "hub", HUB_TIER_CONFIG, extra_env=env, port=port, api_token=token,
                extra_args=hub_args, host="localhost",
            )  # fmt: skip
        except BaseException:
            app.stop()
            raise
        return cls(app, hub)

    def server_url(self, name: str, server: str = "") -> str:
        """A person's server as the App links to it (the hub's host; with subdomains the hub sends the
        browser on to the person's own)."""
        local, domain = name.split("@", 1)
        return f"{self.hub.url}/user/{quote(local)}@{domain}/" + (f"{server}/" if server else "")

    def stop(self):
        self.hub.stop()
        self.app.stop()
