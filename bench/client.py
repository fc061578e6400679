"""One simulated person, over HTTP and a kernel websocket (tornado, asynchronous).

The journey is the one people make: log in to the App (``sessionid``, ``csrftoken``), open the hub
(``/hub/login`` asks the App who they are), start a server (their default one through the hub's
REST API, or a workspace's through the App's ``launchNotebookServer``, asked every second as the
App's notebooks page does; the spawn hook fetches their credentials from the App with their
cookies), run code in a kernel, stop the server. Every request goes to 127.0.0.1 and every wait
has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode, urlsplit

from tornado import websocket
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

REQUEST_TIMEOUT = 120.0


class JourneyError(Exception):
    """A step of the journey went wrong; the message is the reason counted in the results."""


def configure_http(max_clients: int) -> None:
    """Let tornado's client keep ``max_clients`` requests in flight (the default is 10)."""
    AsyncHTTPClient.configure(None, max_clients=max_clients)


@dataclass
class CookieJar:
    """Cookies by name, with their path; the App, the hub and the servers share one host."""

    cookies: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, path)

    def update(self, response: HTTPResponse) -> None:
        for header in response.headers.get_list("Set-Cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = (morsel.value, morsel["path"] or "/")

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, (value, _) in self.cookies.items())

    def value(self, name: str) -> str | None:
        found = self.cookies.get(name)
        return found[0] if found else None


@dataclass
class Person:
    """A bench user and their session: App and hub cookies, then a hub API token."""

    email: str
    password: str
    app_url: str  # the App's frontend, where its login page is
    hub_url: str
    jar: CookieJar = field(default_factory=CookieJar)
    token: str = ""
    server_name: str = ""  # "" the default server, else the workspace's
    server_url: str = ""  # /user/<name>/[<workspace>/] once the server is ready
    launches: int = 0  # launchNotebookServer calls, the first included

    @property
    def name(self) -> str:
        return self.email.lower()

    @property
    def api_user(self) -> str:
        return f"{self.hub_url}/hub/api/users/{quote(self.name, safe='')}"

    async def fetch(self, url: str, method: str = "GET", *, body=None, headers=None, cookies=True, timeout=None):
        """One request, redirects not followed, cookies kept; never raises on an HTTP status."""
        all_headers = dict(headers or {})
        if body is not None:  # the hub refuses form-encoded API calls; the App's login says its own type
            all_headers.setdefault("Content-Type", "application/json")
        if cookies and self.jar.cookies:
            all_headers["Cookie"] = self.jar.header()
        request = HTTPRequest(
            url,
            method=method,
            headers=all_headers,
            body=body,
            follow_redirects=False,
            request_timeout=timeout or REQUEST_TIMEOUT,
            connect_timeout=30,
            allow_nonstandard_methods=True,
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599:
            raise JourneyError(f"{method} {urlsplit(url).path}: {response.error}")
        self.jar.update(response)
        return response

    def token_headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    # -- the App and the hub -------------------------------------------------------

    async def log_in_to_app(self) -> None:
        await self.fetch(f"{self.app_url}/login")
        csrf = self.jar.value("csrftoken") or ""
        form = urlencode({"email": self.email, "password": self.password, "csrfmiddlewaretoken": csrf})
        response = await self.fetch(
            f"{self.app_url}/login?next=/",
            "POST",
            body=form,
            headers={"Referer": f"{self.app_url}/login", "Content-Type": "application/x-www-form-urlencoded"},
        )
        if response.code != 302 or not self.jar.value("sessionid"):
            raise JourneyError(f"App login answered {response.code}")

    async def log_in_to_hub(self) -> None:
        """``/hub/login`` with the App's cookies: the hub asks the App and sets its own cookie."""
        response = await self.fetch(f"{self.hub_url}/hub/login")
        if response.code != 302 or not self.jar.value("jupyterhub-hub-login"):
            raise JourneyError(f"hub login answered {response.code} ({response.headers.get('Location', '')})")

    async def log_in(self) -> None:
        await self.log_in_to_app()
        await self.log_in_to_hub()

    async def get_token(self) -> None:
        """A hub API token of the person's own (as JupyterLab's hub extension would use)."""
        home = await self.fetch(f"{self.hub_url}/hub/home")
        xsrf = self.jar.value("_xsrf")
        if home.code != 200 or not xsrf:
            raise JourneyError(f"hub home answered {home.code} (xsrf cookie: {bool(xsrf)})")
        response = await self.fetch(
            f"{self.api_user}/tokens",
            "POST",
            body=json.dumps({"note": "bench", "expires_in": 3600}),
            headers={"X-XSRFToken": xsrf, "Referer": f"{self.hub_url}/hub/home"},
        )
        if response.code not in (200, 201):
            raise JourneyError(f"token request answered {response.code}")
        self.token = json.loads(response.body)["token"]

    # -- the server ----------------------------------------------------------------

    async def start_server(self, timeout: float) -> None:
        """Ask for the default server and return once the hub says it is ready."""
        response = await self.fetch(f"{self.api_user}/server", "POST", body="{}", headers=self.token_headers())
        if response.code == 202:
            await self.follow_progress(timeout)
        elif response.code != 201:
            raise JourneyError(f"spawn answered {response.code}: {response.body[:200]!r}")
        model = await self.model()
        server = model.get("servers", {}).get("")
        if not server or not server.get("ready"):
            raise JourneyError("the hub reported ready, but the server is not")
        self.server_url = server["url"]

    async def follow_progress(self, timeout: float) -> None:
        """Read the spawn's event stream (as the hub's spawn page does) until ready or failed."""
        outcome: dict = {}
        buffer = bytearray()

        def on_chunk(chunk: bytes) -> None:
            buffer.extend(chunk)
            while b"\n\n" in buffer:
                event, _, rest = bytes(buffer).partition(b"\n\n")
                buffer[:] = rest
                for line in event.decode(errors="replace").splitlines():
                    if line.startswith("data:"):
                        data = json.loads(line[5:])
                        if data.get("ready") or data.get("failed"):
                            outcome.update(data)

        request = HTTPRequest(
            f"{self.api_user}/server/progress",
            headers=self.token_headers(),
            streaming_callback=on_chunk,
            request_timeout=timeout,
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if outcome.get("failed"):
            raise JourneyError(f"spawn failed: {outcome.get('message', '')[:200]}")
        if not outcome.get("ready"):
            raise JourneyError(f"spawn progress ended without ready ({response.code} {response.error or ''})")

    async def launch_workspace(self, slug: str, timeout: float, interval: float = 1.0) -> None:
        """Open the workspace's notebooks as the App's page does: ``launchNotebookServer`` now, then
        every ``interval`` seconds until the server is ready. A GraphQL error is what the person
        sees as an error page (the App's frontend stops there), so it ends the journey."""
        self.server_name = slug
        body = json.dumps({"operationName": "launchNotebookServer", "variables": {"input": {"workspaceSlug": slug}}})
        headers = {"X-CSRFToken": self.jar.value("csrftoken") or "", "Referer": f"{self.app_url}/"}
        deadline = time.monotonic() + timeout
        while True:
            self.launches += 1
            response = await self.fetch(f"{self.app_url}/graphql/", "POST", body=body, headers=headers)
            if response.code != 200:
                raise JourneyError(f"the App's launchNotebookServer answered {response.code}")
            answer = json.loads(response.body)
            if answer.get("errors"):
                raise JourneyError(f"the App showed an error: {answer['errors'][0].get('message', '')[:160]}")
            result = answer["data"]["launchNotebookServer"]
            if not result["success"]:
                raise JourneyError(f"the App refused: {', '.join(result['errors'])}")
            if result["server"]["ready"]:
                self.server_url = urlsplit(result["server"]["url"]).path  # as the App shows it
                return
            if time.monotonic() + interval > deadline:
                raise JourneyError(f"not ready after {timeout:.0f}s of asking the App ({self.launches} asks)")
            await asyncio.sleep(interval)

    async def model(self) -> dict:
        response = await self.fetch(self.api_user, headers=self.token_headers(), cookies=False)
        if response.code != 200:
            raise JourneyError(f"user model answered {response.code}")
        return json.loads(response.body)

    async def run_code(self, code: str, expected: str, timeout: float) -> None:
        """Start a kernel, run ``code`` over its websocket, wait for ``expected`` on iopub."""
        api = f"{self.hub_url}{self.server_url}api/kernels"
        response = await self.fetch(api, "POST", body="{}", headers=self.token_headers(), cookies=False)
        if response.code != 201:
            raise JourneyError(f"kernel start answered {response.code}")
        kernel = json.loads(response.body)["id"]
        url = f"{api}/{kernel}/channels".replace("http://", "ws://", 1)
        request = HTTPRequest(url, headers=self.token_headers(), connect_timeout=30, request_timeout=timeout)
        connection = await websocket.websocket_connect(request)
        try:
            await execute(connection, code, expected, timeout)
        finally:
            connection.close()

    async def stop_server(self, timeout: float) -> None:
        path = f"servers/{quote(self.server_name, safe='')}" if self.server_name else "server"
        response = await self.fetch(f"{self.api_user}/{path}", "DELETE", headers=self.token_headers(), cookies=False)
        if response.code not in (202, 204):
            raise JourneyError(f"stop answered {response.code}")
        deadline = time.monotonic() + timeout
        while (await self.model()).get("servers"):
            if time.monotonic() > deadline:
                raise JourneyError(f"the server had not stopped after {timeout:.0f}s")
            await asyncio.sleep(0.25)


def execute_request(code: str) -> dict:
    """A Jupyter ``execute_request`` on the shell channel (the JSON websocket protocol)."""
    msg_id = uuid.uuid4().hex
    return {
        "channel": "shell",
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "bench",
            "session": uuid.uuid4().hex,
            "date": "",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "stop_on_error": True,
        },
        "buffers": [],
    }


async def execute(connection, code: str, expected: str, timeout: float) -> None:
    """Send ``code``; return once an iopub stream or result of it shows ``expected``."""
    message = execute_request(code)
    await connection.write_message(json.dumps(message))
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise JourneyError(f"no result of the cell after {timeout:.0f}s")
        raw = await with_timeout(connection.read_message(), left)
        if raw is None:
            raise JourneyError("the kernel websocket closed")
        reply = json.loads(raw)
        if reply.get("parent_header", {}).get("msg_id") != message["header"]["msg_id"]:
            continue
        kind, content = reply.get("msg_type"), reply.get("content", {})
        if kind == "error":
            raise JourneyError(f"the cell failed: {content.get('ename')}: {content.get('evalue')}")
        text = content.get("text") or content.get("data", {}).get("text/plain", "")
        if kind in ("stream", "execute_result") and expected in text:
            return


async def with_timeout(awaitable, seconds: float):
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise JourneyError(f"no answer within {seconds:.0f}s") from None
