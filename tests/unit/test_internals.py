"""The one door to JupyterHub's internals (hub/openhexa_hub/internals.py) against the JupyterHub installed.

Each test checks one private name the hub relies on, where JupyterHub defines or sets it: a release that
removes, renames or stops setting one fails here, naming it, before a hub runs it.
"""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

from jupyterhub import apihandlers, orm, spawner, version_info
from jupyterhub.handlers import base, pages
from tornado import web

from openhexa_hub import internals
from openhexa_hub.spawn_line import SpawnLineAPI


def source(obj) -> str:
    return inspect.getsource(obj)


def test_spawner_log_name():
    assert isinstance(inspect.getattr_static(spawner.Spawner, "_log_name"), property), "Spawner._log_name is gone"


def test_spawner_spawn_future():
    assert spawner.Spawner._spawn_future is None, "Spawner._spawn_future is no longer a class attribute"
    assert "spawner._spawn_future = " in source(base.BaseHandler.spawn_single_user), (
        "BaseHandler.spawn_single_user no longer sets Spawner._spawn_future"
    )


def test_spawner_stop_future():
    assert "spawner._stop_future = " in source(base.BaseHandler.stop_single_user), (
        "BaseHandler.stop_single_user no longer sets Spawner._stop_future"
    )


def test_handler_token_authenticated():
    assert "self._token_authenticated = True" in source(base.BaseHandler), (
        "BaseHandler no longer sets _token_authenticated on a token's request"
    )
    # A cookie's request: JupyterHub leaves it unset (6.1's refresh_auth reads it anyway); read here, it is False.
    cookie_request = SimpleNamespace()
    assert internals.token_authenticated(cookie_request) is False
    assert cookie_request._token_authenticated is False
    assert internals.token_authenticated(SimpleNamespace(_token_authenticated=True)) is True


def test_logout_handler_backend_logout_cleanup():
    from jupyterhub.handlers.login import LogoutHandler

    cleanup = source(LogoutHandler._backend_logout_cleanup)
    assert "self.clear_login_cookie()" in cleanup, "LogoutHandler._backend_logout_cleanup no longer clears cookies"
    assert "_backend_logout_cleanup(user.name)" in source(LogoutHandler.default_handle_logout), (
        "JupyterHub's own logout no longer ends with _backend_logout_cleanup"
    )


def test_user_auth_refreshed():
    assert "user._auth_refreshed" in source(base.BaseHandler.refresh_auth), (
        "BaseHandler.refresh_auth no longer skips by User._auth_refreshed: check_again_next_request does nothing"
    )


def test_settings_failure_count():
    spawn = source(base.BaseHandler.spawn_single_user)
    assert "self.settings['failure_count'] += 1" in spawn and "consecutive_failure_limit" in spawn, (
        "JupyterHub no longer counts failed spawns in settings['failure_count']"
    )
    refused, failed = web.HTTPError(403), web.HTTPError(502)
    assert internals.counts_spawn_failure(failed)
    if version_info[0] < 6:
        assert internals.counts_spawn_failure(refused)
    else:
        assert "if status == ServerSpawnStatus.error:" in spawn, "JupyterHub 6 no longer counts only errors"
        assert not internals.counts_spawn_failure(refused)
        assert not internals.counts_spawn_failure(spawner.SpawnException("no", reason="refused", status_code=503))
    settings = {"failure_count": 2}
    assert internals.take_back_spawn_failure(settings, failed) == 2 and settings == {"failure_count": 1}
    settings = {"failure_count": 2}
    expected = 1 if internals.counts_spawn_failure(refused) else 2
    assert internals.take_back_spawn_failure(settings, refused) == 2 and settings == {"failure_count": expected}


def test_spawn_line_takes_what_spawn_single_user_takes():
    """Not an internal: the spawn line overrides BaseHandler.spawn_single_user, whose arguments JupyterHub 6
    changed (``display_name`` before ``options``); the override passes on whatever JupyterHub passes."""
    theirs = inspect.signature(base.BaseHandler.spawn_single_user)
    ours = inspect.signature(SpawnLineAPI.spawn_single_user)
    names = [p for p in theirs.parameters if p not in ("self", "user", "server_name")]
    ours.bind(None, "user", "name", *[None] * len(names))
    ours.bind(None, "user", "name", **dict.fromkeys(names))


def test_api_default_handlers():
    routes = {pattern: handler for pattern, handler, *_ in internals.api_routes()}
    assert routes.get(r"/api/users/([^/]+)/server") is apihandlers.users.UserServerAPIHandler, (
        "apihandlers.default_handlers has no UserServerAPIHandler route for /api/users/<name>/server"
    )
    assert any(p.startswith(r"/api/users/([^/]+)/servers/") for p in routes), "no named-server route"


def test_pages_default_handlers():
    spawn_routes = [pattern for pattern, handler, *_ in internals.page_routes() if handler is pages.SpawnHandler]
    assert "/spawn" in spawn_routes, "pages.default_handlers has no SpawnHandler route for /spawn"


def test_spawner_instance_dict():
    assert "__slots__" not in vars(spawner.Spawner), "Spawner has __slots__: internals.remember cannot stash"

    class Stub:
        pass

    stub = Stub()
    assert internals.remember(stub, "_openhexa_test", 1) == 1
    assert internals.remember(stub, "_openhexa_test", 2) == 1, "the first value is kept"


def test_spawner_orm_row():
    assert "orm_spawner" in spawner.Spawner.class_trait_names(), "Spawner.orm_spawner is gone"
    assert hasattr(orm.Spawner, "server") and hasattr(orm.Spawner, "user"), "orm.Spawner has no server or user"


def test_user_new_orm_spawner_and_the_named_server_rule():
    """JupyterHub 6 refuses a new named server that is not its safe slug, but starts one whose row exists (as
    allow_existing_invalid_named_servers="allow-start" says): admit_workspace_name adds the row with
    ``User._new_orm_spawner``. JupyterHub 5 has no such rule; nothing to admit."""
    from jupyterhub.user import User

    if version_info[0] < 6:
        assert "is_valid_safe_slug" not in source(base.BaseHandler), "JupyterHub 5 has a named-server rule now"
        return
    from jupyterhub.slugs import is_valid_safe_slug

    assert not is_valid_safe_slug("2026-x") and not is_valid_safe_slug("x" * 31), "the rule changed: review it"
    check = source(base.BaseHandler._check_named_server_request)
    assert "if server_name not in user.orm_spawners:" in check, "the rule is no longer for new names only"
    assert "allow_invalid_named_server_start" in check, "the setting of allow_existing_invalid_named_servers is gone"
    assert list(inspect.signature(User._new_orm_spawner).parameters) == ["self", "server_name", "server_displayname"], (
        "User._new_orm_spawner changed"
    )


def test_admit_workspace_name_adds_the_row_jupyterhub6_needs():
    rows: list[tuple[str, str]] = []

    class Handler:
        settings = {"allow_invalid_named_server_start": True}
        limit = 0

        async def get_current_user_named_server_limit(self):
            return self.limit

    def admit(name):
        asyncio.run(internals.admit_workspace_name(handler, user, name))

    user = SimpleNamespace(
        orm_spawners={"": object()}, _new_orm_spawner=lambda name, display: rows.append((name, display))
    )
    handler = Handler()
    admit("survey-trial")  # JupyterHub 6 takes it as it is
    assert rows == []
    admit("2026-malaria")
    assert rows == ([] if version_info[0] < 6 else [("2026-malaria", "2026-malaria")])
    rows.clear()
    handler.limit = 1
    user.orm_spawners["other"] = object()
    admit("2026-malaria")  # over the limit: JupyterHub's own refusal follows
    handler.settings = {"allow_invalid_named_server_start": False}
    handler.limit = 0
    admit("2026-malaria")  # the hub refuses such names (allow_existing_invalid_named_servers)
    assert rows == []


def test_the_user_handlers_lookup_that_user_from_memory_replaces():
    """Not an internal: handlers.UserFromMemory overrides ``BaseHandler.find_user`` on the REST API's user
    handler, taking the row from the session by id instead of querying by name. That returns what
    JupyterHub's lookup returns only while JupyterHub looks up, renames and deletes a person as here."""
    from jupyterhub.user import UserDict

    assert "self.find_user(user_name)" in source(apihandlers.users.UserAPIHandler.get), (
        "UserAPIHandler.get no longer looks the person up with find_user: UserFromMemory does nothing"
    )
    find = source(base.BaseHandler.find_user)
    assert "orm.User.find(" in find and "self._user_from_orm(orm_user)" in find, (
        "BaseHandler.find_user no longer wraps orm.User.find's row: review UserFromMemory"
    )
    assert "return self.users[orm_user]" in source(base.BaseHandler._user_from_orm), (
        "BaseHandler._user_from_orm no longer wraps the row with the hub's users"
    )
    assert "cls.name == name" in source(orm.User.find), "orm.User.find no longer finds by name"
    assert "setattr(user, key, value)" in source(apihandlers.users.UserAPIHandler.patch), (
        "UserAPIHandler.patch no longer renames the person's row object: a row taken from memory may be stale"
    )
    delete = source(UserDict.delete)
    assert "self.db.delete(user)" in delete and "self.db.commit()" in delete, (
        "UserDict.delete no longer deletes the row through the session: a row taken from memory may be stale"
    )
