"""The mock App and a real hub laid out as a deployment is, on one machine: the App at
``app.example.org``, the hub at ``notebooks.example.org``, the App's session cookies on
``.example.org`` (its ``SESSION_COOKIE_DOMAIN`` and ``CSRF_COOKIE_DOMAIN``), so they reach the hub
and everything under it.

Every name under ``example.org`` resolves to 127.0.0.1 in the browser (``harness.browser``) and,
with ``harness.net.names_on_loopback``, in the tests' own process; everything listens on 127.0.0.1.
The hub runs this project's configuration with the hub tier's process spawner
(tests/hub/hub_config.py): each person's server is tests/hub/mock_server.py, which answers its
environment and echoes paths, so a browser test sees whose server answered. With ``subdomains``,
``SUBDOMAIN_HOST`` is the hub's URL: each person's servers are at ``u-...notebooks.example.org``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from harness.app import MockApp
from harness.hub import HUB_TIER_CONFIG, Hub
from harness.net import free_port, random_token

DOMAIN = "example.org"  # RFC 2606's: a registrable domain, so its names are one site to a browser
APP_HOST, HUB_HOST = f"app.{DOMAIN}", f"notebooks.{DOMAIN}"


@dataclass
class Site:
    app: MockApp
    hub: Hub

    @classmethod
    def start(cls, folder: Path, subdomains: bool = False, hub_env: dict | None = None, hub_args=None) -> Site:
        """Start both (``harness.net.names_on_loopback(DOMAIN)`` must be on: the tests' process reaches them
        by their names)."""
        port, token = free_port(), random_token()
        hub_url = f"http://{HUB_HOST}:{port}"
        app_env = {
            "SESSION_COOKIE_DOMAIN": f".{DOMAIN}",
            "CSRF_COOKIE_DOMAIN": f".{DOMAIN}",
            "MOCK_APP_TRUSTED_HOSTS": f"{APP_HOST},{HUB_HOST},127.0.0.1",
        }
        app = MockApp.start(
            folder / "app", hub_url=hub_url, hub_api_token=token, env=app_env, host=APP_HOST,
            hub_api_url=f"http://127.0.0.1:{port}",  # the App's backend is not a browser
        )  # fmt: skip
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
                extra_args=hub_args, host=HUB_HOST,
            )  # fmt: skip
        except BaseException:
            app.stop()
            raise
        return cls(app, hub)

    def server_url(self, name: str, server: str = "") -> str:
        """A person's server as the App links to it (the hub's host; with subdomains the hub sends the
        person on to their own)."""
        local, domain = name.split("@", 1)
        return f"{self.hub.url}/user/{quote(local)}@{domain}/" + (f"{server}/" if server else "")

    def stop(self):
        self.hub.stop()
        self.app.stop()
