"""The hub pages and API routes the OpenHexa authenticator replaces or wraps.

- ``/hub/login``: log in from the App's cookies, or send the person to the App.
- ``/hub/logout``: called by a browser, or by the App's backend with only the App's
  cookies (its ``POST /auth/logout/``). Either way the person's servers stop and every
  hub cookie and token issued to them is voided.
- Every route that names a user (``/hub/api/users/<name>...``, ``/user/<name>/...``):
  the App spells a name as the email it stores (``Mixed.Case+tag@...``, sometimes
  percent-encoded); each spelling reaches the one hub user that person logs in as.
- ``POST /hub/api/users/<name>/servers/<workspace>`` (the App's ``launchNotebookServer``)
  beyond ``concurrent_spawn_limit``: a place in a line, not JupyterHub's 429 (see
  :class:`SpawnLine`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jupyterhub import apihandlers
from jupyterhub.handlers import BaseHandler, LogoutHandler
from jupyterhub.handlers.base import UserUrlHandler
from jupyterhub.utils import url_escape_path, url_path_join
from tornado import web

from .app_client import NotLoggedIn
from .errors import refusal

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
        self._backend_logout_cleanup(user.name)
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
        if spawner.pending == "spawn" and spawner._spawn_future is not None:
            # Interrupt the start, then stop whatever it had started (as the REST API does).
            spawner._spawn_future.cancel()
            with contextlib.suppress(BaseException):
                await spawner._spawn_future
        if spawner.pending == "stop":
            await spawner._stop_future
        elif spawner.active:
            await self.stop_single_user(user, name)

    async def render_logout_page(self):
        self.redirect(self.authenticator.logout_redirect_url)


class InLine(Exception):
    """The spawn was not started: the person waits in the :class:`SpawnLine`."""

    def __init__(self, place: int, waiting: int, starting: int, limit: int):
        super().__init__(place)
        self.place, self.waiting, self.starting, self.limit = place, waiting, starting, limit

    def answer(self, keep: float) -> dict:
        return {
            "status": "waiting",
            "place": self.place,
            "waiting": self.waiting,
            "starting": self.starting,
            "concurrent_spawn_limit": self.limit,
            "message": (
                f"{self.starting} notebook servers are starting, the most this hub starts at once; you are number "
                f"{self.place} in line. Ask again within {keep:.0f} seconds to keep your place."
            ),
        }


@dataclass
class SpawnLine:
    """Who waits for a place under ``concurrent_spawn_limit``, first come, first served.

    JupyterHub answers a spawn beyond the limit with 429 "Too many users trying to log in
    right now". The App does not retry on that: ``notebooks/api.py`` raises it
    (``raise_for_status``) and its frontend shows an error page (``launchNotebookServer``
    in ``getServerSideProps``) or stops asking (a later poll). What the App does retry is a
    server that is not ready yet: it calls ``launchNotebookServer`` every second, which
    POSTs the server again while the hub does not list it. So a workspace launch beyond
    the limit gets 202 with its place in this line (the App reads "starting", and asks
    again); a person is let through once fewer than the limit are starting and everyone
    ahead of them has gone. A place is kept ``keep`` seconds after the last ask (someone
    who closed the page leaves the line), and nobody waits more than ``deadline``
    seconds: then the answer is a 503 saying so. The line is the hub's only: it is not
    in the database, and a hub restart empties it (the App asks again anyway).
    """

    keep: float
    deadline: float
    waiting: OrderedDict = field(default_factory=OrderedDict)  # (user, server) -> [joined, last asked]

    @classmethod
    def of(cls, handler) -> SpawnLine:
        """The hub's line, made on first use (the authenticator's spawn_line_keep and spawn_line_deadline)."""
        settings, authenticator = handler.settings, handler.authenticator
        if "openhexa_spawn_line" not in settings:
            settings["openhexa_spawn_line"] = cls(
                keep=authenticator.spawn_line_keep, deadline=authenticator.spawn_line_deadline
            )
        return settings["openhexa_spawn_line"]

    def forget_gone(self, now: float) -> None:
        for key in [k for k, (_, asked) in self.waiting.items() if now - asked > self.keep]:
            del self.waiting[key]

    def ask(self, key: tuple[str, str], now: float) -> tuple[int, float]:
        """Join the line or keep one's place; returns (place from 0, seconds waited)."""
        self.forget_gone(now)
        times = self.waiting.setdefault(key, [now, now])
        times[1] = now
        return list(self.waiting).index(key), now - times[0]

    def leave(self, key: tuple[str, str]) -> None:
        self.waiting.pop(key, None)

    def __len__(self) -> int:
        return len(self.waiting)


def duration(seconds: float) -> str:
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def spawns_starting(handler) -> int:
    """Spawns JupyterHub counts against ``concurrent_spawn_limit``."""
    counts = handler.users.count_active_users()
    return counts["spawn_pending"] + counts["proxy_pending"]


def throttled(error: web.HTTPError) -> bool:
    """JupyterHub's 429 for ``concurrent_spawn_limit`` (it alone sets Retry-After), not ``active_server_limit``'s."""
    return error.status_code == 429 and "Retry-After" in (getattr(error, "headers", None) or {})


class SpawnLineAPI:
    """Mixed into ``POST /api/users/<name>/servers/<server>``: beyond the spawn limit, a place in the line;
    and the App's refusal of a workspace as the answer, whatever ``slow_spawn_timeout`` says.

    JupyterHub answers a spawn still under way after ``slow_spawn_timeout`` with 202; Zero to
    JupyterHub's hub configuration sets it to 0, so every launch would get 202, the App's
    refusal (no such workspace, not a member, the App down) would end the spawn a moment
    later, and the App, finding no server, would launch it again every second, forever.
    So a workspace launch answers once the spawn hooks have the App's answer: the refusal,
    or 202 for a server that goes on starting.
    """

    async def post(self, user_name, server_name=""):
        try:
            await super().post(user_name, server_name)
        except InLine as place:
            line = SpawnLine.of(self)
            self.set_status(202)
            self.set_header("Content-Type", "application/json")
            self.set_header("Retry-After", "1")
            self.finish(json.dumps(place.answer(line.keep)))

    async def spawn_single_user(self, user, server_name="", options=None):
        limit = self.concurrent_spawn_limit
        if not server_name:
            return await super().spawn_single_user(user, server_name, options=options)
        if not limit:
            return await self._spawn_once_the_app_answered(user, server_name, options)
        line, key, now = SpawnLine.of(self), (user.name, server_name), time.monotonic()
        place, waited = line.ask(key, now)
        starting = spawns_starting(self)
        if place >= limit - starting:
            self._wait_or_give_up(line, key, place, waited, starting, limit)
        line.leave(key)  # through: starting from now on, the spawn counts against the limit
        try:
            return await self._spawn_once_the_app_answered(user, server_name, options)
        except web.HTTPError as error:
            if not throttled(error):
                raise
            # Let through by the count above, beaten to the place while JupyterHub checked
            # the person (refresh_pre_spawn): first in line again.
            line.waiting[key] = [now - waited, now]
            line.waiting.move_to_end(key, last=False)
            self._wait_or_give_up(line, key, 0, waited, spawns_starting(self), limit)

    async def _spawn_once_the_app_answered(self, user, server_name: str, options):
        """JupyterHub's spawn, then, while it is under way, the App's answer to the spawn hooks (the
        authenticator's ``pre_spawn_start`` sets ``app_answered``): its refusal is raised here."""
        self.app_answered = asyncio.get_running_loop().create_future()
        started = await super().spawn_single_user(user, server_name, options=options)
        spawner = user.spawners.get(server_name)
        spawn = getattr(spawner, "_spawn_future", None) if spawner is not None else None
        if spawn is not None and not spawn.done() and not self.app_answered.done():
            # The App's calls are bounded by the client's timeouts; a spawn that ends first ends the wait.
            await asyncio.wait({self.app_answered, spawn}, return_when=asyncio.FIRST_COMPLETED)
        refused = self.app_answered.result() if self.app_answered.done() else None
        if refused is None and spawn is not None and spawn.done() and not spawn.cancelled():
            refused = spawn.exception() if isinstance(spawn.exception(), web.HTTPError) else None
        if refused is not None:
            raise refused
        return started

    def _wait_or_give_up(self, line: SpawnLine, key, place: int, waited: float, starting: int, limit: int):
        if waited > line.deadline:
            line.leave(key)
            self.log.warning("%s waited %.0fs in the spawn line: giving up", key, waited)
            raise refusal(
                503,
                f"This notebook server waited {duration(waited)} for its turn to start: the hub has been "
                f"starting {limit} servers at once all that time. Try again later.",
            )
        if waited == 0:
            self.log.info(
                "%s waits in the spawn line at place %d (%d starting, limit %d)", key, place + 1, starting, limit
            )
        raise InLine(place + 1, len(line), starting, limit)


class CanonicalUserNameAPI:
    """Mixed into the REST API's user handlers: the user's name as the hub keeps it."""

    async def prepare(self):
        if self.path_args:
            self.path_args[0] = self.authenticator.canonical_username(self.path_args[0])
        await super().prepare()


def canonical_api_handlers() -> list[tuple[str, type]]:
    """Every REST API route that names a user, with the name made canonical first."""
    routes = []
    for pattern, handler, *rest in apihandlers.default_handlers:
        if pattern.startswith("/api/users/([^/]+)"):
            mixins = (CanonicalUserNameAPI,)
            if issubclass(handler, apihandlers.users.UserServerAPIHandler):
                mixins += (SpawnLineAPI,)
            wrapped = type(handler.__name__, (*mixins, handler), {})
            routes.append((pattern, wrapped, *rest))
    return routes


class CanonicalUserUrlHandler(UserUrlHandler):
    """``/user/<name>/...`` reached the hub: a name spelled otherwise goes to its canonical URL."""

    async def get(self, user_name, user_path):
        canonical = self.authenticator.canonical_username(user_name)
        if canonical != user_name:
            target = url_path_join(self.base_url, "user", url_escape_path(canonical)) + (user_path or "/")
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
    ]
