"""Calls from the hub to the OpenHexa App, as the App contract describes them.

Every call is a POST that carries the person's App cookies (``sessionid`` and
``csrftoken``), the ``X-CSRFToken`` header and a ``Referer`` of the hub's own
origin, because Django rejects a POST without a valid CSRF pair. Redirects are
never followed: a redirect is how Django says "not logged in".

Each way an answer can go wrong maps to one exception, so callers decide what a
person sees without looking at HTTP details:

- :class:`NotLoggedIn`: the App says there is no valid session (a redirect).
- :class:`AppRefused`: the App answered a refusal it means: 400 (a missing
  field), 401 or 403 (no session, or not allowed), 404 (no such workspace); its
  ``status`` says which.
- :class:`AppUnavailable`: anything else: refused connection, timeout, 5xx,
  another 4xx, HTML, invalid JSON, JSON of the wrong shape.

A timeout is the App's fault only when the hub was not the one too busy to read the answer:
the client measures how late the hub's own event loop runs (:class:`LoopLag`), and a call that
timed out while the loop lagged is asked again, at most :data:`LAG_RETRIES` times, before
anyone is told the App is unavailable. A refused connection, an error status or a timeout on
a loop that kept time is the App's, at once.
- :class:`AnswerTooLarge`: an answer over :data:`MAX_ANSWER_BYTES`, never held whole
  in memory (the App's answers are a few kilobytes).

Cookies that no browser could hold for the App (longer than a browser keeps, or
with characters outside RFC 6265's cookie-octets) raise :class:`MalformedCookies`
and are never forwarded.

Nothing here logs a response body: bodies carry credentials.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import weakref
from collections import deque
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient

SESSION_COOKIE = "sessionid"
# The hub's own event loop: how often its lateness is measured, how late counts as the hub's
# lag (beyond a busy moment), and how many more times a call that timed out meanwhile is made.
LAG_PROBE = 0.1
LAG_TOLERANCE = 0.5
LAG_RETRIES = 2
# The largest answer the hub reads from the App; beyond it the call fails (the App's
# answers are a few kilobytes; files for a server must fit in its environment anyway).
MAX_ANSWER_BYTES = 1024 * 1024
# The statuses the App's views answer on purpose (workspaces/views.py, notebooks/views.py).
REFUSALS = (400, 401, 403, 404)
CSRF_COOKIE = "csrftoken"

# Browsers keep at most 4096 bytes per cookie; Django's values are 32-64 letters and digits.
MAX_COOKIE_LENGTH = 4096
# RFC 6265 cookie-octets: printable ASCII but space, DQUOTE, comma, semicolon and backslash.
COOKIE_VALUE = re.compile(r"^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$")


class AppError(Exception):
    """Base class: an App call did not give a usable answer."""


class NotLoggedIn(AppError):
    """The App has no valid session for these cookies."""


class AppRefused(AppError):
    """The App refuses the request: 400, 401, 403 or 404 (``status``)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class AppUnavailable(AppError):
    """The App could not be reached or answered something unusable."""


class CallTimedOut(AppError):
    """A call timed out: the App's fault unless the hub's own loop lagged meanwhile (post_json decides)."""


class AnswerTooLarge(AppError):
    """The App's answer is larger than :data:`MAX_ANSWER_BYTES`."""


class MalformedCookies(AppError):
    """The request carries App cookies that no browser could have received from the App."""


@dataclass(frozen=True)
class AppCookies:
    """The two App cookies the hub forwards."""

    sessionid: str
    csrftoken: str

    @classmethod
    def from_request(cls, request) -> AppCookies | None:
        """Read the App cookies from a tornado request; None when either is missing.

        Raises :class:`MalformedCookies` when a value is too long or has characters a
        cookie value cannot have.
        """
        cookies = request.cookies
        session = cookies.get(SESSION_COOKIE)
        csrf = cookies.get(CSRF_COOKIE)
        if session is None or csrf is None or not session.value or not csrf.value:
            return None
        for value in (session.value, csrf.value):
            if len(value) > MAX_COOKIE_LENGTH or not COOKIE_VALUE.fullmatch(value):
                raise MalformedCookies("an App cookie is too long or has characters a cookie cannot have")
        return cls(sessionid=session.value, csrftoken=csrf.value)

    def header(self) -> str:
        jar = SimpleCookie()
        jar[SESSION_COOKIE] = self.sessionid
        jar[CSRF_COOKIE] = self.csrftoken
        return "; ".join(morsel.OutputString() for morsel in jar.values())


class LoopLag:
    """How late an event loop runs its callbacks: a probe sleeps :data:`LAG_PROBE` seconds again and
    again and records by how much it woke late (one per loop, started on first use; ten cheap
    wake-ups a second)."""

    _of_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self):
        self.samples: deque[tuple[float, float]] = deque(maxlen=600)  # (woke at, seconds late)
        self._task = asyncio.get_running_loop().create_task(self._probe())

    @classmethod
    def here(cls) -> LoopLag:
        loop = asyncio.get_running_loop()
        if loop not in cls._of_loop:
            cls._of_loop[loop] = cls()
        return cls._of_loop[loop]

    async def _probe(self):
        while True:
            start = time.monotonic()
            await asyncio.sleep(LAG_PROBE)
            woke = time.monotonic()
            self.samples.append((woke, woke - start - LAG_PROBE))

    async def worst_since(self, since: float) -> float:
        """The most the loop ran late since ``since`` (``time.monotonic()``); lets the probe run first."""
        for _ in range(3):  # a probe that woke with us records its sample before we read them
            await asyncio.sleep(0)
        return max((late for woke, late in self.samples if woke >= since), default=0.0)


def new_http_client() -> SimpleAsyncHTTPClient:
    """A tornado client of its own for one call, whatever client the process is configured with.

    Of its own: the hub's shared client runs 10 requests at a time and times out those
    queued behind them, so a busy hub would fail logins. Tornado's pure-Python client by
    name, not ``AsyncHTTPClient``: Zero to JupyterHub's hub configuration makes the curl
    client the process's default, and ``CurlAsyncHTTPClient`` takes no ``max_body_size``
    before tornado 6.5.9 (a TypeError on every App call). This one stops reading one byte
    past :data:`MAX_ANSWER_BYTES` under every tornado.
    """
    return SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_ANSWER_BYTES + 1)


class AppClient:
    """A small asynchronous client for the App's notebooks endpoints.

    ``http_client``: the HTTP client its calls go through, an object with tornado's
    ``AsyncHTTPClient.fetch`` and ``close``; default none, a fresh one per call (:func:`new_http_client`).
    Tests give one that answers in-process (as oauthenticator swaps its ``http_client``).
    """

    def __init__(self, *, connect_timeout: float, read_timeout: float, log, http_client=None):
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.log = log
        self.http_client = http_client

    async def post_json(
        self,
        url: str,
        cookies: AppCookies,
        referer: str,
        form: dict[str, str] | None = None,
    ) -> dict:
        """POST to ``url`` with the person's cookies; return the JSON object answered.

        A timeout while the hub's own loop lagged (:class:`LoopLag`) is the hub's, not the App's:
        the call is made again, at most :data:`LAG_RETRIES` times."""
        lag = LoopLag.here()
        for attempt in range(LAG_RETRIES + 1):
            started = time.monotonic()
            try:
                return await self._post_json_once(url, cookies, referer, form)
            except CallTimedOut as lagged:
                late = await lag.worst_since(started)
                if late < LAG_TOLERANCE or attempt == LAG_RETRIES:
                    raise AppUnavailable(str(lagged)) from None
                self.log.warning(
                    "The hub's event loop ran %.1fs late while it waited for %s: asking again (%d of %d)",
                    late, url, attempt + 1, LAG_RETRIES,
                )  # fmt: skip
        raise AssertionError("unreachable")

    async def _post_json_once(self, url: str, cookies: AppCookies, referer: str, form: dict[str, str] | None) -> dict:
        body = bytearray()
        too_large = False

        def take(chunk: bytes):
            nonlocal too_large
            if len(body) + len(chunk) > MAX_ANSWER_BYTES:
                too_large = True
            elif not too_large:
                body.extend(chunk)

        def announced(line: str):
            nonlocal too_large
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                too_large = too_large or int(value) > MAX_ANSWER_BYTES

        request = HTTPRequest(
            url,
            method="POST",
            headers={
                "Cookie": cookies.header(),
                "X-CSRFToken": cookies.csrftoken,
                "Referer": referer,
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=urlencode(form or {}),
            follow_redirects=False,
            connect_timeout=self.connect_timeout,
            request_timeout=self.read_timeout,
            header_callback=announced,
            streaming_callback=take,
        )
        client = self.http_client or new_http_client()
        try:
            response = await client.fetch(request, raise_error=False)
        except HTTPClientError as error:  # timeouts surface as code 599
            if too_large:
                raise AnswerTooLarge(f"{url} answered more than {MAX_ANSWER_BYTES} bytes") from None
            if isinstance(error, HTTPTimeoutError):
                raise CallTimedOut(f"{url}: {error}") from None
            raise AppUnavailable(f"{url}: {error}") from None
        except OSError as error:  # refused connection, unknown host
            raise AppUnavailable(f"{url}: {error.__class__.__name__}: {error}") from None
        finally:
            if client is not self.http_client:
                client.close()

        if too_large:
            raise AnswerTooLarge(f"{url} answered more than {MAX_ANSWER_BYTES} bytes")
        code = response.code
        if code == 599:
            reason = response.error or "no answer"
            raise AppUnavailable(f"{url}: {reason}")
        if 300 <= code < 400:
            raise NotLoggedIn(f"{url} answered {code} (redirect to login)")
        if code in REFUSALS:
            raise AppRefused(f"{url} answered {code}", code)
        if code != 200:
            raise AppUnavailable(f"{url} answered {code}")
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type:
            raise AppUnavailable(f"{url} answered 200 with {content_type or 'no content type'}, not JSON")
        try:
            payload = json.loads(bytes(body))
        except ValueError:
            raise AppUnavailable(f"{url} answered invalid JSON") from None
        if not isinstance(payload, dict):
            raise AppUnavailable(f"{url} answered JSON that is not an object")
        return payload
