"""A JupyterHub authenticator that trusts the OpenHexa App's session.

There is no login form: the hub asks the App who owns the session cookies the
browser sends (``/notebooks/authenticate/``), again on every request once a second
has passed (a login is only as good as the App session it came from, in this browser,
and the servers' checks of a login too: ``sessions.py``), and again before every
spawn. The spawn hooks (``spawn_hooks.py``, mixed in) fetch the credentials a server needs from the App.
See ``shared/app-contract.md`` in the OpenHexa docs for the contract.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from jupyterhub.auth import Authenticator
from jupyterhub.orm import APIToken, new_token
from tornado import web
from traitlets import Instance, default

from . import internals, spawner_rules
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
from .handlers import AppLogoutHandler, authenticator_handlers
from .sessions import SessionBindings, Verdicts
from .spawn_hooks import SpawnHooks
from .traits import EnvBool, EnvFloat, EnvUnicode

# The App's usernames are email addresses; after lowercasing they must look
# like one, and contain nothing that breaks a URL path.
EMAIL_PATTERN = re.compile(r"^[a-z0-9._%+\-']+@[a-z0-9\-]+(\.[a-z0-9\-]+)+$")
MAX_USERNAME_LENGTH = 254  # the longest email address (RFC 5321)

APP_UNAVAILABLE = "The OpenHexa App is unavailable, try again in a moment."
BAD_COOKIES = "Your OpenHexa cookies are not valid: log in to the OpenHexa App again."
ANSWER_TOO_LARGE = (
    f"The OpenHexa App's answer was larger than the hub reads ({MAX_ANSWER_BYTES // 1024} kB): "
    "an administrator needs to look at the App."
)
SAMESITE_VALUES = ("Lax", "Strict", "None")

REQUIRED = (
    "authentication_url",
    "default_credentials_url",
    "workspace_credentials_url",
    "logout_redirect_url",
    "hexa_server_url",
    "content_security_policy",
)


class OpenHexaAuthenticator(SpawnHooks, Authenticator):
    """Authenticate people from their OpenHexa App session.

    Who a person is: login, the check of every request against the App session, logout, cookies.
    What their server gets is :class:`~openhexa_hub.spawn_hooks.SpawnHooks`' (the spawn hooks, with
    their settings). Each setting defaults to the environment variable named in its help.
    """

    authentication_url = EnvUnicode(
        "AUTHENTICATION_URL",
        config=True,
        help="The App's `/notebooks/authenticate/` endpoint, as the hub reaches it (env AUTHENTICATION_URL). Required.",
    )
    logout_redirect_url = EnvUnicode(
        "LOGOUT_REDIRECT_URL",
        config=True,
        help="Where `/hub/logout` sends the browser once servers are stopped, a page of "
        "the App as the browser reaches it (env LOGOUT_REDIRECT_URL). Required.",
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
        spawner_rules.keep_credentials_out_of(self.log)  # the hub's logger: KubeSpawner logs refused pods on it
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
            internals.check_again_next_request(user)  # after the last await here: JupyterHub marks the time next
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
            if error.status_code < 500:  # the App answered, with a person the hub refuses: not this one
                owner = None
            else:
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
