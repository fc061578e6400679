"""The spawn line: beyond ``concurrent_spawn_limit``, people wait their turn, one place each.

JupyterHub answers a spawn beyond the limit with 429 "Too many users trying to log in right
now". The App does not retry on that: ``notebooks/api.py`` raises it (``raise_for_status``) and
its frontend shows an error page (``launchNotebookServer`` in ``getServerSideProps``) or stops
asking (a later poll). What the App does retry is a server that is not ready yet: it calls
``launchNotebookServer`` every second, which POSTs the server again while the hub does not list
it. So a launch beyond the limit gets 202 with its place in this line (the App reads
"starting", and asks again), and the hub's spawn page shows the place and asks again itself.

Every spawn passes through it: the REST API (the App's workspace launches, the default server)
and the hub's spawn page (the default server; a workspace server is the App's to start). A
place goes only to a spawn that would start: the name is a workspace's, the request is the
App's for a workspace server, and the App has just said yes to the person's session and server
(the spawn hooks' own questions, ``SpawnHooks.launch_credentials``). It is a
person's, one each, whatever servers they ask for, and nothing is kept in the database while
they wait (a named server JupyterHub made a row for is removed again). A place is kept ``keep``
seconds after its owner's last ask (someone who closed the page leaves the line), and nobody
waits more than ``deadline`` seconds: then the answer is a 503 saying so. The line is the hub's
only, in memory; a hub restart empties it (the App asks again anyway).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from jupyterhub.scopes import needs_scope
from tornado import web

from . import internals
from .errors import refusal


class InLine(Exception):
    """The spawn was not started: the person waits in the :class:`SpawnLine`."""

    def __init__(self, place: int, waiting: int, starting: int, limit: int):
        super().__init__(place)
        self.place, self.waiting, self.starting, self.limit = place, waiting, starting, limit

    def message(self, keep: float) -> str:
        return (
            f"{self.starting} notebook servers are starting, the most this hub starts at once; you are number "
            f"{self.place} in line. Ask again within {keep:.0f} seconds to keep your place."
        )

    def answer(self, keep: float) -> dict:
        return {
            "status": "waiting",
            "place": self.place,
            "waiting": self.waiting,
            "starting": self.starting,
            "concurrent_spawn_limit": self.limit,
            "message": self.message(keep),
        }


@dataclass
class SpawnLine:
    """Who waits for a place under ``concurrent_spawn_limit``, first come, first served: one place a person."""

    keep: float
    deadline: float
    waiting: OrderedDict = field(default_factory=OrderedDict)  # person -> [joined, last asked]
    servers: dict = field(default_factory=dict)  # person -> the server the App said yes to

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
        for person in [p for p, (_, asked) in self.waiting.items() if now - asked > self.keep]:
            self.leave(person)

    def ask(self, person: str, now: float) -> tuple[int, float]:
        """Join the line or keep one's place; returns (place from 0, seconds waited)."""
        self.forget_gone(now)
        times = self.waiting.setdefault(person, [now, now])
        times[1] = now
        return list(self.waiting).index(person), now - times[0]

    def first_again(self, person: str, server: str, joined: float, now: float) -> None:
        self.waiting[person] = [joined, now]
        self.servers[person] = server
        self.waiting.move_to_end(person, last=False)

    def leave(self, person: str) -> None:
        self.waiting.pop(person, None)
        self.servers.pop(person, None)

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


def forget_unstarted(handler, user, server_name: str) -> None:
    """Remove a named server JupyterHub keeps a row for but that is not running, starting or stopping."""
    spawner = user.spawners.get(server_name) if server_name else None
    if spawner is None or spawner.active or spawner.pending or internals.has_server_record(spawner):
        return
    internals.forget_server(user, server_name, handler.db)


class SpawnLineHandler:
    """Mixed into the handlers that spawn (the REST API's server handler, the spawn page)."""

    async def through_the_line(self, user, server_name: str) -> None:
        """Return when ``user`` may start ``server_name`` now; else raise :class:`InLine` with their place,
        the App's refusal, or a 503 once they waited too long."""
        limit = self.concurrent_spawn_limit
        if not limit:
            return
        line, now = SpawnLine.of(self), time.monotonic()
        line.forget_gone(now)
        if user.name not in line.waiting and not line.waiting and spawns_starting(self) < limit:
            return  # room and nobody waiting: the spawn hooks ask the App
        if line.servers.get(user.name) != server_name:
            # A place only for a spawn the App lets start (name, the App's request, its answer); the
            # person's one place, whichever server they ask for.
            log_name = f"{user.name}'s server {server_name!r}"
            await self.authenticator.launch_credentials(self, user, server_name, log_name)
        place, waited = line.ask(user.name, now)
        line.servers[user.name] = server_name
        starting = spawns_starting(self)
        if place >= limit - starting:
            self._wait_or_give_up(line, user.name, place, waited, starting, limit)
        line.leave(user.name)  # through: starting from now on, the spawn counts against the limit
        self._line_joined = now - waited

    def back_first_in_line(self, user, server_name: str) -> None:
        """Let through by the count, then beaten to the place by another spawn (JupyterHub's own 429):
        first in line again."""
        line, now = SpawnLine.of(self), time.monotonic()
        joined = getattr(self, "_line_joined", now)
        line.first_again(user.name, server_name, joined, now)
        self._wait_or_give_up(line, user.name, 0, now - joined, spawns_starting(self), self.concurrent_spawn_limit)

    def _wait_or_give_up(self, line: SpawnLine, person: str, place: int, waited: float, starting: int, limit: int):
        if waited > line.deadline:
            line.leave(person)
            self.log.warning("%s waited %.0fs in the spawn line: giving up", person, waited)
            raise refusal(
                503,
                f"This notebook server waited {duration(waited)} for its turn to start: the hub has been "
                f"starting {limit} servers at once all that time. Try again later.",
            )
        if waited == 0:
            self.log.info(
                "%s waits in the spawn line at place %d (%d starting, limit %d)", person, place + 1, starting, limit
            )
        raise InLine(place + 1, len(line), starting, limit)


class SpawnLineAPI(SpawnLineHandler):
    """Mixed into ``POST /api/users/<name>/server[s/<server>]``: the line; and the App's refusal of a workspace
    as the answer, whatever ``slow_spawn_timeout`` says.

    JupyterHub answers a spawn still under way after ``slow_spawn_timeout`` with 202; Zero to
    JupyterHub's hub configuration sets it to 0, so every launch would get 202, the App's
    refusal (no such workspace, not a member, the App down) would end the spawn a moment
    later, and the App, finding no server, would launch it again every second, forever.
    So a workspace launch answers once the spawn hooks have the App's answer: the refusal,
    or 202 for a server that goes on starting.
    """

    async def post(self, user_name, server_name=""):
        if server_name:
            self._check_workspace_request(user_name, server_name)
            user = self.find_user(user_name)
            if user is not None:
                await internals.admit_workspace_name(self, user, server_name)
        try:
            await super().post(user_name, server_name)
        except InLine as place:
            self._forget_unstarted(user_name, server_name)
            line = SpawnLine.of(self)
            self.set_status(202)
            self.set_header("Content-Type", "application/json")
            self.set_header("Retry-After", "1")
            self.finish(json.dumps(place.answer(line.keep)))
        except web.HTTPError:
            self._forget_unstarted(user_name, server_name)
            raise

    async def put(self, user_name, server_name=""):
        # JupyterHub 6 makes a named server without starting it (5 has no PUT: 405): a workspace's is the App's.
        if server_name:
            self._check_workspace_request(user_name, server_name)
        await super().put(user_name, server_name)

    async def patch(self, user_name, server_name=""):
        # JupyterHub 6 renames a stopped server or sets its options (5 has no PATCH: 405): a workspace
        # server's, or a rename to a workspace's name, is the App's.
        body = self.get_json_body() or {}
        target = body.get("name") if isinstance(body, dict) else None
        for name in (server_name, target):
            if name is not None and name != "":
                self._check_workspace_request(user_name, name if isinstance(name, str) else "")
        await super().patch(user_name, server_name)

    # JupyterHub's own check of the requester's scopes first, as its post does (404 to whoever may not
    # see the person); then, before JupyterHub keeps a row for the name: a workspace's, asked by the App.
    # (needs_scope: JupyterHub's decorator of its API handlers.)
    @needs_scope("servers")
    def _check_workspace_request(self, user_name, server_name):
        self.authenticator.check_workspace_request(self, server_name)

    def _forget_unstarted(self, user_name, server_name):
        user = self.find_user(user_name)
        if user is not None:
            forget_unstarted(self, user, server_name)

    async def spawn_single_user(self, user, server_name="", *args, **kwargs):
        # The rest as JupyterHub passes it: ``options=`` (5.x), ``display_name, options=`` (6.x).
        await self.through_the_line(user, server_name)
        if server_name and kwargs.get("options") is None:
            # The App sends no body for a workspace without a profile; JupyterHub would take the server's
            # last options then (User.spawn), a profile the workspace may no longer have.
            kwargs["options"] = {}
        try:
            if not server_name:
                return await super().spawn_single_user(user, server_name, *args, **kwargs)
            return await self._spawn_once_the_app_answered(user, server_name, *args, **kwargs)
        except web.HTTPError as error:
            if not throttled(error):
                raise
            self.back_first_in_line(user, server_name)

    async def _spawn_once_the_app_answered(self, user, server_name: str, *args, **kwargs):
        """JupyterHub's spawn, then, while it is under way, the App's answer to the spawn hooks (the
        authenticator's ``pre_spawn_start`` sets ``app_answered``): its refusal is raised here."""
        self.app_answered = asyncio.get_running_loop().create_future()
        spawning = asyncio.ensure_future(super().spawn_single_user(user, server_name, *args, **kwargs))
        await asyncio.wait({spawning, self.app_answered}, return_when=asyncio.FIRST_COMPLETED)
        if not spawning.done() and self.app_answered.result() is not None:
            # A refusal while JupyterHub still waits for the spawn (a logout cancelled it, and JupyterHub
            # waits on until slow_spawn_timeout): the answer now; JupyterHub's own wait ends by itself.
            spawning.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise self.app_answered.result()
        started = await spawning
        spawner = user.spawners.get(server_name)
        spawn = internals.spawn_future(spawner) if spawner is not None else None
        if spawn is not None and not spawn.done() and not self.app_answered.done():
            # The App's calls are bounded by the client's timeouts; a spawn that ends first ends the wait.
            await asyncio.wait({self.app_answered, spawn}, return_when=asyncio.FIRST_COMPLETED)
        refused = self.app_answered.result() if self.app_answered.done() else None
        if refused is None and spawn is not None and spawn.done() and not spawn.cancelled():
            refused = spawn.exception() if isinstance(spawn.exception(), web.HTTPError) else None
        if refused is not None:
            raise refused
        return started


class SpawnLinePage(SpawnLineHandler):
    """Mixed into ``/hub/spawn[/<name>[/<server>]]``: the default server through the line, its place on a
    page that asks again by itself; a workspace server is refused, the App starts those."""

    @web.authenticated
    async def get(self, user_name=None, server_name=""):
        await self._spawn_page(super().get, user_name, server_name)

    @web.authenticated
    async def post(self, user_name=None, server_name=""):
        await self._spawn_page(super().post, user_name, server_name)

    async def _spawn_page(self, jupyterhub_page, user_name, server_name):
        if server_name:
            self.authenticator.check_workspace_request(self, server_name)
        user = self.current_user if user_name in (None, self.current_user.name) else None
        spawner = user.spawner if user is not None else None
        try:
            if spawner is not None and not (spawner.active or spawner.ready):
                await self.through_the_line(user, "")
        except InLine as place:
            self.set_header("Retry-After", "2")
            page = await self.render_template("spawn_line.html", message=place.message(SpawnLine.of(self).keep))
            self.finish(page)
            return
        result = jupyterhub_page(user_name, server_name)
        if result is not None:
            await result
