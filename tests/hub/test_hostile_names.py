"""Hostile names and oversized cookies: a clear 4xx with a readable message, nothing spawned, the App not asked."""

import socket
from urllib.parse import quote, urlsplit

import pytest
import requests

from harness.app import DEMO

ALICE = "alice@openhexa.test"
WORKSPACE_CREDENTIALS = "/workspaces/credentials/"


def workspace_calls(app) -> list:
    return [c for c in app.calls() if c["path"] == WORKSPACE_CREDENTIALS]


@pytest.fixture
def alice(login, hub):
    session = login("alice")
    hub.api("POST", f"/users/{quote(ALICE, safe='')}")
    return session


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # .., encoded: configurable-http-proxy 5 (the chart's) resolves it before the hub sees it,
        # so it is another URL, which does not exist.
        ("%2e%2e", 404),
        ("%2E%2E%2Fbob", 400),  # ../bob, encoded
        ("a%2Fb", 400),  # a/b, encoded: JupyterHub's own refusal
        ("a/b", 404),  # a literal slash is another URL
        ("x" * 64, 400),  # longer than a Kubernetes label
        ("x" * 300, 400),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400),
        ("%3Cb%3Ebold%3C%2Fb%3E", 400),
        ("a%20b", 400),
        ("%00", 400),
        ("%C3%A9t%C3%A9", 400),  # été
        ("-leading-dash", 400),
    ],
)
def test_hostile_workspace_names_are_refused_before_the_app_is_asked(alice, app, hub, name, expected):
    app.clear_calls()
    response = hub.launch_as_app(ALICE, name, alice)
    assert response.status_code == expected, response.text[:300]
    assert response.json()["status"] == expected  # JupyterHub's JSON error (a 404 of no route: no reason on 6)
    if expected == 400:
        assert response.json()["message"]
    if expected == 400 and "server_name" not in response.json()["message"]:
        assert "not an OpenHexa workspace name" in response.json()["message"]
    assert workspace_calls(app) == [], "the App was asked for a hostile workspace name"
    assert hub.servers(ALICE) == {}


def test_a_markup_workspace_name_on_the_spawn_page_is_escaped(alice, app, hub):
    response = alice.get(f"{hub.url}/hub/spawn/{ALICE}/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", timeout=30)
    assert response.status_code == 400, response.text[:300]
    assert "<img src=x" not in response.text
    assert "not an OpenHexa workspace name" in response.text
    assert hub.servers(ALICE) == {}


@pytest.mark.parametrize("slug", ["x" * 63, "2026-" + "x" * 58], ids=["63-characters", "63-from-a-digit"])
def test_the_longest_slug_still_reaches_the_app(alice, app, hub, slug):
    """The App's slugs go to 63 characters, from a digit too; JupyterHub 6 would refuse both as new names."""
    response = hub.launch_as_app(ALICE, slug, alice)
    assert response.status_code == 404
    assert "There is no workspace" in response.json()["message"]
    assert workspace_calls(app)[-1]["form"] == {"workspace": slug}
    assert hub.servers(ALICE) == {}


@pytest.mark.parametrize("username", ["<script>alert(1)</script>@x.org", "<script>@x.org", "a" * 300 + "@x.org"])
def test_a_username_with_markup_from_the_app_is_refused(app, hub, username):
    session = app.login(*DEMO["alice"])
    app.answer(200, f'{{"username": "{username}"}}', {"Content-Type": "application/json"})
    response = session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.status_code == 403
    assert "username is not a valid OpenHexa email" in response.text
    # The name's markup is not on the page (JupyterHub 6's error page has a bare <script> of its own).
    assert "<script>a" not in response.text and "<script>@" not in response.text
    assert "jupyterhub-hub-login" not in session.cookies
    assert hub.api("GET", f"/users/{quote(username, safe='')}").status_code == 404


@pytest.mark.parametrize("username", ["<script>@x.org", "a" * 300 + "@x.org", "bob/..@x.org", "café@x.org"])
def test_the_api_refuses_to_create_users_that_are_not_app_emails(hub, username):
    response = hub.api("POST", f"/users/{quote(username, safe='')}")
    assert response.status_code == 400, response.text[:300]
    assert hub.api("GET", f"/users/{quote(username, safe='')}").status_code == 404


def test_an_oversized_app_cookie_is_refused_without_asking_the_app(app, hub):
    response = requests.get(
        f"{hub.url}/hub/login",
        cookies={"sessionid": "s" * 5000, "csrftoken": "c" * 64},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 400
    assert "cookies are not valid" in response.text
    assert "jupyterhub-hub-login" not in response.cookies
    assert app.calls() == []


@pytest.mark.parametrize("size", [20_000, 100_000])
def test_headers_over_16_kib_get_431_and_the_hub_keeps_running(app, hub, size):
    line = status_line(hub.url, f"Cookie: sessionid={'s' * size}; csrftoken=c")
    assert line == "HTTP/1.1 431 Request Header Fields Too Large"
    assert app.calls() == []
    assert requests.get(f"{hub.url}/hub/api/", timeout=30).status_code == 200
    assert hub.process.alive()


def status_line(url: str, header: str) -> str:
    """Send a GET /hub/login with ``header`` over a raw socket; the status line answered.

    (requests may see the connection reset before the answer: the proxy answers 431 and
    closes while a large request is still being sent.)
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"GET /hub/login HTTP/1.1\r\nHost: {parts.netloc}\r\n{header}\r\n\r\n".encode())
        return sock.recv(4096).split(b"\r\n", 1)[0].decode()
