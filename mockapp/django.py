"""Django's manners, as the App's middleware and decorators apply them.

- Sessions and CSRF: ``sessionid`` and ``csrftoken`` are host-only cookies, so
  ``localhost:3000``, ``localhost:8000`` and ``localhost:8001`` share them.
- ``login_required_middleware`` (``user_management/middlewares.py``), for every route
  not in the App's ``ANONYMOUS_URLS``: without a session, a GET or a POST that is not
  JSON gets 302 to ``/login?next=<path>``; a JSON POST gets an empty 401. It runs
  before the CSRF check, so an anonymous POST is redirected whatever its token.
- CSRF (``CsrfViewMiddleware``): a POST needs the ``csrftoken`` cookie and the same
  value in ``X-CSRFToken`` (or the ``csrfmiddlewaretoken`` field), else 403. Django
  checks the ``Referer`` only over HTTPS; the mock always does, so tests prove the hub
  sends one. ``@csrf_exempt`` views skip it.
- ``@require_POST``: 405 on GET.
"""

from __future__ import annotations

import html
import json
import secrets
from urllib.parse import urlsplit

from tornado import web

from .state import Settings, State, User


def page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} - OpenHexa</title>{head}"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


class DjangoHandler(web.RequestHandler):
    """A view of the App: set ``anonymous``, ``csrf_exempt`` and ``post_only`` as its decorators would."""

    anonymous = False  # listed in ANONYMOUS_URLS: the view checks the session itself
    csrf_exempt = False  # @csrf_exempt
    post_only = False  # @require_POST

    @property
    def state(self) -> State:
        return self.settings["state"]

    @property
    def conf(self) -> Settings:
        return self.settings["conf"]

    @property
    def user(self) -> User | None:
        return self.state.session_user(self.get_cookie("sessionid"))

    def check_xsrf_cookie(self):
        """Tornado's own check is off; :meth:`prepare` applies Django's."""

    def app_cookie_domain(self, name: str) -> dict:
        """Where the App puts ``name``: sessionid on SESSION_COOKIE_DOMAIN, csrftoken on CSRF_COOKIE_DOMAIN,
        each host-only when unset (config/settings/base.py)."""
        domain = self.conf.csrf_cookie_domain if name == "csrftoken" else self.conf.session_cookie_domain
        return {"domain": domain} if domain else {}

    def set_app_cookie(self, name: str, value: str, **options):
        """One of the App's cookies, on its own domain setting."""
        self.set_cookie(name, value, path="/", samesite="Lax", **self.app_cookie_domain(name), **options)

    def clear_app_cookie(self, name: str):
        self.clear_cookie(name, path="/", **self.app_cookie_domain(name))

    def csrf_token(self) -> str:
        token = self.get_cookie("csrftoken")
        if not token:
            token = secrets.token_hex(16)
            self.set_app_cookie("csrftoken", token)
        return token

    def csrf_failure(self) -> str | None:
        cookie = self.get_cookie("csrftoken")
        if not cookie:
            return "CSRF cookie not set."
        given = self.request.headers.get("X-CSRFToken") or self.get_body_argument("csrfmiddlewaretoken", "")
        if not secrets.compare_digest(given, cookie):
            return "CSRF token missing or incorrect."
        referer = self.request.headers.get("Referer", "")
        if not referer:
            return "Referer checking failed - no Referer."
        if urlsplit(referer).hostname not in self.conf.trusted_hosts:
            return "Referer checking failed - Referer is not trusted."
        return None

    def prepare(self):
        if not self.anonymous and self.user is None:
            json_post = self.request.method == "POST" and self.request.headers.get("Content-Type") == "application/json"
            if json_post:
                self.set_status(401)
                return self.finish()
            return self.redirect(f"/login?next={self.request.path}")
        if self.request.method == "POST" and not self.csrf_exempt:
            reason = self.csrf_failure()
            if reason:
                raise web.HTTPError(403, reason)
        return None

    def get(self, *args):
        if self.post_only:
            raise web.HTTPError(405)
        raise web.HTTPError(404)

    def json(self, status: int, body: dict):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code, **kwargs):
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.finish(page(f"{status_code} {self._reason}", f"<p id='error'>{html.escape(reason)}</p>"))
