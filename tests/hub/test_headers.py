"""Response headers: the CSP on every hub and notebook page; the hub's cookie attributes and the iframe settings."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

import pytest
import requests
from jupyterhub.app import JupyterHub
from traitlets.config import Config

from harness import ROOT
from harness.app import DEMO
from harness.hub import HUB_TIER_CONFIG, Hub, app_settings
from openhexa_hub import OpenHexaAuthenticator
from tests.hub.mock_server import TOKEN_CACHE_SECONDS

ALICE = DEMO["alice"][0]

CSP = "Content-Security-Policy"


def set_cookies(response: requests.Response) -> dict[str, dict]:
    """Every cookie set by a response and its redirects: name -> attributes (lowercased keys)."""
    cookies = {}
    for hop in [*response.history, response]:
        for header in hop.raw.headers.getlist("Set-Cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                attributes = {key: morsel[key] for key in morsel if morsel[key] not in ("", False)}
                attributes["value"] = morsel.value
                lowered = header.lower()
                attributes.update(httponly="httponly" in lowered, secure="secure" in lowered)
                cookies[name] = attributes
    return cookies


# -- the CSP ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/hub/login", "/hub/", "/hub/no-such-page", "/hub/api/", "/hub/api/user", "/hub/health"]
)
def test_anonymous_hub_pages_send_the_csp(app, hub, path):
    response = requests.get(f"{hub.url}{path}", allow_redirects=False, timeout=30)
    assert response.headers.get(CSP) == f"frame-ancestors 'self' {app.url}", f"{path}: {response.status_code}"


def test_a_logged_in_persons_hub_pages_send_the_csp(login, app, hub):
    alice = login("alice")
    pages = {
        path: alice.get(f"{hub.url}{path}", allow_redirects=False, timeout=30)
        for path in ("/hub/home", "/hub/token", f"/hub/spawn-pending/{ALICE}", f"/user/{ALICE}/", "/hub/nope")
    }
    app.set_mode("status-500")
    pages["503 spawn"] = alice.get(f"{hub.url}/hub/spawn", allow_redirects=False, timeout=30)
    assert pages["503 spawn"].status_code == 503
    for path, response in pages.items():
        assert response.headers.get(CSP) == f"frame-ancestors 'self' {app.url}", f"{path}: {response.status_code}"


def test_notebook_server_pages_send_the_csp(login, app, hub):
    alice = login("alice")
    alice.get(f"{hub.url}/hub/spawn", allow_redirects=False, timeout=60)  # not on to the server: no OAuth yet
    hub.wait_ready(ALICE)
    try:
        response = alice.get(f"{hub.url}/user/{ALICE}/env", timeout=30)
        assert response.status_code == 200
        server_hops = [r for r in [*response.history, response] if f"/user/{ALICE}/" in r.url]
        assert len(server_hops) >= 2  # the first visit, the OAuth callback, the page
        for hop in server_hops:
            assert hop.headers.get(CSP) == f"frame-ancestors 'self' {app.url}", hop.url
    finally:
        hub.stop_servers(ALICE)


def test_the_notebook_images_config_sends_the_csp(monkeypatch):
    monkeypatch.setenv("CONTENT_SECURITY_POLICY", "frame-ancestors 'self' https://app.example.org")
    config = Config()
    exec((ROOT / "jupyter" / "jupyter_server_config.py").read_text(), {"get_config": lambda: config})
    headers = config.ServerApp.tornado_settings["headers"]
    assert headers[CSP] == "frame-ancestors 'self' https://app.example.org"
    # A server rechecks a login token with the hub (which asks the App) every few seconds, as this
    # tier's servers do.
    assert config.HubOAuth.cache_max_age == TOKEN_CACHE_SECONDS


# -- the hub's cookies --------------------------------------------------------------


def test_hub_cookies_are_httponly(app, hub):
    session = app.login(*DEMO["alice"])
    cookies = set_cookies(session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30))
    for name in ("jupyterhub-hub-login", "jupyterhub-session-id"):
        assert cookies[name]["httponly"], name
        assert not cookies[name]["secure"], name
        assert "samesite" not in cookies[name], name
    assert not cookies["_xsrf"]["httponly"]  # the hub's pages read it


def test_behind_the_proxy_forwarded_https_is_not_enough(app, hub):
    session = app.login(*DEMO["alice"])
    response = session.get(
        f"{hub.url}/hub/login", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 302
    assert not set_cookies(response)["jupyterhub-hub-login"]["secure"]


def browse(cookies: dict[str, str], url: str, follow: bool = True) -> list[requests.Response]:
    """Visit ``url`` (and its redirects, with ``follow``) like a browser that sends Secure cookies over HTTP.

    The test hub has no TLS; requests would keep Secure cookies to itself. ``cookies`` is
    updated with every cookie set on the way; returns every hop.
    """
    hops = []
    for _ in range(10):
        header = "; ".join(f"{name}={value}" for name, value in cookies.items())
        response = requests.get(url, headers={"Cookie": header}, allow_redirects=False, timeout=60)
        hops.append(response)
        for set_cookie in response.raw.headers.getlist("Set-Cookie"):
            jar = SimpleCookie()
            jar.load(set_cookie)
            cookies.update({name: morsel.coded_value for name, morsel in jar.items()})
        if not follow or response.status_code not in (301, 302, 303, 307):
            return hops
        url = requests.compat.urljoin(url, response.headers["Location"])
    raise AssertionError(f"more than 10 redirects from {hops[0].url}")


@pytest.fixture(scope="module")
def iframe_hub(mock_app, tmp_path_factory):
    """A hub set up for an App on another site: COOKIE_SAMESITE=None and COOKIE_SECURE=true."""
    started = Hub.start(
        mock_app.url,
        tmp_path_factory.mktemp("iframe-hub"),
        HUB_TIER_CONFIG,
        extra_env={"COOKIE_SAMESITE": "None", "COOKIE_SECURE": "true"},
    )
    yield started
    started.stop()


def test_iframe_settings_reach_the_hubs_and_the_servers_cookies(app, iframe_hub):
    session = app.login(*DEMO["alice"])
    cookies = {name: session.cookies[name] for name in ("sessionid", "csrftoken")}
    # Only the login: followed on, /hub/spawn may finish the server's OAuth before the test looks.
    (login,) = browse(cookies, f"{iframe_hub.url}/hub/login", follow=False)
    hub_cookies = set_cookies(login)
    for name in ("jupyterhub-hub-login", "jupyterhub-session-id", "_xsrf"):
        assert hub_cookies[name]["samesite"] == "None", name
        assert hub_cookies[name]["secure"], name
    assert hub_cookies["jupyterhub-hub-login"]["httponly"]

    browse(cookies, f"{iframe_hub.url}/hub/spawn", follow=False)  # not on to the server: no OAuth yet
    iframe_hub.wait_ready(ALICE)
    try:
        hops = browse(cookies, f"{iframe_hub.url}/user/{ALICE}/env")
        assert hops[-1].status_code == 200
        assert json.loads(hops[-1].json()["JUPYTERHUB_COOKIE_OPTIONS"]) == {"samesite": "None", "secure": True}
        server_cookies = [
            c
            for hop in hops
            for name, c in set_cookies(hop).items()
            if name.startswith("jupyterhub-user-") and c["value"]  # not the deletion of the OAuth state
        ]
        trail = [(hop.status_code, hop.url, hop.raw.headers.getlist("Set-Cookie")) for hop in hops]
        assert server_cookies, f"the notebook server set no login cookie; the hops: {trail}"
        for cookie in server_cookies:
            assert cookie.get("samesite") == "None" and cookie["secure"] and cookie["httponly"], cookie
    finally:
        iframe_hub.stop_servers(ALICE)


# -- the settings themselves --------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "options"),
    [
        ({}, {}),
        ({"COOKIE_SECURE": "true"}, {"secure": True}),
        ({"COOKIE_SAMESITE": "Lax"}, {"samesite": "Lax"}),
        ({"COOKIE_SAMESITE": "None"}, {"samesite": "None", "secure": True}),
    ],
)
def test_cookie_settings_become_jupyterhubs_cookie_options(monkeypatch, env, options):
    for name, value in {**app_settings("http://app.test"), **env}.items():
        monkeypatch.setenv(name, value)
    assert OpenHexaAuthenticator().cookie_options() == options


@pytest.mark.parametrize(("name", "value"), [("COOKIE_SAMESITE", "none-of-them"), ("COOKIE_SECURE", "perhaps")])
def test_a_malformed_cookie_setting_names_its_variable(monkeypatch, name, value):
    for key, setting in {**app_settings("http://app.test"), name: value}.items():
        monkeypatch.setenv(key, setting)
    with pytest.raises(ValueError, match=name):
        OpenHexaAuthenticator()


def test_a_deployments_own_cookie_options_win(monkeypatch):
    for name, value in {**app_settings("http://app.test"), "COOKIE_SAMESITE": "None"}.items():
        monkeypatch.setenv(name, value)
    hub_config = Config()
    hub_config.JupyterHub.tornado_settings = {"cookie_options": {"samesite": "Strict"}}
    hub = JupyterHub(config=hub_config)
    OpenHexaAuthenticator(parent=hub)
    assert hub.tornado_settings["cookie_options"] == {"samesite": "Strict", "secure": True}
