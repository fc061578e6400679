"""The hub's REST API: the App's token does no more than its scopes; a person's token reaches only their own servers.

The App's service has the roles `admin:users` and `admin:servers` (hub/jupyterhub_config.py).
In JupyterHub 5.5.4 `admin:users` is users (read, list, activity), `delete:users`,
`admin:auth_state` and reading users' roles; it has no token scope, so the App cannot
issue or read tokens for anyone.
"""

from urllib.parse import quote

import pytest
import requests

from harness.app import DEMO
from harness.hub import own_token

ALICE = DEMO["alice"][0]

BOB = "bob@openhexa.test"
A, B = quote(ALICE, safe=""), quote(BOB, safe="")


def test_the_apps_token_manages_users_and_servers(hub):
    assert hub.api("POST", "/users/carol%40openhexa.test").status_code == 201
    assert hub.api("GET", "/users/carol%40openhexa.test").json()["name"] == "carol@openhexa.test"
    assert "carol@openhexa.test" in [u["name"] for u in hub.api("GET", "/users").json()]
    assert hub.api("DELETE", "/users/carol%40openhexa.test/server").status_code in (202, 204)
    assert hub.api("DELETE", "/users/carol%40openhexa.test").status_code == 204  # delete:users is in admin:users


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/users/{A}/tokens", None),
        ("POST", f"/users/{A}/tokens", {"note": "minted by the App"}),
        ("POST", f"/users/{A}/tokens", {"note": "admin", "scopes": ["admin:users"]}),
        ("PATCH", f"/users/{A}", {"admin": True}),
        ("POST", "/users/mallory%40openhexa.test", {"admin": True}),
        ("GET", "/proxy", None),
        ("POST", "/proxy", None),
        ("POST", "/shutdown", None),
        ("GET", "/groups", None),
        ("POST", "/groups/admins", None),
        ("GET", "/services", None),
        ("GET", "/info", None),
        ("POST", f"/shares/{A}/", {"user": BOB}),
    ],
)
def test_the_apps_token_is_refused_beyond_its_scopes(hub, method, path, body):
    hub.api("POST", f"/users/{A}")
    response = hub.api(method, path, json=body) if body is not None else hub.api(method, path)
    assert response.status_code == 403, f"{method} {path}: {response.status_code} {response.text[:200]}"
    assert not hub.api("GET", f"/users/{A}").json()["admin"]
    assert hub.api("GET", "/users/mallory%40openhexa.test").status_code == 404


def hub_login(mock_app, hub, who: str) -> requests.Session:
    session = mock_app.login(*DEMO[who])
    assert session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30).status_code == 302
    return session


@pytest.fixture(scope="module")
def bob_running(mock_app, hub):
    """Bob, logged in with his default server running (one spawn for the module)."""
    bob = hub_login(mock_app, hub, "bob")
    assert bob.get(f"{hub.url}/hub/spawn", timeout=60).status_code == 200
    hub.wait_ready(BOB)
    yield bob
    hub.stop_servers(BOB)


@pytest.fixture(scope="module")
def alice_token(mock_app, hub) -> str:
    """A token alice makes for herself on the hub (her cookie and the hub's _xsrf)."""
    return own_token(hub.url, hub_login(mock_app, hub, "alice"), ALICE, note="alice's own")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", f"/users/{B}", 404),
        ("POST", f"/users/{B}/server", 404),
        ("POST", f"/users/{B}/servers/malaria-dashboards", 404),
        ("DELETE", f"/users/{B}/server", 404),
        ("GET", f"/users/{B}/tokens", 404),
        ("POST", f"/users/{B}/tokens", 403),
        ("GET", "/users", 403),
    ],
)
def test_a_persons_token_cannot_reach_someone_else(bob_running, alice_token, hub, method, path, expected):
    response = requests.request(
        method, f"{hub.url}/hub/api{path}", headers={"Authorization": f"token {alice_token}"}, timeout=30
    )
    assert response.status_code == expected, response.text[:200]
    assert (hub.server(BOB) or {}).get("ready"), "bob's server was touched"


def test_only_bob_opens_bobs_server(bob_running, alice_token, login, hub):
    url = f"{hub.url}/user/{BOB}/env"
    assert bob_running.get(url, timeout=30).status_code == 200  # bob himself, through the OAuth dance
    with_token = requests.get(url, headers={"Authorization": f"token {alice_token}"}, timeout=30)
    assert with_token.status_code == 403
    with_cookie = login("alice").get(url, timeout=30)  # follows the redirects to the hub's OAuth
    assert with_cookie.status_code == 403
    assert "HEXA_SERVER_URL" not in with_cookie.text
    as_the_app = requests.get(url, headers={"Authorization": f"token {hub.api_token}"}, timeout=30)
    assert as_the_app.status_code == 403  # admin:servers manages servers, it does not open them
