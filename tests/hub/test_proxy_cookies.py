"""The proxy in front of the hub and every server: a person's server never receives the App's cookies.

The App's session cookies (``sessionid``, ``csrftoken``) have a path of ``/`` and a domain that
covers the hub's host, so a browser sends them with every request to the notebooks, a link to
someone else's server included; a person controls every process of their own server. The
proxy (proxy/openhexa-proxy.mjs, which the hub tier, the local hub image and the chart's proxy
image run as ``configurable-http-proxy``) forwards to anything but the hub only the cookies a
server needs. Routes are added here as JupyterHub adds them; the servers record what reaches them.
"""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest

from harness.net import StandInServer
from harness.proxy import Proxy, cookie_header, send_raw
from harness.proxy import cookies_received as received

BOB = "bob@openhexa.test"
APP_COOKIES = {"sessionid": "alice-app-session-5e1f", "csrftoken": "alice-app-csrf-77a0"}
SERVER_COOKIES = {"jupyterhub-user-bob%40openhexa.test": "bobs-oauth", "jupyterhub-session-id": "s-9d2", "_xsrf": "x-1"}
OTHER_COOKIES = {"analytics_id": "a-3c4"}  # another site of the App's domain sets its own
ALL = {**APP_COOKIES, **SERVER_COOKIES, **OTHER_COOKIES}


@pytest.fixture
def servers():
    """The hub and bob's server, stand-ins that record what reaches them."""
    with StandInServer(lambda r: (200, {}, "hub")) as hub, StandInServer(lambda r: (200, {}, "bob's page")) as bob:
        yield hub, bob


@pytest.fixture
def proxy(servers, tmp_path):
    hub, bob = servers
    started = Proxy.start(tmp_path, hub.url)
    started.add_route("/", hub.url, hub=True)  # JupyterHub's hub route, over the default target
    started.add_route(f"/user/{BOB}/", bob.url, user=BOB, server_name="")
    started.add_route("/services/announcements/", bob.url, service="announcements")
    yield started
    started.stop()


@pytest.mark.parametrize(
    "path",
    [
        f"/user/{BOB}/x",
        f"/user/{BOB}/api/contents?type=file",
        f"/%75ser/{BOB}/x",  # the proxy decodes a path before it routes it
        f"/hub/%2e%2e/user/{BOB}/x",  # and resolves dot segments
        "/user/bob%40openhexa.test/x",
        "/services/announcements/",
    ],
    ids=["page", "api", "encoded-prefix", "dot-segments", "encoded-name", "service"],
)
def test_a_server_receives_only_the_cookies_a_server_needs(proxy, servers, path):
    hub, bob = servers
    assert send_raw(proxy.url, path, {"Cookie": cookie_header(ALL)}) == 200
    assert bob.requests, f"{path} did not reach bob's server"
    assert received(bob) == SERVER_COOKIES
    assert not hub.requests


def test_a_websocket_to_a_server_carries_no_app_cookie(proxy, servers):
    hub, bob = servers
    parts = urlsplit(proxy.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            (
                f"GET /user/{BOB}/api/kernels/k/channels HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: {cookie_header(ALL)}\r\n\r\n"
            ).encode()
        )
        connection.recv(1024)  # the stand-in answers the upgrade with a plain 200
    assert received(bob) == SERVER_COOKIES


@pytest.mark.parametrize("path", ["/hub/login", "/hub/api/user", f"/hub/user/{BOB}/x", "/"])
def test_the_hub_receives_every_cookie(proxy, servers, path):
    hub, bob = servers
    assert send_raw(proxy.url, path, {"Cookie": cookie_header(ALL)}) == 200
    assert received(hub) == ALL
    assert not bob.requests


def test_a_request_with_only_app_cookies_reaches_a_server_with_none(proxy, servers):
    hub, bob = servers
    assert send_raw(proxy.url, f"/user/{BOB}/x", {"Cookie": cookie_header(APP_COOKIES)}) == 200
    assert "cookie" not in {name.lower() for name in bob.requests[-1].headers}


def test_with_subdomains_routes_by_host_and_strips_the_same(servers, tmp_path):
    """JupyterHub.subdomain_host: the proxy routes by host (--host-routing); the App's cookie domain
    covers every subdomain, so the rule is the route's again, not the host's."""
    hub, bob = servers
    proxy = Proxy.start(tmp_path, hub.url, "--host-routing")
    try:
        proxy.add_route("/", hub.url, hub=True)
        proxy.add_route(f"/u-bob--abc1234.localhost/user/{BOB}/", bob.url, user=BOB, server_name="")
        host = f"u-bob--abc1234.localhost:{urlsplit(proxy.url).port}"
        assert send_raw(proxy.url, f"/user/{BOB}/x", {"Host": host, "Cookie": cookie_header(ALL)}) == 200
        assert received(bob) == SERVER_COOKIES
        assert send_raw(proxy.url, "/hub/login", {"Host": host, "Cookie": cookie_header(ALL)}) == 200
        assert received(hub) == ALL
    finally:
        proxy.stop()


def test_the_cookies_servers_receive_are_a_setting(servers, tmp_path):
    hub, bob = servers
    proxy = Proxy.start(tmp_path, hub.url, env={"OPENHEXA_PROXY_SERVER_COOKIES": "_xsrf, analytics_*"})
    try:
        proxy.add_route(f"/user/{BOB}/", bob.url, user=BOB, server_name="")
        assert send_raw(proxy.url, f"/user/{BOB}/x", {"Cookie": cookie_header(ALL)}) == 200
        assert received(bob) == {"_xsrf": "x-1", **OTHER_COOKIES}
    finally:
        proxy.stop()


# What a server answers when it tries to set cookies for others: the App's session (a login to the
# attacker's App session for whoever follows his link), a cookie for the whole domain, and its own.
SET_BY_A_SERVER = [
    ("Set-Cookie", "sessionid=mallory-app-session; Path=/; Domain=.example.org"),
    ("Set-Cookie", "csrftoken=mallory-csrf; Path=/"),
    ("Set-Cookie", "jupyterhub-session-id=planted; Path=/; Domain=example.org"),
    ("Set-Cookie", "_xsrf=own-xsrf; Path=/user/bob%40openhexa.test/"),
    ("Set-Cookie", "jupyterhub-user-bob%40openhexa.test=own-oauth; Path=/user/bob%40openhexa.test/; HttpOnly"),
]
KEPT_FROM_A_SERVER = [value for _, value in SET_BY_A_SERVER[3:]]


def set_cookies(url: str, path: str, host: str | None = None) -> list[str]:
    """The Set-Cookie headers of the answer to ``GET path`` (with ``host`` as its Host header)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        assert response.status == 200
        return response.headers.get_all("Set-Cookie") or []
    finally:
        connection.close()


@pytest.mark.parametrize("subdomains", [False, True], ids=["one-origin", "per-person-origins"])
def test_a_server_sets_no_cookie_of_the_app_nor_for_another_host(tmp_path, subdomains):
    def answer(request):
        return 200, SET_BY_A_SERVER, ""

    with StandInServer(answer) as hub, StandInServer(answer) as bob:
        proxy = Proxy.start(tmp_path, hub.url, *(["--host-routing"] if subdomains else []))
        try:
            proxy.add_route("/", hub.url, hub=True)
            origin = "u-bob--abc1234.localhost" if subdomains else ""
            proxy.add_route(f"{'/' + origin if origin else ''}/user/{BOB}/", bob.url, user=BOB, server_name="")
            host = f"{origin}:{urlsplit(proxy.url).port}" if origin else None
            from_bob = set_cookies(proxy.url, f"/user/{BOB}/x", host)
            from_hub = set_cookies(proxy.url, "/hub/login", host)
        finally:
            proxy.stop()
    assert bob.requests and from_bob == KEPT_FROM_A_SERVER
    assert from_hub == [value for _, value in SET_BY_A_SERVER], "the hub's cookies pass unchanged"
