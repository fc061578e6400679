"""Which App session each browser's hub login came from, and what the App last said about a session.

A hub login is only as good as the App session it came from. A browser's requests to the hub
carry that session's cookies, so the hub can ask the App again; a notebook server's requests
to the hub (its check of a browser's login token) do not. So the hub keeps, for each browser
session (JupyterHub's ``jupyterhub-session-id``, which every login token a server holds is
tied to), the App cookies it logged in with; the server's check asks the App about those.

They are kept in memory and, to outlive a hub restart, in the person's ``auth_state``, which
JupyterHub encrypts in its database (``JUPYTERHUB_CRYPT_KEY``, the chart's ``CryptKeeper.keys``).
Each one is encrypted once more with the same keys (JupyterHub's ``crypto``): ``auth_state``
is readable through the REST API with ``admin:auth_state``, which the App's ``admin:users``
role includes, and nobody but the hub needs another person's App session.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from jupyterhub import crypto

from .app_client import AppCookies

STATE_KEY = "app_sessions"  # in auth_state: browser session id -> the App cookies, encrypted
MAX_SESSIONS = 20  # browsers a person is logged in from at once, kept; the oldest go first


class SessionBindings:
    """Browser session id -> the App cookies its hub login came from, per person."""

    def __init__(self):
        self.memory: dict[tuple[str, str], AppCookies] = {}

    async def get(self, user, session_id: str) -> AppCookies | None:
        """The App cookies ``user``'s login in browser ``session_id`` came from, or None when unknown."""
        cookies = self.memory.get((user.name, session_id))
        if cookies is None:
            sealed = ((await user.get_auth_state()) or {}).get(STATE_KEY, {}).get(session_id)
            if sealed:
                opened = await crypto.decrypt(sealed.encode())
                cookies = self.memory[(user.name, session_id)] = AppCookies(**opened)
        return cookies

    def known(self, user, session_id: str, cookies: AppCookies) -> bool:
        return self.memory.get((user.name, session_id)) == cookies

    async def bind(self, state: dict | None, name: str, session_id: str, cookies: AppCookies) -> dict:
        """``state`` (a person's auth_state) with browser ``session_id`` bound to ``cookies``."""
        self.memory[(name, session_id)] = cookies
        sealed = (await crypto.encrypt({"sessionid": cookies.sessionid, "csrftoken": cookies.csrftoken})).decode()
        sessions = OrderedDict((state or {}).get(STATE_KEY, {}))
        sessions.pop(session_id, None)
        sessions[session_id] = sealed
        while len(sessions) > MAX_SESSIONS:
            forgotten, _ = sessions.popitem(last=False)
            self.memory.pop((name, forgotten), None)
        return {**(state or {}), STATE_KEY: dict(sessions)}

    def forget(self, name: str, session_id: str) -> None:
        self.memory.pop((name, session_id), None)


class Verdicts:
    """What the App last said about a session (its owner, or None: no session), reused for ``age`` seconds.

    With ``auth_refresh_age`` at 1 second the hub checks a login on nearly every request; a
    browser or a server asks many times a second, the App is asked once per ``age``.
    """

    def __init__(self, age: float):
        self.age = age
        self.answers: dict[str, tuple[float, str | None]] = {}

    def get(self, cookies: AppCookies) -> tuple[bool, str | None]:
        """(known, owner): whether there is a fresh answer for the session, and what it was."""
        found = self.answers.get(cookies.sessionid)
        if found is None or time.monotonic() - found[0] > self.age:
            return False, None
        return True, found[1]

    def keep(self, cookies: AppCookies, owner: str | None) -> None:
        now = time.monotonic()
        if len(self.answers) > 10_000:  # a bound, whoever sends made-up sessions
            self.answers = {k: v for k, v in self.answers.items() if now - v[0] <= self.age}
        self.answers[cookies.sessionid] = (now, owner)

    def forget_owner(self, name: str) -> None:
        """Forget every answer naming ``name`` (they logged out: their sessions end now, not in ``age``)."""
        self.answers = {k: v for k, v in self.answers.items() if v[1] != name}
