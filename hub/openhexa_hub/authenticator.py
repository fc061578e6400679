"""A JupyterHub authenticator that trusts the OpenHexa App's session.

There is no login form: the hub asks the App who owns the session cookies the
browser sends (``/notebooks/authenticate/``), again on every request once a second
has passed (a login is only as good as the App session it came from, in this browser,
and the servers' checks of a login too: ``sessions.py``), and again before every
spawn. Spawn hooks fetch the credentials a server needs from the App.
See ``shared/app-contract.md`` in the OpenHexa docs for the contract.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from urllib.parse import urlencode, urlsplit

from jupyterhub.auth import Authenticator
from jupyterhub.orm import APIToken, new_token
from tornado import web
from tornado.ioloop import IOLoop
from traitlets import Instance, default

from . import internals, spawn
from .app_client import (
    MAX_ANSWER_BYTES,
    AnswerTooLarge,
    AppClient,
    AppCookies,
    AppRefused,
    AppUnavailable,
    MalformedCookies,
    NotLoggedIn,
)
from .errors import refusal
from .handlers import AppLogoutHandler, authenticator_handlers, launched_by_app
from .internals import check_again_next_request
from .sessions import SessionBindings, Verdicts
from .traits import EnvBool, EnvFloat, EnvList, EnvUnicode

# The App's usernames are email addresses; after lowercasing they must look
# like one, and contain nothing that breaks a URL path.
EMAIL_PATTERN = re.compile(r"^[a-z0-9._%+\-']+@[a-z0-9\-]+(\.[a-z0-9\-]+)+$")
MAX_USERNAME_LENGTH = 254  # the longest email address (RFC 5321)

# Workspace (named server) names are the App's slugs (Django's validate_slug). At most
# 63 characters: KubeSpawner puts the name in a Kubernetes label, which cannot be longer.
WORKSPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")

APP_UNAVAILABLE = "The OpenHexa App is unavailable, try again in a moment."
SESSION_ENDED = "Your OpenHexa session has ended: log in to the OpenHexa App again, then reopen your notebooks."
BAD_COOKIES = "Your OpenHexa cookies are not valid: log in to the OpenHexa App again."
WORKSPACE_FROM_THE_APP = (
    "Workspace notebooks are opened from the OpenHexa App: open the workspace there, then its notebooks."
)
ANSWER_TOO_LARGE = (
    f"The OpenHexa App's answer was larger than the hub reads ({MAX_ANSWER_BYTES // 1024} kB): "
    "an administrator needs to look at the App."
)
# A server's environment holds its files (OPENHEXA_FILES): Linux refuses a single
# environment string over 128 kB (E2BIG), and a server would not start.
MAX_FILES_BYTES = 96 * 1024
SAMESITE_VALUES = ("Lax", "Strict", "None")

REQUIRED = (
    "authentication_url",
    "default_credentials_url",
    "workspace_credentials_url",
    "logout_redirect_url",
    "hexa_server_url",
    "content_security_policy",
)


def forgive_spawn_failure(spawner) -> None:
    """Take back, ahead of time, the count JupyterHub adds when this spawn fails.

    JupyterHub counts every failed spawn (a done callback of the spawn, which runs after the
    refusal) and exits at the spawner's ``consecutive_failure_limit``; a success sets it back to 0.
    """
    handler = getattr(spawner, "handler", None)
    settings = getattr(handler, "settings", None)
    if settings is not None:
        # JupyterHub then logs "N consecutive spawns failed. Hub will exit ..." with the count it has
        # after adding this one back: unchanged, and no failure happened. That line is left out.
        REFUSALS_LOG.refused(internals.take_back_spawn_failure(settings))


class RefusalsAreNoFailures(logging.Filter):
    """Leave out JupyterHub's "N consecutive spawns failed" line after a refusal (which it counts, and the
    authenticator takes back ahead of time: N is the count of real failures before it, logged already)."""

    MESSAGE = "%i consecutive spawns failed"

    def __init__(self):
        super().__init__()
        self.count: int | None = None  # the count JupyterHub will log after the last refusal

    def refused(self, count: int) -> None:
        self.count = count

    def filter(self, record: logging.LogRecord) -> bool:
        if self.count is None or not str(record.msg).startswith(self.MESSAGE) or not record.args:
            return True
        if record.args[0] != self.count:
            return True
        self.count = None
        return False


REFUSALS_LOG = RefusalsAreNoFailures()


def forget_refused_server(user, spawner) -> None:
    """Once a refused named server's spawn has ended, remove it and its database row.

    JupyterHub keeps a row for every named server asked for, started or not: people
    asking for workspaces they may not open would fill the database, one row each.
    """
    future = internals.spawn_future(spawner)
    if future is None:
        return

    def remove():
        if user.spawners.get(spawner.name) is not spawner or spawner.active or spawner.pending:
            return
        internals.forget_server(user, spawner.name, user.db)

    # After JupyterHub's own callbacks on the spawn, on the next turn of the loop.
    future.add_done_callback(lambda _: IOLoop.current().add_callback(remove))


class OpenHexaAuthenticator(Authenticator):
    """Authenticate people from their OpenHexa App session.

    Each setting defaults to the environment variable named in its help.
    """

    authentication_url = EnvUnicode(
        "AUTHENTICATION_URL",
        config=True,
        help="The App's `/notebooks/authenticate/` endpoint, as the hub reaches it (env AUTHENTICATION_URL). Required.",
    )
    default_credentials_url = EnvUnicode(
        "DEFAULT_CREDENTIALS_URL",
        config=True,
        help="The App's `/notebooks/default-credentials/` endpoint, called before a "
        "default server starts (env DEFAULT_CREDENTIALS_URL). Required.",
    )
    workspace_credentials_url = EnvUnicode(
        "WORKSPACE_CREDENTIALS_URL",
        config=True,
        help="The App's `/workspaces/credentials/` endpoint, called before a workspace "
        "(named) server starts (env WORKSPACE_CREDENTIALS_URL). Required.",
    )
    logout_redirect_url = EnvUnicode(
        "LOGOUT_REDIRECT_URL",
        config=True,
        help="Where `/hub/logout` sends the browser once servers are stopped, a page of "
        "the App as the browser reaches it (env LOGOUT_REDIRECT_URL). Required.",
    )
    hexa_server_url = EnvUnicode(
        "HEXA_SERVER_URL",
        config=True,
        help="The App's URL as notebook servers reach it; given to every server as "
        "HEXA_SERVER_URL (env HEXA_SERVER_URL). Required.",
    )
    content_security_policy = EnvUnicode(
        "CONTENT_SECURITY_POLICY",
        config=True,
        help="Content-Security-Policy header of every hub page, typically "
        "`frame-ancestors 'self' <App origin>` so the App can show the hub in an "
        "iframe (env CONTENT_SECURITY_POLICY). Required.",
    )
    app_login_url = EnvUnicode(
        "APP_LOGIN_URL",
        config=True,
        help="The App's login page as the browser reaches it; a person without an App "
        "session is sent there with `next` pointing back to the hub (env APP_LOGIN_URL; "
        "default: `/login` at the origin of LOGOUT_REDIRECT_URL).",
    )
    app_connect_timeout = EnvFloat(
        "APP_CONNECT_TIMEOUT",
        5.0,
        config=True,
        help="Seconds to wait for a connection to the App (env APP_CONNECT_TIMEOUT).",
    )
    app_read_timeout = EnvFloat(
        "APP_READ_TIMEOUT",
        15.0,
        config=True,
        help="Seconds to wait for the App's whole answer once connected (env APP_READ_TIMEOUT).",
    )
    spawn_line_keep = EnvFloat(
        "SPAWN_LINE_KEEP",
        60.0,
        config=True,
        help=(
            "Seconds a workspace launch beyond concurrent_spawn_limit keeps its place in the spawn line "
            "after its last ask (env SPAWN_LINE_KEEP)."
        ),
    )
    spawn_line_deadline = EnvFloat(
        "SPAWN_LINE_DEADLINE",
        900.0,
        config=True,
        help="Seconds a launch may wait in the spawn line before a 503 says so (env SPAWN_LINE_DEADLINE).",
    )
    app_session_cache = EnvFloat(
        "APP_SESSION_CACHE",
        5.0,
        config=True,
        help="Seconds the hub reuses the App's answer about a session before asking again "
        "(env APP_SESSION_CACHE). A login is checked on nearly every request (auth_refresh_age 1).",
    )
    extra_app_env = EnvList(
        "EXTRA_APP_ENV",
        config=True,
        help="Environment variables the App may set beyond those its code sends, comma-separated; "
        "`NAME*` for a prefix (env EXTRA_APP_ENV). The names the hub and the image rely on stay refused.",
    )
    local_storage_root = EnvUnicode(
        "LOCAL_STORAGE_ROOT",
        config=True,
        help="The folder, as the Docker engine sees it, under which the App keeps the buckets of the "
        "'local' storage engine (the App's WORKSPACE_STORAGE_MOUNT_PATH must be below it); "
        "empty: the 'local' engine is refused (env LOCAL_STORAGE_ROOT).",
    )
    fuse_seccomp_profile = EnvUnicode(
        "FUSE_SECCOMP_PROFILE",
        "openhexa/fuse.json",
        config=True,
        help="KubeSpawner: the Localhost seccomp profile of servers that mount a bucket with FUSE, relative to "
        "the kubelet's seccomp folder (/var/lib/kubelet/seccomp): openhexa_hub/seccomp/fuse.json installed on "
        "every node (env FUSE_SECCOMP_PROFILE). DockerSpawner passes that file itself.",
    )
    allowed_images = EnvList(
        "ALLOWED_IMAGES",
        config=True,
        help="Images the App may ask for in a workspace answer, besides the spawner's "
        "own image; any other image refuses the spawn (env ALLOWED_IMAGES, comma-separated).",
    )
    app_default_image = EnvUnicode(
        "APP_DEFAULT_IMAGE",
        "blsq/openhexa-base-environment:latest",
        config=True,
        help="The App's DEFAULT_WORKSPACE_IMAGE: the image it names for every workspace "
        "that has none of its own. A workspace asking for it gets the spawner's own image "
        "(env APP_DEFAULT_IMAGE; empty: every image the App names must be allowed).",
    )

    app_client = Instance(
        AppClient,
        config=True,
        help="The client of the App's endpoints (`post_json(url, cookies, referer, form)`). Default: an "
        "`AppClient` with `app_connect_timeout` and `app_read_timeout`, over a fresh tornado HTTP client "
        "per call. Tests give an `AppClient` whose `http_client` answers in-process, as the App would.",
    )

    cookie_secure = EnvBool(
        "COOKIE_SECURE",
        False,
        config=True,
        help="Mark every cookie of the hub and of the notebook servers Secure (env COOKIE_SECURE). "
        "Needed when TLS ends before the hub's proxy: the hub sees `X-Forwarded-Proto: https,http` "
        "and takes the last hop. Without it, cookies are Secure only when the hub sees HTTPS.",
    )
    cookie_samesite = EnvUnicode(
        "COOKIE_SAMESITE",
        config=True,
        help="SameSite of every cookie of the hub and of the notebook servers: `Lax`, `Strict` or "
        "`None` (env COOKIE_SAMESITE; default: none sent, which browsers treat as Lax). `None` lets "
        "the hub work in an iframe of an App on another site, and implies Secure.",
    )

    # The App decides who may log in; the hub takes every valid App session.
    @default("allow_all")
    def _allow_all_default(self):
        return True

    # There is no login form: /hub/login always asks the App.
    @default("auto_login")
    def _auto_login_default(self):
        return True

    # A person logged out of the App cannot start servers with a stale hub cookie.
    @default("refresh_pre_spawn")
    def _refresh_pre_spawn_default(self):
        return True

    # Every request (a second at the most after the last check) checks the login against the
    # App session it came from (refresh_user); the App's answers are reused app_session_cache.
    @default("auth_refresh_age")
    def _auth_refresh_age_default(self):
        return 1

    # Where each browser's login came from outlives a hub restart (sessions.py).
    @default("enable_auth_state")
    def _enable_auth_state_default(self):
        return True

    @default("app_client")
    def _app_client_default(self):
        return AppClient(connect_timeout=self.app_connect_timeout, read_timeout=self.app_read_timeout, log=self.log)

    @default("app_login_url")
    def _app_login_url_default(self):
        from_env = self.traits()["app_login_url"].make_dynamic_default()
        if from_env or not self.logout_redirect_url:
            return from_env
        parts = urlsplit(self.logout_redirect_url)
        return f"{parts.scheme}://{parts.netloc}/login"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        missing = [name for name in REQUIRED if not getattr(self, name)]
        if missing:
            details = ", ".join(f"{name} (env {self.traits()[name].metadata['env']})" for name in missing)
            raise ValueError(f"OpenHexaAuthenticator is missing required settings: {details}")
        spawn.keep_credentials_out_of(self.log)  # the hub's logger: KubeSpawner logs refused pods on it
        if REFUSALS_LOG not in self.log.filters:
            self.log.addFilter(REFUSALS_LOG)  # JupyterHub logs its count of failed spawns on it
        self.bindings, self.verdicts = SessionBindings(), Verdicts(self.app_session_cache)
        self.app_client  # noqa: B018 - made now: a malformed timeout stops the hub at start, naming its variable
        cookie_options = self.cookie_options()  # checks both cookie settings
        # Every hub page carries the CSP unless the hub's config set its own.
        hub = self.parent
        if hub is not None and hasattr(hub, "tornado_settings"):
            headers = hub.tornado_settings.setdefault("headers", {})
            headers.setdefault("Content-Security-Policy", self.content_security_policy)
            # JupyterHub applies cookie_options to its own cookies (and the _xsrf cookie) and
            # passes them to every server it spawns (JUPYTERHUB_COOKIE_OPTIONS).
            options = hub.tornado_settings.setdefault("cookie_options", {})
            for name, value in cookie_options.items():
                options.setdefault(name, value)

    def cookie_options(self) -> dict:
        """The cookie attributes the settings ask for, as tornado's ``set_cookie`` takes them."""
        if self.cookie_samesite and self.cookie_samesite not in SAMESITE_VALUES:
            raise ValueError(f"COOKIE_SAMESITE={self.cookie_samesite!r}: use one of {', '.join(SAMESITE_VALUES)}")
        options = {}
        if self.cookie_samesite:
            options["samesite"] = self.cookie_samesite
        if self.cookie_secure or self.cookie_samesite == "None":
            options["secure"] = True  # browsers drop SameSite=None cookies that are not Secure
        return options

    def get_handlers(self, app):
        return authenticator_handlers()

    # -- the App ------------------------------------------------------------

    @staticmethod
    def hub_origin(handler) -> str:
        request = handler.request
        return f"{request.protocol}://{request.host}/"

    def trusted_hosts(self, handler) -> set[str]:
        """The hosts of the hub and of the App's pages, as browsers reach them."""
        hosts = {urlsplit(f"//{handler.request.host}").hostname}
        for url in (self.logout_redirect_url, self.app_login_url):
            hosts.add(urlsplit(url).hostname)
        hosts.update(urlsplit(source).hostname for source in self.content_security_policy.split() if "://" in source)
        return {host for host in hosts if host}

    def app_login_redirect(self, handler) -> str:
        """The App login URL, with a `next` that brings the browser back here."""
        request = handler.request
        back = f"{request.protocol}://{request.host}{request.uri}"
        separator = "&" if "?" in self.app_login_url else "?"
        return f"{self.app_login_url}{separator}{urlencode({'next': back})}"

    async def _post(self, url, handler, cookies, form=None) -> dict:
        try:
            return await self.app_client.post_json(url, cookies, self.hub_origin(handler), form)
        except AnswerTooLarge as error:
            self.log.error("OpenHexa App call failed: %s", error)
            raise refusal(502, ANSWER_TOO_LARGE) from None
        except AppUnavailable as error:
            self.log.error("OpenHexa App call failed: %s", error)
            raise refusal(503, APP_UNAVAILABLE) from None

    @staticmethod
    def app_cookies(handler) -> AppCookies | None:
        """The request's App cookies; None when missing; HTTP 400 when no browser could send them."""
        try:
            return AppCookies.from_request(handler.request)
        except MalformedCookies:
            raise refusal(400, BAD_COOKIES) from None

    def username_from(self, payload: dict) -> str:
        """The normalised username of an authenticate answer; 403 when unusable."""
        raw = payload.get("username")
        if not isinstance(raw, str) or not raw.strip():
            self.log.error("OpenHexa App answered without a usable username")
            raise refusal(503, APP_UNAVAILABLE)
        name = self.canonical_username(raw)
        if not self.validate_username(name):
            self.log.warning("Refusing username that is not an App email: %r", name[:64])
            raise refusal(403, "This account's username is not a valid OpenHexa email.")
        return name

    async def app_username(self, handler, cookies: AppCookies) -> str:
        """Ask the App who owns these cookies. Raises NotLoggedIn or HTTP 503/403."""
        try:
            payload = await self._post(self.authentication_url, handler, cookies)
        except AppRefused as refused:
            raise self._no_session(refused) from None
        return self.username_from(payload)

    async def session_owner(self, handler, cookies: AppCookies | None) -> str | None:
        """Who the App says owns this session (None: nobody, or no cookies), its answer reused a few seconds.

        A failing App is an HTTP 503, never nobody: people are not logged out while it is down.
        """
        if cookies is None:
            return None
        known, owner = self.verdicts.get(cookies)
        if not known:
            try:
                owner = await self.app_username(handler, cookies)
            except NotLoggedIn:
                owner = None
            self.verdicts.keep(cookies, owner)
        return owner

    def _no_session(self, refused: AppRefused) -> Exception:
        """What a refusal of the person's own endpoints means: 401/403 no session, 400/404 a wrong App URL."""
        if refused.status in (401, 403):
            return NotLoggedIn(str(refused))
        self.log.error("OpenHexa App call failed: %s", refused)
        return refusal(503, APP_UNAVAILABLE)

    # -- Authenticator API -------------------------------------------------

    def normalize_username(self, username):
        return super().normalize_username(username.strip())

    def canonical_username(self, name: str) -> str:
        """The hub user's name for any spelling of an App email: lowercase, trimmed.

        The App stores emails with their capitals and uses them as they are, in logins,
        REST API paths and notebook URLs. Only ASCII names are lowercased: lowercasing
        turns some other letters into ASCII ones (the Kelvin sign into k), which would
        make the App's username someone else's; such names are refused anyway.
        """
        return self.normalize_username(name) if name.isascii() else name

    def validate_username(self, username):
        return (
            len(username) <= MAX_USERNAME_LENGTH
            and bool(EMAIL_PATTERN.fullmatch(username))
            and super().validate_username(username)
        )

    async def authenticate(self, handler, data=None):
        cookies = self.app_cookies(handler)
        if cookies is None:
            return None
        name = await self.app_username(handler, cookies)
        self.verdicts.keep(cookies, name)  # the checks of the next few seconds' requests need not ask again
        # A new session id for this browser (JupyterHub sets it with the login cookie, and ties every
        # login token a server gets in this browser to it), bound to the App session the login came
        # from; never the previous login's, which may be someone else's.
        session_id = handler.set_session_cookie()
        user = handler.find_user(name)
        state = await user.get_auth_state() if user is not None else None
        return {"name": name, "auth_state": await self.bindings.bind(state, name, session_id, cookies)}

    async def refresh_user(self, user, handler=None):
        """The login holds while the App session it came from is the person's; else it ends in this browser.

        JupyterHub calls this on every request a second after the last check (auth_refresh_age),
        for a browser's hub cookie and for a token alike. A browser: its App session must be the
        person's (another person logged in to the App in this browser, or the session is gone, and
        the hub logs this browser out: its cookie, and the login tokens its servers hold). A
        server checking a browser's login token: the App session that browser logged in with must
        still be the person's, else those tokens go. Other tokens (a server's own, a person's API
        token) have no App session; spawns are checked by pre_spawn_start anyway.
        """
        if handler is None or isinstance(handler, AppLogoutHandler):
            return True  # nothing to check against; logging out needs no App session
        checked = await self._refresh(user, handler)
        if checked:
            check_again_next_request(user)  # after the last await here: JupyterHub marks the time next
        return checked

    async def _refresh(self, user, handler):
        if internals.token_authenticated(handler):
            return await self._refresh_token(user, handler)
        try:
            cookies = AppCookies.from_request(handler.request)
        except MalformedCookies:
            cookies = None  # /hub/login says what is wrong
        if await self.session_owner(handler, cookies) != user.name:
            self.log.info("This browser's App session is no longer %s's: logging %s out of it", user.name, user.name)
            handler.clear_login_cookie()  # also deletes the login tokens of this browser's servers
            return False
        session_id = handler.get_session_cookie()
        if not session_id or self.bindings.known(user, session_id, cookies):
            return True
        state = await user.get_auth_state()
        return {"auth_state": await self.bindings.bind(state, user.name, session_id, cookies)}

    async def _refresh_token(self, user, handler):
        """A request with a token: a browser's login token (tied to its session) holds while that
        browser's App session does."""
        # JupyterHub's own lookup of the token that authenticated this request (BaseHandler.get_token).
        token = handler.get_token()
        session_id = getattr(token, "session_id", None)
        if not session_id:
            return True  # a server's own token, a person's API token: no browser, no App session
        cookies = await self.bindings.get(user, session_id)
        try:
            owner = await self.session_owner(handler, cookies)
        except web.HTTPError as error:
            # The App cannot answer (a restart, an outage): the servers' logins hold meanwhile, as they
            # did before it went; nobody is logged out by the App being down. The hub's pages say 503.
            self.log.warning("The App could not say whose session %s's browser is on (%s): kept", user.name, error)
            return True
        if owner == user.name:
            return True
        self.log.info("The App session of %s's browser has ended or changed hands: its logins go", user.name)
        for orm_token in handler.db.query(APIToken).filter_by(user_id=user.id, session_id=session_id):
            handler.db.delete(orm_token)
        handler.db.commit()
        self.bindings.forget(user.name, session_id)
        return False

    def forget_sessions(self, user, db):
        """Make every hub cookie and token issued to ``user`` useless.

        The cookie id is rotated (every hub cookie signed with the old one fails), and
        every token goes: the servers' login sessions (OAuth), the tokens the person
        created on the REST API, and those of servers stopped a moment ago.
        """
        user.orm_user.cookie_id = new_token()
        for token in db.query(APIToken).filter(APIToken.user_id == user.id):
            db.delete(token)
        db.commit()
        self.verdicts.forget_owner(user.name)

    def server_settings(self) -> dict[str, str]:
        """What every notebook server gets from the hub's own settings."""
        return {
            "HEXA_SERVER_URL": self.hexa_server_url,
            # Notebook servers are framed by the App too.
            "CONTENT_SECURITY_POLICY": self.content_security_policy,
        }

    async def pre_spawn_start(self, user, spawner):
        """Fetch the server's credentials from the App and apply them.

        A refusal here (the App says no or is down, an image outside the policy, an
        unknown profile) is no failure of the hub: it does not count toward
        JupyterHub's consecutive spawn failure limit, which exits the hub (the chart
        sets 5), so people refused again and again never restart it for everyone.
        """
        answered = getattr(spawner.handler, "app_answered", None)  # a workspace launch's REST call waits on it
        try:
            await self._prepare(user, spawner)
        except asyncio.CancelledError:
            # The spawn was stopped while it asked the App: its person logged out (the logout stops a
            # server still starting). The launch answers so, not with a 500.
            if answered is not None and not answered.done():
                answered.set_result(
                    refusal(409, "The notebook server was stopped while it started: its person logged out.")
                )
            raise
        except web.HTTPError as error:
            forgive_spawn_failure(spawner)
            if spawner.name:
                forget_refused_server(user, spawner)
            if answered is not None and not answered.done():
                answered.set_result(error)
            raise
        if answered is not None and not answered.done():
            answered.set_result(None)

    async def _prepare(self, user, spawner):
        handler = spawner.handler
        credentials = await self.launch_credentials(handler, user, spawner.name, internals.log_name(spawner))
        try:
            if spawner.name:
                self._apply_workspace(spawner, credentials)
            else:
                self._apply_default(spawner, credentials)
                # The default server keeps the default profile, whatever the request asked for
                # (KubeSpawner would apply user_options' profile when the server starts).
                spawner.user_options = {}
            self._apply_profile(spawner)
        except spawn.BadCredentials as error:
            self.log.error("OpenHexa App credentials for %s unusable: %s", internals.log_name(spawner), error)
            raise refusal(502, "The OpenHexa App sent credentials the hub cannot use.") from None

    async def launch_credentials(self, handler, user, server_name: str, log_name: str) -> spawn.Credentials:
        """The App's credentials for ``user``'s server ``server_name``, once every rule holds; else a refusal.

        The server's name is a workspace slug; a workspace server is the App's to start (its
        service token, with the person's cookies); the App session is the person's and the App
        lets them open it. The spawn hooks apply what this returns; the spawn line asks it
        before it gives anyone a place.
        """
        if server_name:
            self.check_workspace_request(handler, server_name)
        cookies = self.app_cookies(handler) if handler is not None else None
        if cookies is None:
            raise refusal(403, SESSION_ENDED)
        try:
            if server_name:
                self._check_owner(user, await self.app_username(handler, cookies))
                form = {"workspace": server_name}
                try:
                    payload = await self._post(self.workspace_credentials_url, handler, cookies, form)
                except AppRefused as refused:
                    raise self._workspace_refusal(server_name, refused) from None
                return spawn.parse_workspace_credentials(payload, self.extra_app_env)
            try:
                payload = await self._post(self.default_credentials_url, handler, cookies)
            except AppRefused as refused:
                raise self._no_session(refused) from None
            self._check_owner(user, self.username_from(payload))
            return spawn.parse_default_credentials(payload, self.extra_app_env)
        except NotLoggedIn:
            raise refusal(403, SESSION_ENDED) from None
        except spawn.Forbidden as error:  # a name or a file: never its value, never the file's content
            self.log.error("OpenHexa App credentials for %s: %s: refused", log_name, error)
            raise refusal(502, error.explanation) from None
        except spawn.BadCredentials as error:
            self.log.error("OpenHexa App credentials for %s unusable: %s", log_name, error)
            raise refusal(502, "The OpenHexa App sent credentials the hub cannot use.") from None

    def check_workspace_request(self, handler, server_name: str) -> None:
        """A workspace server's name is a workspace slug, and only the App asks for one (so the App
        chooses its profile, as the workspace's subscription says). Else a refusal."""
        if not WORKSPACE_PATTERN.fullmatch(server_name):
            self.log.warning("Refusing server name that is not a workspace: %r", server_name[:64])
            raise refusal(400, "This is not an OpenHexa workspace name: use the workspace's slug.")
        if not launched_by_app(handler):
            self.log.warning("A workspace server (%s) asked for by someone else than the App: refused", server_name)
            raise refusal(403, WORKSPACE_FROM_THE_APP)

    def _check_owner(self, user, name):
        if name != user.name:
            self.log.warning("App session belongs to %r, not %r: spawn refused", name, user.name)
            raise refusal(403, "This OpenHexa session belongs to someone else.")

    def _apply_default(self, spawner, credentials: spawn.Credentials):
        env = dict(credentials.env, **self.server_settings())
        if credentials.files:
            files = json.dumps(credentials.files)
            if len(files) > MAX_FILES_BYTES:
                server = internals.log_name(spawner)
                self.log.error("OpenHexa App files for %s: %d bytes, over the limit", server, len(files))
                raise refusal(
                    502,
                    f"The OpenHexa App sent files of {len(files) // 1024} kB for this server; a server takes "
                    f"at most {MAX_FILES_BYTES // 1024} kB of them. An administrator needs to look at the App.",
                )
            env["OPENHEXA_FILES"] = files
        spawn.add_environment(spawner, env)

    def _apply_workspace(self, spawner, credentials: spawn.Credentials):
        workspace = spawner.name
        self._choose_image(spawner, workspace, credentials.image)
        spawn.name_after_hash(spawner, credentials.server_hash)
        spawn.drop_personal_volumes(spawner)
        spawn.grant_fuse(spawner, credentials.env, self.fuse_seccomp_profile)
        try:
            spawn.bind_local_storage(spawner, credentials.env, self.local_storage_root)
        except spawn.LocalStorageRefused as error:
            self.log.error("Workspace %s: the 'local' storage engine refused: %s", workspace, error)
            raise refusal(502, str(error)) from None
        spawn.label_workspace(spawner, workspace)
        env = dict(credentials.env, **self.server_settings(), HEXA_WORKSPACE=workspace)
        spawn.add_environment(spawner, env)

    def _workspace_refusal(self, workspace: str, refused: AppRefused):
        """What the person sees when the App refuses a workspace's credentials."""
        self.log.info("OpenHexa App refused the credentials of workspace %s: %s", workspace, refused)
        if refused.status == 404:
            return refusal(404, f"There is no workspace {workspace!r} in OpenHexa.")
        if refused.status == 400:
            return refusal(400, f"The OpenHexa App could not read the request for the workspace {workspace!r}.")
        return refusal(403, f"You may not open notebooks in the workspace {workspace!r}.")

    def _choose_image(self, spawner, workspace: str, image: str | None):
        """Run the image the App names, when this hub allows it; the App's default means the hub's own."""
        # The spawner object outlives a server: remember its configured image, so a
        # workspace that goes back to the default gets it back.
        own = internals.remember(spawner, "_openhexa_own_image", getattr(spawner, "image", None))
        if not image or image == self.app_default_image:
            if own is not None:
                spawner.image = own
            return
        if not spawn.image_allowed(image, own, self.allowed_images):
            self.log.error("Workspace %s asked for image %s, not allowed", workspace, image)
            raise refusal(
                403,
                f"The workspace {workspace!r} asks for the notebook image {image}, which this hub does not run. "
                f"An administrator can allow it (ALLOWED_IMAGES on the hub) or set the workspace's image in "
                f"the OpenHexa App to {own or 'an allowed image'}.",
            )
        spawner.image = image

    def _apply_profile(self, spawner):
        """Size the server as the profile the App asked for (``{"profile": <slug>}``), or the default one."""
        name = (spawner.user_options or {}).get("profile")
        if name is not None and not isinstance(name, str):
            raise refusal(400, "The notebook profile must be a profile's name.")
        try:
            profile = spawn.choose_profile(spawn.profiles_of(spawner), name)
        except spawn.UnknownProfile as error:
            raise refusal(400, str(error)) from None
        if profile is None:
            if name:
                server = internals.log_name(spawner)
                self.log.info("Profile %r asked for %s, but this hub defines no profiles", name, server)
            return
        sizing = spawn.apply_profile(spawner, profile)
        self.log.info("Profile %s for %s %s", profile.get("slug"), internals.log_name(spawner), sizing or "")
