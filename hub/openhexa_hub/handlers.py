"""The hub pages and API routes the OpenHexa authenticator replaces or wraps.

- ``/hub/login``: log in from the App's cookies, or send the person to the App.
- ``/hub/logout``: called by a browser, or by the App's backend with only the App's
  cookies (its ``POST /auth/logout/``). Either way the person's servers stop and every
  hub cookie and token issued to them is voided.
- Every route that names a user (``/hub/api/users/<name>...``, ``/user/<name>/...``):
  the App spells a name as the email it stores (``Mixed.Case+tag@...``, sometimes
  percent-encoded); each spelling reaches the one hub user that person logs in as.
- Every spawn (``POST /hub/api/users/<name>/server[s/<workspace>]``, the App's
  ``launchNotebookServer`` among them, and ``/hub/spawn/...``): through the spawn line
  (``spawn_line.py``); a workspace server only at the App's request.
- ``GET /hub/api/users/<name>``, which the App asks every second for each person waiting for a
  server: the person found in the hub's memory, not by a query of the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from jupyterhub import apihandlers, orm
from jupyterhub.handlers import BaseHandler, LogoutHandler, pages
from jupyterhub.handlers.base import UserUrlHandler
from jupyterhub.utils import url_escape_path, url_path_join
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from tornado import web

from . import internals
from .app_client import NotLoggedIn
from .app_service import APP_SERVICE
from .errors import refusal
from .spawn_line import SpawnLineAPI, SpawnLinePage


def launched_by_app(handler) -> bool:
    """True when ``handler``'s request was made with the App's service token (app_service.py): with a
    person's App cookies, the only way a workspace server starts."""
    requester = getattr(handler, "current_user", None)
    return getattr(requester, "kind", None) == "service" and getattr(requester, "name", None) == APP_SERVICE


CROSS_SITE_LOGOUT = (
    "Logging out of OpenHexa notebooks is done from the OpenHexa App: this request came from "
    "another site and was ignored."
)


class AppLoginHandler(BaseHandler):
    """``/hub/login``: log in from the App's cookies, or send the person to the App."""

    async def get(self):
        user = self.current_user
        if user is None:
            try:
                user = await self.login_user()
            except NotLoggedIn:
                user = None
            if user is None:
                self.redirect(self.authenticator.app_login_redirect(self))
                return
            internals.check_again_next_request(user)  # login_user marked the person checked, for every browser
        self.redirect(self.get_next_url(user))


def cross_site(request, trusted_hosts: set[str]) -> bool:
    """True when a browser sent ``request`` from a page of another site.

    Browsers say where a request comes from in ``Sec-Fetch-Site``; older ones only in
    ``Referer``. The App's backend sends neither: it is not a browser.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "cross-site"
    referer = request.headers.get("Referer")
    if referer:
        return urlsplit(referer).hostname not in trusted_hosts
    return False


class AppLogoutHandler(LogoutHandler):
    """``/hub/logout``: stop the person's servers, void their cookies and tokens, back to the App.

    The person is the owner of the hub cookie (a browser) or, without one, of the App
    cookies (the App's backend, whose session is still valid while it calls). Nothing
    changes for a request from another site, or when nobody can be identified.
    """

    async def get(self):
        if cross_site(self.request, self.authenticator.trusted_hosts(self)):
            self.log.warning("Ignoring a cross-site request to log out (%s)", self.request.headers.get("Referer", "-"))
            raise refusal(403, CROSS_SITE_LOGOUT)
        await super().get()

    async def default_handle_logout(self):
        user = self.current_user or await self._user_from_app_cookies()
        if user is None:
            self.clear_login_cookie()
            return
        await self.stop_all_servers(user)
        internals.logout_cleanup(self, user.name)
        self.authenticator.forget_sessions(user, self.db)

    async def _user_from_app_cookies(self):
        """The hub user the App says owns the request's App cookies, or None."""
        try:
            cookies = self.authenticator.app_cookies(self)
            if cookies is None:
                return None
            name = await self.authenticator.app_username(self, cookies)
        except NotLoggedIn:
            return None
        except web.HTTPError as error:  # the App down or odd: log out nobody, say why in the log
            self.log.warning("Logout without a hub cookie: the App could not say whose cookies these are (%s)", error)
            return None
        return self.find_user(name)

    async def stop_all_servers(self, user):
        """Stop every server of ``user``, a server still starting included."""
        names = [name for name, spawner in user.spawners.items() if spawner.active or spawner.pending == "spawn"]
        if names:
            self.log.info("Stopping %s's servers at logout: %s", user.name, ", ".join(n or "(default)" for n in names))
        results = await asyncio.gather(*(self._stop(user, name) for name in names), return_exceptions=True)
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                self.log.error("Stopping %s's server %r at logout failed: %s", user.name, name, result)

    async def _stop(self, user, name: str):
        spawner = user.spawners[name]
        starting = internals.spawn_future(spawner)
        if spawner.pending == "spawn" and starting is not None:
            # Interrupt the start, then stop whatever it had started (as the REST API does).
            starting.cancel()
            with contextlib.suppress(BaseException):
                await starting
        if spawner.pending == "stop":
            await internals.stop_future(spawner)
        elif spawner.active:
            await self.stop_single_user(user, name)

    async def render_logout_page(self):
        self.redirect(self.authenticator.logout_redirect_url)


class CanonicalUserNameAPI:
    """Mixed into the REST API's user handlers: the user's name as the hub keeps it."""

    async def prepare(self):
        if self.path_args:
            self.path_args[0] = self.authenticator.canonical_username(self.path_args[0])
        await super().prepare()


USER_IDS = "openhexa_user_ids"  # in the application's settings: each name found once, to its row's id


class UserFromMemory:
    """Mixed into the REST API's user handler: ``GET /hub/api/users/<name>`` finds the person in memory.

    JupyterHub's ``find_user`` queries the database on every request (``orm.User.find``, which loads the
    person's roles, groups and shares again), to return the object it already holds in memory: the
    session's one row object per id, wrapped by the hub's ``users``. That query was most of the hub's time
    on the App's poll. Here a name JupyterHub found once is kept with its row's id; the next GET takes the
    row from the session by id (``Session.get``: no query while the row is loaded) and serves it only when
    it still has that name and is still in the database as the session sees it. A person renamed, deleted,
    or a row whose id now belongs to someone else: JupyterHub's own lookup, as at the first request. Every
    change of a person goes through this same session (JupyterHub's one writer), so what is served is
    what JupyterHub's own lookup would return. Other methods (POST, PATCH, DELETE) look up as JupyterHub
    does.
    """

    def find_user(self, name):
        if self.request.method != "GET":
            return super().find_user(name)
        ids = self.settings.setdefault(USER_IDS, {})
        user_id = ids.get(name)
        if user_id is not None:
            try:
                row = self.db.get(orm.User, user_id)
                if row is not None and row.name == name and inspect(row).persistent:
                    return self.users[row]
            except SQLAlchemyError:  # a row gone since (ObjectDeletedError): JupyterHub's own lookup says so
                pass
            ids.pop(name, None)
        user = super().find_user(name)
        if user is not None:
            ids[name] = user.id
        return user


def canonical_api_handlers() -> list[tuple[str, type]]:
    """Every REST API route that names a user, with the name made canonical first; the server routes
    through the spawn line."""
    routes = []
    for pattern, handler, *rest in internals.api_routes():
        if pattern.startswith("/api/users/([^/]+)"):
            mixins = (CanonicalUserNameAPI,)
            if issubclass(handler, apihandlers.users.UserServerAPIHandler):
                mixins += (SpawnLineAPI,)
            if handler is apihandlers.users.UserAPIHandler:
                mixins += (UserFromMemory,)
            wrapped = type(handler.__name__, (*mixins, handler), {})
            routes.append((pattern, wrapped, *rest))
    return routes


def spawn_page_handlers() -> list[tuple[str, type]]:
    """JupyterHub's spawn page routes (``/spawn``, ``/spawn/<name>``, ``/spawn/<name>/<server>``) through the
    spawn line."""
    wrapped = type(pages.SpawnHandler.__name__, (SpawnLinePage, pages.SpawnHandler), {})
    return [
        (pattern, wrapped, *rest)
        for pattern, handler, *rest in internals.page_routes()
        if handler is pages.SpawnHandler
    ]


class CanonicalUserUrlHandler(UserUrlHandler):
    """``/user/<name>/...`` reached the hub: a name spelled otherwise goes to its canonical URL.

    The rest of the path goes on as the browser sent it, still encoded: decoded, ``%2F`` and
    ``%2E`` would become path segments (``..%2F..%2Fhub%2Flogout`` would lead to ``/hub/logout``),
    and ``%23``/``%3F`` in a file's name a fragment or a query.
    """

    async def get(self, user_name, user_path):
        canonical = self.authenticator.canonical_username(user_name)
        if canonical != user_name:
            prefix = url_path_join(self.hub.base_url, "user") + "/"  # the hub's route: /hub/user/<name>/...
            raw_rest = self.request.path[len(prefix) :].partition("/")
            target = url_path_join(self.base_url, "user", url_escape_path(canonical)) + raw_rest[1] + raw_rest[2]
            if self.request.query:
                target += f"?{self.request.query}"
            self.redirect(target)
            return
        await super().get(user_name, user_path)


def authenticator_handlers() -> list[tuple]:
    """The routes the authenticator adds; JupyterHub puts them before its own."""
    return [
        ("/login", AppLoginHandler),
        ("/logout", AppLogoutHandler),
        (r"/user/(?P<user_name>[^/]+)(?P<user_path>/.*)?", CanonicalUserUrlHandler),
        *canonical_api_handlers(),
        *spawn_page_handlers(),
    ]
