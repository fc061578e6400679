"""The App client under each tornado HTTP client a hub process may be configured with.

Zero to JupyterHub's hub configuration makes tornado's curl client the process's default
(``AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient")``); a hub
outside the chart keeps the pure-Python one. Every App call must work under both, with
its 1 MiB cap, against a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from tornado.httpclient import AsyncHTTPClient

from harness.net import StandInServer, free_port
from openhexa_hub import app_client
from openhexa_hub.app_client import (
    MAX_ANSWER_BYTES,
    AnswerTooLarge,
    AppClient,
    AppCookies,
    AppRefused,
    AppUnavailable,
    NotLoggedIn,
)

CLIENTS = ["tornado.curl_httpclient.CurlAsyncHTTPClient", "tornado.simple_httpclient.SimpleAsyncHTTPClient"]
COOKIES = AppCookies(sessionid="s" * 32, csrftoken="c" * 32)


@pytest.fixture(params=CLIENTS, ids=["curl", "simple"])
def configured(request):
    """The process's tornado client, configured as the chart's hub config does (no arguments)."""
    before = AsyncHTTPClient._save_configuration()
    AsyncHTTPClient.configure(request.param)
    yield request.param
    AsyncHTTPClient._restore_configuration(before)


def call(url: str) -> dict:
    client = AppClient(connect_timeout=5, read_timeout=10, log=logging.getLogger("test"))
    return asyncio.run(client.post_json(f"{url}/notebooks/authenticate/", COOKIES, "http://hub.test/hub/login"))


def test_the_chart_makes_curl_the_default_here_too(configured):
    """The fixture really switches the process's client: pycurl is installed, as in the hub image."""

    async def impl():
        return type(AsyncHTTPClient(force_instance=True)).__module__

    assert asyncio.run(impl()) == configured.rsplit(".", 1)[0]


def test_an_answer_is_read_under_each_client(configured):
    with StandInServer(lambda request: (200, {}, {"username": "alice@openhexa.test"})) as app:
        assert call(app.url) == {"username": "alice@openhexa.test"}
    sent = app.requests[0]
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert sent.method == "POST"
    assert headers["cookie"] == f"sessionid={COOKIES.sessionid}; csrftoken={COOKIES.csrftoken}"
    assert headers["x-csrftoken"] == COOKIES.csrftoken


def test_an_answer_over_the_cap_is_refused_under_each_client(configured):
    big = {"username": "x" * (MAX_ANSWER_BYTES + 10)}
    with StandInServer(lambda request: (200, {}, big)) as app, pytest.raises(AnswerTooLarge):
        call(app.url)


def test_an_answer_at_the_cap_is_read_under_each_client(configured):
    filler = "x" * (MAX_ANSWER_BYTES - len('{"username": ""}'))
    with StandInServer(lambda request: (200, {}, {"username": filler})) as app:
        assert len(call(app.url)["username"]) == len(filler)


@pytest.mark.parametrize(
    ("status", "error"), [(302, NotLoggedIn), (404, AppRefused), (500, AppUnavailable)], ids=["302", "404", "500"]
)
def test_statuses_mean_the_same_under_each_client(configured, status, error):
    headers = {"Location": "/login"} if status == 302 else {}
    with StandInServer(lambda request: (status, headers, {})) as app, pytest.raises(error):
        call(app.url)


# -- a hub too busy to read the App's answer is not an App that does not answer ---------------


def lagging_call(url: str, stall: float, connect_timeout: float = 1, read_timeout: float = 2) -> dict:
    """The App call while the hub's own loop is blocked for ``stall`` seconds right after it starts."""

    async def impl():
        client = AppClient(connect_timeout=connect_timeout, read_timeout=read_timeout, log=logging.getLogger("t"))
        if stall:
            asyncio.get_running_loop().call_later(0.05, time.sleep, stall)  # the hub's own work, blocking
        return await client.post_json(f"{url}/notebooks/authenticate/", COOKIES, "http://hub.test/hub/login")

    return asyncio.run(impl())


def answer_after(seconds: float):
    def answer(request):
        time.sleep(seconds)
        return 200, {}, {"username": "alice@openhexa.test"}

    return answer


def test_a_call_that_times_out_while_the_hubs_loop_stalls_is_asked_again_not_refused(caplog):
    with StandInServer(answer_after(0.3)) as app:
        assert lagging_call(app.url, stall=3) == {"username": "alice@openhexa.test"}
    assert len(app.requests) == 2, "asked once more"
    assert "event loop ran" in caplog.text


def test_a_silent_app_is_still_unavailable_when_the_hub_keeps_time():
    with StandInServer(answer_after(4)) as app, pytest.raises(AppUnavailable, match="Timeout"):
        started = time.monotonic()
        lagging_call(app.url, stall=0, read_timeout=1)
    assert len(app.requests) == 1 and time.monotonic() - started < 3, "refused at once, not asked again"


def test_a_silent_app_is_unavailable_after_a_bounded_number_of_asks_even_while_the_hub_lags():
    with StandInServer(answer_after(30)) as app, pytest.raises(AppUnavailable, match="Timeout"):
        lagging_call(app.url, stall=2, read_timeout=1)
    assert len(app.requests) <= 1 + app_client.LAG_RETRIES


def test_an_app_that_is_down_is_unavailable_at_once_even_while_the_hub_lags():
    with pytest.raises(AppUnavailable, match="ConnectionRefused"):
        lagging_call(f"http://127.0.0.1:{free_port()}", stall=2)
