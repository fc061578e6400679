"""Test switches under ``/_mock/``: only when the mock is started for tests (MOCK_APP_TEST_CONTROLS=1).

- ``/_mock/mode``: make the three endpoints the hub calls slow or answer badly
  (``{"mode": ..., "delay": seconds}``); setting a mode clears a chosen answer.
- ``/_mock/answer``: make them (or the one named in ``for``) answer exactly
  ``{"status", "headers", "body"}``, whoever calls, until the mode is set again.
- ``/_mock/calls``: what the hub sent them; DELETE clears.
- ``/_mock/hub-answers``: the hub's answers to the App's server launches (``POST
  /hub/api/users/<email>/servers/<slug>``): time, path, status, ``Retry-After``, JSON body;
  DELETE clears.
- ``/_mock/expire``: end the session ``{"sessionid": ...}`` as Django does when it expires:
  nobody tells the hub.
"""

from __future__ import annotations

import json

from tornado import web

from .state import State

CONTRACT_PATHS = ("/notebooks/authenticate/", "/notebooks/default-credentials/", "/workspaces/credentials/")
BAD_MODES = {"html", "invalid-json", "not-object", "no-username", "bad-username", "redirect"}


class Control(web.RequestHandler):
    @property
    def state(self) -> State:
        return self.settings["state"]

    def check_xsrf_cookie(self):
        """Test controls are called by tests, not browsers."""

    def body(self) -> dict:
        return json.loads(self.request.body or b"{}")


class Mode(Control):
    def get(self):
        self.finish({"mode": self.state.mode, "delay": self.state.delay})

    def post(self):
        body = self.body()
        mode = body.get("mode", "ok")
        if mode not in BAD_MODES | {"ok"} and not mode.startswith("status-"):
            raise web.HTTPError(400, f"unknown mode {mode}")
        self.state.mode = mode
        self.state.delay = float(body.get("delay", 0))
        self.state.answer = None
        self.get()


class Answer(Control):
    def get(self):
        self.finish({"answer": self.state.answer})

    def post(self):
        body = self.body()
        target = body.get("for")
        if target is not None and target not in CONTRACT_PATHS:
            raise web.HTTPError(400, f"'for' must be one of {', '.join(CONTRACT_PATHS)}")
        status = int(body.get("status", 200))
        if not 200 <= status <= 599:
            raise web.HTTPError(400, "'status' must be 200-599")
        headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
        self.state.answer = {"status": status, "headers": headers, "body": str(body.get("body", "")), "for": target}
        self.get()

    def delete(self):
        self.state.answer = None
        self.set_status(204)


class Record(Control):
    """A list the mock keeps (``field`` of its state), answered as ``{key: [...]}``; DELETE clears it."""

    def initialize(self, field: str, key: str):
        self.field, self.key = field, key

    def get(self):
        self.finish({self.key: getattr(self.state, self.field)})

    def delete(self):
        getattr(self.state, self.field).clear()
        self.set_status(204)


class Expire(Control):
    def post(self):
        self.state.close_session(str(self.body().get("sessionid", "")))
        self.set_status(204)


def routes() -> list[tuple]:
    return [
        (r"/_mock/expire", Expire),
        (r"/_mock/mode", Mode),
        (r"/_mock/answer", Answer),
        (r"/_mock/calls", Record, {"field": "calls", "key": "calls"}),
        (r"/_mock/hub-answers", Record, {"field": "hub_answers", "key": "answers"}),
    ]
