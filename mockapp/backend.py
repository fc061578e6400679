"""The App's Django backend: the endpoints the hub calls, logout, and the GraphQL mutation that launches servers."""

from __future__ import annotations

import asyncio
import json
import logging

from tornado import web

from . import hub
from .django import DjangoHandler, page
from .state import server_hash

log = logging.getLogger("mockapp")


class ToFrontend(DjangoHandler):
    """``core/urls.py``: ``/`` and ``/login`` redirect to NEW_FRONTEND_DOMAIN, the full path kept."""

    anonymous = True

    def get(self, *args):
        self.redirect(f"{self.conf.frontend_url}{self.request.uri}")


class ContractHandler(DjangoHandler):
    """An endpoint the hub calls. Tests may slow it, break it or choose its answer (``/_mock/``)."""

    post_only = True

    def prepare(self):
        self.record_call()
        answer = self.state.answer
        if answer is not None and answer["for"] in (None, self.request.path):
            return self.send(answer)  # exactly what the test chose, CSRF or not
        return super().prepare()

    def send(self, answer: dict):
        self.clear_header("Content-Type")
        self.set_status(answer["status"])
        for name, value in answer["headers"].items():
            self.set_header(name, value)
        self.finish(answer["body"].encode() if answer["status"] not in (204, 304) else None)

    def record_call(self):
        self.state.calls.append(
            {
                "path": self.request.path,
                "method": self.request.method,
                "cookies": sorted(self.request.cookies),
                "csrf_header": bool(self.request.headers.get("X-CSRFToken")),
                "referer": self.request.headers.get("Referer", ""),
                "form": {k: self.get_body_argument(k) for k in self.request.body_arguments},
            }
        )

    async def post(self, *args):
        state = self.state
        if state.delay:
            await asyncio.sleep(state.delay)
        if state.mode.startswith("status-"):
            raise web.HTTPError(int(state.mode.split("-", 1)[1]))
        if state.mode == "redirect":
            return self.redirect("https://elsewhere.invalid/")
        if state.mode == "html":
            return self.finish(page("OpenHexa", "<p>Welcome</p>"))
        status, answer = self.answer()
        if state.mode == "invalid-json":
            return self.json_text(status, '{"username": ')
        if state.mode == "not-object":
            return self.json_text(status, json.dumps([answer]))
        if state.mode == "no-username":
            answer.pop("username", None)
        if state.mode == "bad-username":
            answer["username"] = "not an email/../x"
        self.json(status, answer)

    def json_text(self, status: int, text: str):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(text)

    def answer(self) -> tuple[int, dict]:
        raise NotImplementedError


class Authenticate(ContractHandler):
    """``notebooks/views.py: authenticate``."""

    def answer(self):
        if self.user is None:
            return 401, {}
        return 200, {"username": self.user.email}


class DefaultCredentials(ContractHandler):
    """``notebooks/views.py: default_credentials``: the git flag, then what connector plugins add."""

    def answer(self):
        user = self.user
        if user is None:
            return 401, {}
        env = {"GIT_EXTENSION_ENABLED": "true" if "notebooks_git_extension" in user.feature_flags else "false"}
        env.update(user.extra_env)
        return 200, {"username": user.email, "env": env, "files": user.files}


class WorkspaceCredentials(ContractHandler):
    """``workspaces/views.py: credentials``: anonymous callers allowed, CSRF exempt; it checks the session itself."""

    anonymous = True
    csrf_exempt = True

    def answer(self):
        slug = self.get_body_argument("workspace", "")
        if not slug:
            return 400, {"error": "No workspace given"}
        workspace = self.state.workspaces.get(slug)
        if workspace is None:
            return 404, {}
        user = self.user
        if user is None:
            return 401, {}
        if not user.may_launch(slug):
            return 401, {"error": "User does not have permission to launch notebooks"}
        env = {**workspace.env, **self.conf.storage_env(workspace.env["WORKSPACE_BUCKET_NAME"], self.state.storage)}
        image = workspace.docker_image or self.conf.default_workspace_image
        return 200, {"env": env, "notebooks_server_hash": server_hash(workspace, user), "image": image}


class Logout(DjangoHandler):
    """``POST /auth/logout/``: the hub's logout from the backend with the App's cookies, then Django's logout."""

    anonymous = True
    post_only = True

    async def post(self):
        session = self.get_cookie("sessionid")
        if session and self.user is not None:
            cookies = {"sessionid": session, "csrftoken": self.csrf_token()}
            try:
                code = await hub.logout(self.conf, cookies)
                if code >= 400:
                    log.error("hub logout answered %s", code)  # the App reports it to Sentry and goes on
            except ConnectionError as error:
                log.error("hub logout failed: %s", error)
        self.state.close_session(session or "")
        self.clear_app_cookie("sessionid")
        self.redirect("/login")


ERROR_MESSAGES = {
    "NOT_FOUND": "This workspace does not exist, or you are not one of its members.",
    "PERMISSION_DENIED": "You may not open notebooks in this workspace.",
}


class GraphQL(DjangoHandler):
    """``/graphql/``, the one mutation the notebooks need: ``launchNotebookServer(input: {workspaceSlug})``.

    The frontend reaches it through its own origin (it proxies ``/graphql/`` to the
    backend), so both listeners serve it.
    """

    anonymous = True

    async def post(self):
        try:
            body = json.loads(self.request.body or b"{}")
            slug = body["variables"]["input"]["workspaceSlug"]
        except (ValueError, KeyError, TypeError):
            return self.json(400, {"errors": [{"message": "Expected launchNotebookServer(input: {workspaceSlug})"}]})
        user = self.user
        if user is None:
            return self.json(200, {"data": None, "errors": [{"message": "Resolver requires an authenticated user"}]})
        workspace = self.state.workspaces.get(slug)
        if workspace is None or slug not in user.memberships:
            return self.result({"success": False, "server": None, "errors": ["NOT_FOUND"]})
        if not user.may_launch(slug):
            return self.result({"success": False, "server": None, "errors": ["PERMISSION_DENIED"]})
        cookies = {"sessionid": self.get_cookie("sessionid"), "csrftoken": self.get_cookie("csrftoken")}
        try:
            answers = self.state.hub_answers if self.conf.test_controls else None
            result = await hub.launch_notebook_server(self.conf, user, workspace, cookies, answers)
        except (hub.HubHTTPError, ConnectionError) as error:
            # The App does not catch these: GraphQL answers the exception's text.
            message = {"message": str(error), "path": ["launchNotebookServer"]}
            return self.json(200, {"data": {"launchNotebookServer": None}, "errors": [message]})
        self.result(result)

    def result(self, result: dict):
        self.json(200, {"data": {"launchNotebookServer": result}})


def routes() -> list[tuple]:
    return [
        (r"/", ToFrontend),
        (r"/login", ToFrontend),
        (r"/notebooks/authenticate/", Authenticate),
        (r"/notebooks/default-credentials/", DefaultCredentials),
        (r"/workspaces/credentials/", WorkspaceCredentials),
        (r"/auth/logout/", Logout),
        (r"/graphql/", GraphQL),
    ]
