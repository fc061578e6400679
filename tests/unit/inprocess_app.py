"""The mock App in-process: its own tornado application, reached through an injected HTTP client.

The authenticator's ``app_client`` trait takes an ``AppClient``; the one here sends its
requests to the mock App's backend (``mockapp``, the App's twin) without a socket: each
request becomes a tornado request handled by mockapp's own handlers, so statuses,
redirects, content types, CSRF and the test switches are exactly the mock App's. The
transport answers as tornado's client does: header lines to ``header_callback``, the
body to ``streaming_callback``, a closed stream past ``max_body_size``, a timeout past
``request_timeout``, a refused connection for any other host.

The hub's side of a request (``handler``) is a tornado request with the cookies a browser
sends; :func:`login_outcome` says what ``/hub/login`` does with it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlsplit

from tornado import httputil, web
from tornado.httpclient import HTTPResponse
from tornado.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError

from harness.app import DEMO, FIXTURE_FILE
from harness.hub import app_settings
from mockapp.app import make_apps
from mockapp.state import Settings
from openhexa_hub.app_client import MAX_ANSWER_BYTES, AppClient, NotLoggedIn
from openhexa_hub.authenticator import REQUIRED, OpenHexaAuthenticator

APP_URL = "http://127.0.0.1:8000"  # the mock App's backend, as the hub reaches it
HUB_HOST = "127.0.0.1:8001"  # the hub, as browsers reach it
CHUNK = 64 * 1024


class _Capture(httputil.HTTPConnection):
    """The server side of one in-memory exchange: keeps what the handler writes."""

    def __init__(self):
        self.context = SimpleNamespace(remote_ip="127.0.0.1", protocol="http")
        self.start_line = None
        self.headers = httputil.HTTPHeaders()
        self.body = bytearray()
        self.done = asyncio.get_running_loop().create_future()

    def set_close_callback(self, callback):
        pass

    def _written(self):
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def write_headers(self, start_line, headers, chunk=None):
        self.start_line, self.headers = start_line, headers
        self.body.extend(chunk or b"")
        return self._written()

    def write(self, chunk):
        self.body.extend(chunk)
        return self._written()

    def finish(self):
        if not self.done.done():
            self.done.set_result(None)


class InProcessHTTPClient:
    """Tornado's ``AsyncHTTPClient`` as ``AppClient`` uses it, routed to a tornado application in memory."""

    def __init__(self, application: web.Application, url: str = APP_URL, max_body_size: int = MAX_ANSWER_BYTES + 1):
        self.application = application
        self.netloc = urlsplit(url).netloc
        self.max_body_size = max_body_size
        self.fetched = 0

    def close(self):
        pass

    async def fetch(self, request, raise_error: bool = True) -> HTTPResponse:
        parts = urlsplit(request.url)
        if parts.netloc != self.netloc:
            raise ConnectionRefusedError(111, "Connection refused")
        self.fetched += 1
        try:
            capture = await asyncio.wait_for(self._serve(request, parts), request.request_timeout)
        except TimeoutError:
            raise HTTPTimeoutError("Timeout during request") from None
        code, reason = capture.start_line.code, capture.start_line.reason
        if request.header_callback is not None:
            request.header_callback(f"HTTP/1.1 {code} {reason}\r\n")
            for name, value in capture.headers.get_all():
                request.header_callback(f"{name}: {value}\r\n")
            request.header_callback("\r\n")
        length = capture.headers.get("Content-Length")
        if length is not None and int(length) > self.max_body_size:
            raise HTTPStreamClosedError("Stream closed")  # tornado: "Content-Length too long"
        body = bytes(capture.body)
        if request.streaming_callback is not None:
            for start in range(0, len(body), CHUNK):
                if start + CHUNK > self.max_body_size:
                    raise HTTPStreamClosedError("Stream closed")
                request.streaming_callback(body[start : start + CHUNK])
            body = b""
        response = HTTPResponse(request, code, headers=capture.headers, buffer=io.BytesIO(body), reason=reason)
        if raise_error and response.error:
            raise response.error
        return response

    async def _serve(self, request, parts) -> _Capture:
        capture = _Capture()
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        headers = httputil.HTTPHeaders(request.headers)
        headers["Host"] = parts.netloc
        server_request = httputil.HTTPServerRequest(
            start_line=httputil.RequestStartLine(request.method, uri, "HTTP/1.1"),
            headers=headers,
            body=body,
            connection=capture,
        )
        self.application.find_handler(server_request).execute()
        await capture.done
        return capture


class InProcessApp:
    """The mock App's backend in memory, with the switches ``harness.app.MockApp`` has over HTTP."""

    def __init__(self, **settings):
        conf = Settings(
            fixtures=FIXTURE_FILE,
            test_controls=True,
            storage_engine="s3",  # a cloud engine, as the hub tier's mock App has
            s3_endpoint_url="http://127.0.0.1:9",
            **settings,
        )
        self.url = APP_URL
        self.backend, _ = make_apps(conf, APP_URL)
        self.state = self.backend.settings["state"]
        self.http = InProcessHTTPClient(self.backend)

    def client(self, connect_timeout: float = 1.0, read_timeout: float = 2.0) -> AppClient:
        """An ``AppClient`` for the authenticator's ``app_client`` trait, answered by this App."""
        log = logging.getLogger("openhexa-in-process")
        return AppClient(connect_timeout=connect_timeout, read_timeout=read_timeout, log=log, http_client=self.http)

    def authenticator(self, read_timeout: float = 2.0, **traits) -> OpenHexaAuthenticator:
        """The real authenticator, its App calls answered by this App."""
        client = self.client(read_timeout=read_timeout)
        return OpenHexaAuthenticator(**app_traits(self.url), app_client=client, **traits)

    # -- the switches (``/_mock/...``) ---------------------------------------------

    def set_mode(self, mode: str = "ok", delay: float = 0.0):
        self.state.mode, self.state.delay, self.state.answer = mode, delay, None

    def answer(self, status: int = 200, body: str = "", headers: dict | None = None, path: str | None = None):
        self.state.answer = {"status": status, "headers": dict(headers or {}), "body": body, "for": path}

    def calls(self) -> list[dict]:
        return list(self.state.calls)

    def clear_calls(self):
        self.state.calls.clear()

    def login(self, who: str) -> SimpleNamespace:
        """A browser's App cookies after logging in as a demo person (``alice``, ``bob``...)."""
        email, password = DEMO[who]
        user = self.state.find_user(email)
        assert user is not None and user.password == password
        return SimpleNamespace(cookies={"sessionid": self.state.open_session(user), "csrftoken": secrets.token_hex(16)})


def app_traits(app_url: str) -> dict[str, str]:
    """The authenticator's required settings for an App at ``app_url``: ``harness.hub.app_settings``
    by trait name (the traits' environment variables name them there)."""
    traits = OpenHexaAuthenticator.class_traits()
    by_env = {traits[name].metadata["env"]: name for name in REQUIRED}
    return {by_env[env]: value for env, value in app_settings(app_url).items() if env in by_env}


def cookie_header(cookies: dict) -> str:
    jar = SimpleCookie()
    for name, value in cookies.items():
        jar[name] = value
    return "; ".join(morsel.OutputString() for morsel in jar.values())


class HubUser:
    """A hub user as the authenticator sees one: a name, an id, an auth_state (kept in memory here)."""

    def __init__(self, name: str, user_id: int = 1):
        self.name, self.id, self.auth_state = name, user_id, None

    async def get_auth_state(self):
        return self.auth_state


class HubHandler:
    """A request to the hub as tornado parses it (the raw ``Cookie`` header a browser sent), with what the
    authenticator uses of JupyterHub's ``BaseHandler``: the browser's session id, its users, its cookies."""

    def __init__(self, cookie: str | None = None, uri: str = "/hub/login", users: dict | None = None):
        headers = httputil.HTTPHeaders({"Host": HUB_HOST})
        if cookie is not None:
            headers["Cookie"] = cookie
        self.request = httputil.HTTPServerRequest(
            start_line=httputil.RequestStartLine("GET", uri, "HTTP/1.1"), headers=headers
        )
        self.settings: dict = {}
        self.users = users if users is not None else {}
        self.session_id: str | None = (
            self.request.cookies.get("jupyterhub-session-id").value
            if ("jupyterhub-session-id" in self.request.cookies)
            else None
        )
        self.cleared = False  # clear_login_cookie was called: this browser is logged out

    def get_session_cookie(self):
        return self.session_id

    def set_session_cookie(self):
        self.session_id = secrets.token_hex(16)
        return self.session_id

    def find_user(self, name):
        return self.users.get(name)

    def clear_login_cookie(self):
        self.cleared = True


def hub_handler(cookie: str | None = None, uri: str = "/hub/login", users: dict | None = None) -> HubHandler:
    """A request to the hub as tornado parses it: the raw ``Cookie`` header a browser sent."""
    return HubHandler(cookie, uri, users)


def login_outcome(authenticator: OpenHexaAuthenticator, cookie: str | None) -> tuple:
    """What ``/hub/login`` (``AppLoginHandler``) does with these cookies, without a hub.

    ``("login", name)``: a login cookie for ``name``; ``("app-login", None)``: a 302 to the
    App's login page, no login; ``(status, message)``: that error page.
    """

    async def run():
        try:
            user = await authenticator.get_authenticated_user(hub_handler(cookie), None)
        except NotLoggedIn:
            return "app-login", None
        except web.HTTPError as error:
            return error.status_code, getattr(error, "jupyterhub_message", error.log_message)
        return ("login", user["name"]) if user else ("app-login", None)

    return asyncio.run(run())
