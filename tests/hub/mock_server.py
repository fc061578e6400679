"""The hub tier's single-user server: a few lines of tornado that behave like the real one where it matters.

Like ``jupyterhub-singleuser`` with OpenHexa's ``jupyter/jupyter_server_config.py``, it

- lets in only who the hub says may access this server (OAuth with the hub, or a token
  with ``access:servers`` on it): anyone else gets 403;
- sends the ``CONTENT_SECURITY_POLICY`` it is given on every answer;
- sets its login cookie with the hub's cookie options (``JUPYTERHUB_COOKIE_OPTIONS``).

``MOCK_SERVER_EXIT=<code>`` makes it exit at once, as a server that cannot start.
``<prefix>env`` answers the server's environment as JSON (how tests see what a server
received); ``<prefix>api`` answers a version to anyone, as Jupyter Server does; anything
else echoes the path.
"""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

# How long a server reuses the hub's answer about a login token: the image's
# jupyter/jupyter_server_config.py sets HubOAuth.cache_max_age to it (tests/hub/test_headers.py checks).
TOKEN_CACHE_SECONDS = 5


class Page(HubOAuthenticated, web.RequestHandler):
    def set_default_headers(self):
        self.set_header("Content-Security-Policy", os.environ.get("CONTENT_SECURITY_POLICY", "frame-ancestors 'self'"))


class EnvHandler(Page):
    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(dict(os.environ)))


class EchoHandler(Page):
    @web.authenticated
    def get(self):
        self.finish(self.request.path)


class VersionHandler(Page):
    """``<prefix>api``: like Jupyter Server's, open to anyone (health checks use it)."""

    def get(self):
        self.finish({"version": "mock"})


class CallbackHandler(HubOAuthCallbackHandler):
    def set_default_headers(self):
        self.set_header("Content-Security-Policy", os.environ.get("CONTENT_SECURITY_POLICY", "frame-ancestors 'self'"))


async def main():
    if os.environ.get("MOCK_SERVER_EXIT"):  # a server that cannot start: exits with that code
        raise SystemExit(int(os.environ["MOCK_SERVER_EXIT"]))
    HubOAuth.instance(cache_max_age=TOKEN_CACHE_SECONDS)  # the one HubOAuthenticated handlers use
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    url = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    app = web.Application(
        [
            (f"{prefix}oauth_callback", CallbackHandler),
            (f"{prefix}env", EnvHandler),
            (f"{prefix}api", VersionHandler),
            (r".*", EchoHandler),
        ],
        cookie_secret=os.urandom(32),
        login_url=f"{prefix}oauth_start",  # unused: HubOAuthenticated redirects to the hub
    )
    app.listen(url.port, url.hostname)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
