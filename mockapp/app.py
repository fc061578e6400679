"""The mock OpenHexa App: its backend and its separate frontend, sharing one state."""

from __future__ import annotations

from tornado import web

from . import backend, controls, frontend
from .state import Settings, State


def make_apps(conf: Settings, backend_url: str) -> tuple[web.Application, web.Application]:
    """The backend (Django) and the frontend; ``backend_url`` is the backend as browsers reach it."""
    state = State.load(conf.fixtures, conf.sessions_file)
    extra = controls.routes() if conf.test_controls else []
    settings = {"state": state, "conf": conf, "backend_url": backend_url}
    return (
        web.Application(backend.routes() + extra, **settings),
        web.Application(frontend.routes(), **settings),
    )
