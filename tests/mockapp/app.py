"""A mock of the OpenHexa App that behaves like Django on every point of the contract.

- CSRF: a POST needs the ``csrftoken`` cookie and the same value in the
  ``X-CSRFToken`` header (or the ``csrfmiddlewaretoken`` form field), and a
  ``Referer`` from a trusted host (Django checks it on HTTPS; the mock always
  does, so tests prove the hub sends it). Otherwise 403.
- ``login_required``: 302 to ``/login?next=<path>``; ``require_POST``: 405 on GET.
- Cookies are host-only, so ``localhost:8000`` and ``localhost:8001`` share them.

Switches under ``/_mock/`` let tests make the contract endpoints slow or answer
badly (``/_mock/mode``), answer exactly what a test chose (``/_mock/answer``), and
read what the hub sent (``/_mock/calls``). Setting a mode clears a chosen answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import yaml
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

HERE = Path(__file__).parent
CONTRACT_PATHS = ("/notebooks/authenticate/", "/notebooks/default-credentials/", "/workspaces/credentials/")
BAD_MODES = {"html", "invalid-json", "not-object", "no-username", "bad-username", "redirect"}


@dataclass
class Settings:
    """The mock's settings, from MOCK_APP_* environment variables."""

    fixtures: Path = HERE / "fixtures.yaml"
    hub_url: str = "http://localhost:8001"  # the hub as the browser reaches it
    hub_api_url: str = "http://127.0.0.1:8001/hub/api"  # the hub API as the App reaches it
    hub_api_token: str = ""
    trusted_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    spawn_timeout: float = 120.0
    sessions_file: Path | None = None  # where sessions are kept, as Django keeps them in its database

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        hub_url = env.get("MOCK_APP_HUB_URL", cls.hub_url).rstrip("/")
        return cls(
            fixtures=Path(env.get("MOCK_APP_FIXTURES", cls.fixtures)),
            hub_url=hub_url,
            hub_api_url=env.get("MOCK_APP_HUB_API_URL", cls.hub_api_url).rstrip("/"),
            hub_api_token=env.get("HUB_API_TOKEN", ""),
            trusted_hosts=tuple(h.strip() for h in env.get("MOCK_APP_TRUSTED_HOSTS", "localhost,127.0.0.1").split(",")),
            spawn_timeout=float(env.get("MOCK_APP_SPAWN_TIMEOUT", cls.spawn_timeout)),
            sessions_file=Path(env["MOCK_APP_SESSIONS"]) if env.get("MOCK_APP_SESSIONS") else None,
        )


@dataclass
class State:
    """What the mock knows and remembers: fixtures, sessions, switches, calls."""

    users: dict[str, dict]
    workspaces: dict[str, dict]
    sessions: dict[str, str] = field(default_factory=dict)  # sessionid -> email
    mode: str = "ok"
    delay: float = 0.0
    answer: dict | None = None  # {"status", "headers", "body", "for"} from /_mock/answer
    calls: list[dict] = field(default_factory=list)
    sessions_file: Path | None = None

    @classmethod
    def load(cls, path: Path, sessions_file: Path | None = None) -> State:
        data = yaml.safe_load(path.read_text())
        users = {u["email"].lower(): u for u in data.get("users", [])}
        sessions = json.loads(sessions_file.read_text()) if sessions_file and sessions_file.exists() else {}
        return cls(users=users, workspaces=data.get("workspaces", {}), sessions=sessions, sessions_file=sessions_file)

    def open_session(self, email: str) -> str:
        session = secrets.token_hex(16)
        self.sessions[session] = email
        self._keep_sessions()
        return session

    def close_session(self, session: str):
        self.sessions.pop(session, None)
        self._keep_sessions()

    def _keep_sessions(self):
        """Sessions outlive a restart when MOCK_APP_SESSIONS names a file, as Django's do."""
        if self.sessions_file:
            self.sessions_file.write_text(json.dumps(self.sessions))

    def user(self, email: str) -> dict | None:
        return self.users.get(email.strip().lower())


def server_hash(slug: str, email: str) -> str:
    return hashlib.sha256(f"{slug}:{email.lower()}".encode()).hexdigest()[:20]


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><title>{html.escape(title)} - OpenHexa</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


class Handler(web.RequestHandler):
    """Django's manners: CSRF on POST, host-only cookies, login_required."""

    @property
    def state(self) -> State:
        return self.settings["state"]

    @property
    def conf(self) -> Settings:
        return self.settings["conf"]

    def csrf_token(self) -> str:
        token = self.get_cookie("csrftoken")
        if not token:
            token = secrets.token_hex(16)
            self.set_cookie("csrftoken", token, path="/", samesite="Lax")
        return token

    def csrf_failure(self) -> str | None:
        cookie = self.get_cookie("csrftoken")
        if not cookie:
            return "CSRF cookie not set."
        given = self.request.headers.get("X-CSRFToken") or self.get_body_argument("csrfmiddlewaretoken", "")
        if not secrets.compare_digest(given, cookie):
            return "CSRF token missing or incorrect."
        referer = self.request.headers.get("Referer", "")
        if not referer:
            return "Referer checking failed - no Referer."
        if urlsplit(referer).hostname not in self.conf.trusted_hosts:
            return "Referer checking failed - Referer is not trusted."
        return None

    def check_xsrf_cookie(self):
        reason = self.csrf_failure()
        if reason:
            raise web.HTTPError(403, reason)

    def prepare(self):
        if self.request.method == "POST" and not self.request.path.startswith("/_mock/"):
            self.check_xsrf_cookie()

    def write_error(self, status_code, **kwargs):
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.finish(page(f"{status_code} {self._reason}", f"<p id='error'>{html.escape(reason)}</p>"))

    def current_email(self) -> str | None:
        return self.state.sessions.get(self.get_cookie("sessionid") or "")

    def login_redirect(self):
        self.redirect("/login?" + urlencode({"next": self.request.uri}))


def login_required(method):
    async def wrapper(self, *args):
        if self.current_email() is None:
            return self.login_redirect()
        return await method(self, *args)

    return wrapper


class LoginHandler(Handler):
    def get(self):
        token = self.csrf_token()
        action = html.escape("/login?" + urlencode({"next": self.get_argument("next", "/")}), quote=True)
        self.finish(
            page(
                "Log in",
                f"<form method='post' action='{action}'>"
                f"<input type='hidden' name='csrfmiddlewaretoken' value='{token}'>"
                "<label>Email <input name='email' type='email' autocomplete='username'></label>"
                "<label>Password <input name='password' type='password'></label>"
                "<button type='submit' id='login-submit'>Log in</button></form>",
            )
        )

    def post(self):
        email = self.get_body_argument("email", "")
        user = self.state.user(email)
        if user is None or not secrets.compare_digest(user["password"], self.get_body_argument("password", "")):
            self.set_status(200)  # Django re-renders the form
            self.finish(page("Log in", "<p id='login-error'>Wrong email or password.</p>"))
            return
        session = self.state.open_session(user["email"])
        self.set_cookie("sessionid", session, path="/", httponly=True, samesite="Lax")
        # Django rotates the CSRF secret on login.
        self.set_cookie("csrftoken", secrets.token_hex(16), path="/", samesite="Lax")
        self.redirect(self.safe_next(self.get_argument("next", "/")))

    def safe_next(self, next_url: str) -> str:
        host = urlsplit(next_url).hostname
        return next_url if host is None or host in self.conf.trusted_hosts else "/"


class LogoutHandler(Handler):
    def post(self):
        self.state.close_session(self.get_cookie("sessionid") or "")
        self.clear_cookie("sessionid", path="/")
        # The hub stops the person's servers and voids its cookies, then sends
        # the browser back here.
        self.redirect(f"{self.conf.hub_url}/hub/logout")


class HomeHandler(Handler):
    @login_required
    async def get(self):
        email = self.current_email()
        links = "".join(
            f"<li><a class='workspace' href='/workspaces/{quote(s)}/notebooks'>{html.escape(s)}</a></li>"
            for s in self.state.user(email).get("workspaces", [])
        )
        self.finish(
            page(
                "OpenHexa",
                f"<p id='whoami'>{html.escape(email)}</p><ul>{links}</ul>"
                f"<p><a id='notebooks-link' href='{self.conf.hub_url}/hub/'>Notebooks</a></p>"
                "<form method='post' action='/logout'>"
                f"<input type='hidden' name='csrfmiddlewaretoken' value='{self.csrf_token()}'>"
                "<button type='submit' id='logout'>Log out</button></form>",
            )
        )


class ContractHandler(Handler):
    """The three POST endpoints the hub calls."""

    def get(self, *args):
        raise web.HTTPError(405)

    def prepare(self):
        if self.request.method == "POST" and self.chosen_answer() is not None:
            self.record_call()
            self.send_chosen_answer()  # exactly what the test chose, CSRF or not
            return
        super().prepare()

    def chosen_answer(self) -> dict | None:
        answer = self.state.answer
        if answer is None or answer["for"] not in (None, self.request.path):
            return None
        return answer

    def send_chosen_answer(self):
        answer = self.chosen_answer()
        self.clear_header("Content-Type")
        self.set_status(answer["status"])
        for name, value in answer["headers"].items():
            self.set_header(name, value)
        self.finish(answer["body"].encode() if answer["status"] not in (204, 304) else None)

    def record_call(self):
        self.state.calls.append(
            {
                "path": self.request.path,
                "cookies": sorted(self.request.cookies),
                "csrf_header": bool(self.request.headers.get("X-CSRFToken")),
                "referer": self.request.headers.get("Referer", ""),
                "form": {k: self.get_body_argument(k) for k in self.request.body_arguments},
                "time": time.time(),
            }
        )

    async def post(self, *args):
        state = self.state
        self.record_call()
        if state.delay:
            await asyncio.sleep(state.delay)
        if state.mode.startswith("status-"):
            raise web.HTTPError(int(state.mode.split("-", 1)[1]))
        if state.mode == "redirect":
            return self.redirect("https://elsewhere.invalid/")
        email = self.current_email()
        if email is None:
            return self.login_redirect()
        if state.mode == "html":
            return self.finish(page("OpenHexa", "<p>Welcome</p>"))
        answer = self.answer(email)
        if answer is None:
            return
        self.set_header("Content-Type", "application/json")
        if state.mode == "invalid-json":
            return self.finish('{"username": ')
        if state.mode == "not-object":
            return self.finish(json.dumps([answer]))
        if state.mode == "no-username":
            answer.pop("username", None)
        if state.mode == "bad-username":
            answer["username"] = "not an email/../x"
        self.finish(json.dumps(answer))

    def answer(self, email: str) -> dict | None:
        user = self.state.user(email)
        path = self.request.path
        if path == "/notebooks/authenticate/":
            return {"username": user["email"]}
        if path == "/notebooks/default-credentials/":
            creds = user.get("default_credentials", {})
            return {"username": user["email"], "env": creds.get("env", {}), "files": creds.get("files", {})}
        slug = self.get_body_argument("workspace", "")
        workspace = self.state.workspaces.get(slug)
        if workspace is None or slug not in user.get("workspaces", []):
            self.set_status(403)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": "not a member of this workspace"}))
            return None
        answer = {"env": workspace.get("env", {}), "notebooks_server_hash": server_hash(slug, email)}
        if workspace.get("image"):
            answer["image"] = workspace["image"]
        return answer


class WorkspaceNotebooksHandler(Handler):
    """``/workspaces/<slug>/notebooks``: launch the workspace server, show it in an iframe."""

    @login_required
    async def get(self, slug):
        email = self.current_email()
        name = email.lower()
        try:
            server_url = await self.launch(name, slug)
        except LaunchFailed as failure:
            self.set_status(failure.status)
            return self.finish(
                page("Notebooks unavailable", f"<p id='notebooks-error'>{html.escape(str(failure))}</p>")
            )
        src = f"{self.conf.hub_url}{server_url}"
        self.finish(
            page(
                f"{slug} notebooks",
                f"<iframe id='notebooks-frame' src='{html.escape(src, quote=True)}' "
                "style='width:100%;height:90vh;border:0'></iframe>",
            )
        )

    async def hub(self, method: str, path: str, body=None, cookies=False):
        headers = {"Authorization": f"token {self.conf.hub_api_token}"}
        if cookies:
            headers["Cookie"] = "; ".join(
                f"{k}={self.get_cookie(k)}" for k in ("sessionid", "csrftoken") if self.get_cookie(k)
            )
        request = HTTPRequest(
            f"{self.conf.hub_api_url}{path}",
            method=method,
            headers=headers,
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=60,
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        try:
            data = json.loads(response.body or b"null")
        except ValueError:
            data = None
        return response.code, data

    async def launch(self, name: str, slug: str) -> str:
        """Start the person's workspace server through the hub API; return its URL path."""
        user_path = f"/users/{quote(name, safe='')}"
        code, _ = await self.hub("POST", user_path, body={})
        if code not in (201, 409):
            raise LaunchFailed(502, f"The hub could not create the user ({code}).")
        code, data = await self.hub("POST", f"{user_path}/servers/{quote(slug)}", body={}, cookies=True)
        message = (data or {}).get("message", "") if isinstance(data, dict) else ""
        if code >= 400 and "already" not in message:
            raise LaunchFailed(403 if code in (400, 403) else 502, message or f"hub answered {code}")
        deadline = time.monotonic() + self.conf.spawn_timeout
        while time.monotonic() < deadline:
            code, model = await self.hub("GET", user_path)
            server = (model or {}).get("servers", {}).get(slug)
            if server and server.get("ready"):
                return server["url"]
            if not server:
                raise LaunchFailed(403, "The notebook server did not start.")
            await asyncio.sleep(0.5)
        raise LaunchFailed(504, f"The notebook server was not ready after {self.conf.spawn_timeout:.0f}s.")


class LaunchFailed(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class MockModeHandler(Handler):
    """``POST /_mock/mode`` ``{"mode": ..., "delay": seconds}``; GET reads it."""

    def get(self):
        self.finish({"mode": self.state.mode, "delay": self.state.delay})

    def post(self):
        body = json.loads(self.request.body or b"{}")
        mode = body.get("mode", "ok")
        if mode not in BAD_MODES | {"ok"} and not mode.startswith("status-"):
            raise web.HTTPError(400, f"unknown mode {mode}")
        self.state.mode = mode
        self.state.delay = float(body.get("delay", 0))
        self.state.answer = None
        self.finish({"mode": self.state.mode, "delay": self.state.delay})


class MockAnswerHandler(Handler):
    """``POST /_mock/answer`` ``{"status", "headers", "body", "for"}``: the contract endpoints answer exactly that.

    ``status`` (default 200), ``headers`` (an object), ``body`` (text, sent as UTF-8) and
    ``for`` (one contract path; default every contract path). It holds for every call,
    whoever's cookies they carry, until ``/_mock/mode`` is set (``set_mode("ok")``) or
    ``DELETE /_mock/answer``. GET reads it.
    """

    def get(self):
        self.finish({"answer": self.state.answer})

    def post(self):
        body = json.loads(self.request.body or b"{}")
        target = body.get("for")
        if target is not None and target not in CONTRACT_PATHS:
            raise web.HTTPError(400, f"'for' must be one of {', '.join(CONTRACT_PATHS)}")
        status = int(body.get("status", 200))
        if not 200 <= status <= 599:
            raise web.HTTPError(400, "'status' must be 200-599")
        headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
        self.state.answer = {"status": status, "headers": headers, "body": str(body.get("body", "")), "for": target}
        self.finish({"answer": self.state.answer})

    def delete(self):
        self.state.answer = None
        self.set_status(204)


class MockCallsHandler(Handler):
    """``GET /_mock/calls``: what the hub sent to the contract endpoints; DELETE clears."""

    def get(self):
        self.finish({"calls": self.state.calls})

    def delete(self):
        self.state.calls.clear()
        self.set_status(204)


def make_app(conf: Settings | None = None) -> web.Application:
    conf = conf or Settings.from_env()
    state = State.load(conf.fixtures, conf.sessions_file)
    return web.Application(
        [
            (r"/", HomeHandler),
            (r"/login", LoginHandler),
            (r"/logout", LogoutHandler),
            (r"/notebooks/(authenticate|default-credentials)/", ContractHandler),
            (r"/workspaces/credentials/", ContractHandler),
            (r"/workspaces/([^/]+)/notebooks", WorkspaceNotebooksHandler),
            (r"/_mock/mode", MockModeHandler),
            (r"/_mock/answer", MockAnswerHandler),
            (r"/_mock/calls", MockCallsHandler),
        ],
        state=state,
        conf=conf,
    )
