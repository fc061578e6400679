"""A JupyterHub authenticator that trusts the OpenHexa App's session.

There is no login form: the hub asks the App who owns the session cookies the
browser sends (``/notebooks/authenticate/``), and asks again before every
spawn. Spawn hooks fetch the credentials a server needs from the App.
See ``shared/app-contract.md`` in the OpenHexa docs for the contract.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler, LogoutHandler
from jupyterhub.orm import APIToken, new_token
from tornado import web
from traitlets import default

from . import spawn
from .app_client import AppClient, AppCookies, AppRefused, AppUnavailable, MalformedCookies, NotLoggedIn
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
SAMESITE_VALUES = ("Lax", "Strict", "None")

REQUIRED = (
    "authentication_url",
    "default_credentials_url",
    "workspace_credentials_url",
    "logout_redirect_url",
    "hexa_server_url",
    "content_security_policy",
)


def refusal(status: int, message: str) -> web.HTTPError:
    """An HTTP error whose message people see, on API answers and on the hub's pages alike.

    JupyterHub's pages replace the message of a failed spawn with a generic "Failed to
    start your server"; ``jupyterhub_message`` is what they show instead.
    """
    error = web.HTTPError(status, message.replace("%", "%%"))
    error.jupyterhub_message = message
    return error


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


class AppLogoutHandler(LogoutHandler):
    """``/hub/logout``: stop the person's servers, void their cookies, back to the App."""

    async def default_handle_logout(self):
        user = self.current_user
        if user:
            await self._shutdown_servers(user)
            self._backend_logout_cleanup(user.name)
            self.authenticator.forget_sessions(user, self.db)

    async def render_logout_page(self):
        self.redirect(self.authenticator.logout_redirect_url)


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
    allowed_images = EnvList(
        "ALLOWED_IMAGES",
        config=True,
        help="Images the App may ask for in a workspace answer, besides the spawner's "
        "own image; any other image refuses the spawn (env ALLOWED_IMAGES, comma-separated).",
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
        self.app = AppClient(
            connect_timeout=self.app_connect_timeout,
            read_timeout=self.app_read_timeout,
            log=self.log,
        )
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
        return [("/login", AppLoginHandler), ("/logout", AppLogoutHandler)]

    # -- the App ------------------------------------------------------------

    @staticmethod
    def hub_origin(handler) -> str:
        request = handler.request
        return f"{request.protocol}://{request.host}/"

    def app_login_redirect(self, handler) -> str:
        """The App login URL, with a `next` that brings the browser back here."""
        request = handler.request
        back = f"{request.protocol}://{request.host}{request.uri}"
        separator = "&" if "?" in self.app_login_url else "?"
        return f"{self.app_login_url}{separator}{urlencode({'next': back})}"

    async def _post(self, url, handler, cookies, form=None) -> dict:
        try:
            return await self.app.post_json(url, cookies, self.hub_origin(handler), form)
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
        # Only ASCII: lowercasing turns some other letters into ASCII ones (the Kelvin
        # sign into k), which would make the App's username someone else's.
        name = self.normalize_username(raw) if raw.isascii() else raw
        if not self.validate_username(name):
            self.log.warning("Refusing username that is not an App email: %r", name[:64])
            raise refusal(403, "This account's username is not a valid OpenHexa email.")
        return name

    async def app_username(self, handler, cookies: AppCookies) -> str:
        """Ask the App who owns these cookies. Raises NotLoggedIn or HTTP 503/403."""
        try:
            payload = await self._post(self.authentication_url, handler, cookies)
        except AppRefused:
            raise NotLoggedIn("authenticate refused") from None
        return self.username_from(payload)

    # -- Authenticator API -------------------------------------------------

    def normalize_username(self, username):
        return super().normalize_username(username.strip())

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
        return await self.app_username(handler, cookies)

    async def refresh_user(self, user, handler=None):
        if handler is None or isinstance(handler, AppLogoutHandler):
            return True  # nothing to check against; logging out needs no App session
        try:
            cookies = AppCookies.from_request(handler.request)
        except MalformedCookies:
            return False  # back to /hub/login, which says what is wrong
        if cookies is None:
            # A token-authenticated request (a server, a service) carries no App
            # cookies; spawns are still checked by pre_spawn_start.
            return "Authorization" in handler.request.headers
        try:
            name = await self.app_username(handler, cookies)
        except NotLoggedIn:
            return False
        return name == user.name

    def forget_sessions(self, user, db):
        """Make every hub cookie and server session issued to ``user`` useless."""
        user.orm_user.cookie_id = new_token()
        # Tokens bound to a browser session: the servers' login cookies.
        for token in db.query(APIToken).filter(APIToken.user_id == user.id, APIToken.session_id.isnot(None)):
            db.delete(token)
        db.commit()

    def server_settings(self) -> dict[str, str]:
        """What every notebook server gets from the hub's own settings."""
        return {
            "HEXA_SERVER_URL": self.hexa_server_url,
            # Notebook servers are framed by the App too.
            "CONTENT_SECURITY_POLICY": self.content_security_policy,
        }

    async def pre_spawn_start(self, user, spawner):
        """Fetch the server's credentials from the App and apply them."""
        handler = spawner.handler
        if spawner.name and not WORKSPACE_PATTERN.fullmatch(spawner.name):
            self.log.warning("Refusing server name that is not a workspace: %r", spawner.name[:64])
            raise refusal(400, "This is not an OpenHexa workspace name: use the workspace's slug.")
        cookies = self.app_cookies(handler) if handler is not None else None
        if cookies is None:
            raise refusal(403, SESSION_ENDED)
        try:
            if spawner.name:
                await self._prepare_workspace(user, spawner, handler, cookies)
            else:
                await self._prepare_default(user, spawner, handler, cookies)
        except NotLoggedIn:
            raise refusal(403, SESSION_ENDED) from None
        except spawn.BadCredentials as error:
            self.log.error("OpenHexa App credentials for %s unusable: %s", spawner._log_name, error)
            raise refusal(502, "The OpenHexa App sent credentials the hub cannot use.") from None

    def _check_owner(self, user, name):
        if name != user.name:
            self.log.warning("App session belongs to %r, not %r: spawn refused", name, user.name)
            raise refusal(403, "This OpenHexa session belongs to someone else.")

    async def _prepare_default(self, user, spawner, handler, cookies):
        try:
            payload = await self._post(self.default_credentials_url, handler, cookies)
        except AppRefused:
            raise NotLoggedIn("default-credentials refused") from None
        self._check_owner(user, self.username_from(payload))
        credentials = spawn.parse_default_credentials(payload)
        env = dict(credentials.env, **self.server_settings())
        if credentials.files:
            env["OPENHEXA_FILES"] = json.dumps(credentials.files)
        spawn.add_environment(spawner, env)

    async def _prepare_workspace(self, user, spawner, handler, cookies):
        self._check_owner(user, await self.app_username(handler, cookies))
        workspace = spawner.name
        try:
            payload = await self._post(self.workspace_credentials_url, handler, cookies, {"workspace": workspace})
        except AppRefused:
            raise refusal(403, f"You may not open notebooks in the workspace {workspace!r}.") from None
        credentials = spawn.parse_workspace_credentials(payload)
        if credentials.image:
            if not spawn.image_allowed(credentials.image, getattr(spawner, "image", None), self.allowed_images):
                self.log.error("Workspace %s asked for image %s, not allowed", workspace, credentials.image)
                raise refusal(403, "The OpenHexa App asked for a notebook image this hub does not allow.")
            spawner.image = credentials.image
        spawn.name_after_hash(spawner, credentials.server_hash)
        spawn.drop_personal_volumes(spawner)
        env = dict(credentials.env, **self.server_settings(), HEXA_WORKSPACE=workspace)
        spawn.add_environment(spawner, env)
