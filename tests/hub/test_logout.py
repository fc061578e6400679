"""Logging out: from the App's backend (its POST /auth/logout/), or a browser visiting /hub/logout.

Either way the person's servers stop, a server still starting included, and every hub
cookie and token issued to them stops working. A request nobody can be identified
from, or one from another site, changes nothing.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness.app import DEMO
from harness.hub import HUB_TIER_CONFIG, Hub, own_token
from harness.wait import WaitTimeout, wait_until

ALICE = "alice@openhexa.test"
WORKSPACE = "malaria-dashboards"


def running(hub, name=ALICE, server=""):
    return (hub.server(name, server) or {}).get("ready")


def with_default_server(login, hub, who="alice", name=ALICE):
    session = login(who)
    session.get(f"{hub.url}/hub/spawn", timeout=60)
    wait_until(lambda: running(hub, name), f"{name}'s default server to be ready")
    return session


def hub_cookie(session) -> str:
    cookie = session.cookies.get("jupyterhub-hub-login", path="/hub/")
    assert cookie
    return cookie


def cookie_works(hub, cookie, app_session) -> bool:
    """The hub cookie opens the hub, sent with the App cookies of ``app_session`` (a browser's: a hub
    login holds only with the App session of its person)."""
    browser = requests.Session()
    browser.cookies.set("jupyterhub-hub-login", cookie, path="/hub/")
    for name in ("sessionid", "csrftoken"):
        browser.cookies.set(name, app_session.cookies[name])
    return browser.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 200


def token_works(hub, token) -> bool:
    response = requests.get(f"{hub.url}/hub/api/user", headers={"Authorization": f"token {token}"}, timeout=30)
    return response.status_code == 200


def test_logging_out_of_the_app_stops_servers_and_voids_cookies_and_tokens(login, app, hub):
    alice = with_default_server(login, hub)
    assert app.launch(alice, WORKSPACE)["success"]
    assert running(hub, ALICE, WORKSPACE)
    old_cookie, token = hub_cookie(alice), own_token(hub.url, alice, ALICE)
    assert cookie_works(hub, old_cookie, alice) and token_works(hub, token)

    # The App calls the hub from its backend with the App's cookies only, then ends its session.
    response = app.logout(alice)
    assert response.status_code == 302 and response.headers["Location"] == "/login"

    assert hub.server(ALICE) is None and hub.server(ALICE, WORKSPACE) is None, "servers still running"
    again = app.login(*DEMO["alice"])  # even with a new App session of alice's
    assert not cookie_works(hub, old_cookie, again), "the old hub cookie still opens the hub"
    assert not token_works(hub, token), "the API token survived the logout"
    home = requests.get(f"{hub.url}/hub/home", cookies={"jupyterhub-hub-login": old_cookie}, allow_redirects=False)
    assert home.status_code == 302 and "/hub/login" in home.headers["Location"]
    # The next visit to the hub goes to the App's login.
    again = requests.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert again.headers["Location"].startswith(f"{app.url}/login?")


def test_the_apps_logout_call_is_answered_without_a_hub_cookie_and_never_followed(login, app, hub):
    alice = with_default_server(login, hub)
    app_cookies = {name: alice.cookies[name] for name in ("sessionid", "csrftoken")}
    # Exactly the App's call: GET, the two App cookies, no token, no Referer, no redirect followed.
    response = requests.get(f"{hub.url}/hub/logout", cookies=app_cookies, allow_redirects=False, timeout=60)
    assert response.status_code == 302
    assert hub.server(ALICE) is None
    assert not cookie_works(hub, hub_cookie(alice), app.login(*DEMO["alice"]))


@pytest.mark.parametrize(
    "cookies",
    [{}, {"sessionid": "not-a-session", "csrftoken": "abc"}],
    ids=["no-app-session", "invalid-app-session"],
)
def test_a_logout_call_nobody_can_be_identified_from_changes_nothing(login, hub, cookies):
    alice = with_default_server(login, hub)
    response = requests.get(f"{hub.url}/hub/logout", cookies=cookies, allow_redirects=False, timeout=60)
    assert response.status_code == 302
    assert running(hub) and cookie_works(hub, hub_cookie(alice), alice)


@pytest.mark.parametrize("mode,delay", [("status-500", 0.0), ("ok", 3.0)], ids=["app-failing", "app-slow"])
def test_the_app_failing_during_its_logout_call_is_no_500(login, app, hub, mode, delay):
    alice = with_default_server(login, hub)
    app_cookies = {name: alice.cookies[name] for name in ("sessionid", "csrftoken")}
    app.set_mode(mode, delay)
    response = requests.get(f"{hub.url}/hub/logout", cookies=app_cookies, allow_redirects=False, timeout=60)
    app.set_mode("ok")
    assert response.status_code == 302
    assert running(hub) and cookie_works(hub, hub_cookie(alice), alice)


def test_a_browser_visiting_hub_logout_is_logged_out_and_sent_to_the_app(login, app, hub):
    alice = with_default_server(login, hub)
    old_cookie = hub_cookie(alice)
    response = alice.get(f"{hub.url}/hub/logout", headers={"Sec-Fetch-Site": "none"}, allow_redirects=False, timeout=60)
    assert response.status_code == 302 and response.headers["Location"] == f"{app.url}/login"
    assert hub.server(ALICE) is None and not cookie_works(hub, old_cookie, app.login(*DEMO["alice"]))


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Referer": "https://elsewhere.example/page"}],
    ids=["sec-fetch-site", "referer-only"],
)
def test_a_cross_site_logout_stops_nothing(login, hub, headers):
    alice = with_default_server(login, hub)
    response = alice.get(f"{hub.url}/hub/logout", headers=headers, allow_redirects=False, timeout=60)
    assert response.status_code == 403
    assert "from the OpenHexa App" in response.text
    assert running(hub) and cookie_works(hub, hub_cookie(alice), alice)


def test_a_same_site_logout_works(login, hub):
    alice = with_default_server(login, hub)
    response = alice.get(
        f"{hub.url}/hub/logout", headers={"Sec-Fetch-Site": "same-site"}, allow_redirects=False, timeout=60
    )
    assert response.status_code == 302 and hub.server(ALICE) is None


def test_a_server_still_starting_at_logout_is_stopped_and_stays_stopped(login, app, hub):
    alice = login("alice")
    app.set_mode("ok", delay=1.5)  # the spawn hooks wait for the App: the server is pending meanwhile
    spawning = threading.Thread(target=lambda: alice.get(f"{hub.url}/hub/spawn", timeout=60), daemon=True)
    spawning.start()
    wait_until(lambda: (hub.server(ALICE) or {}).get("pending") == "spawn", "alice's server to be starting", 20)
    response = alice.get(f"{hub.url}/hub/logout", allow_redirects=False, timeout=60)
    assert response.status_code == 302
    spawning.join(60)
    app.set_mode("ok")
    assert hub.server(ALICE) is None, "the starting server survived the logout"
    with pytest.raises(WaitTimeout):  # nor does it come up a moment later
        wait_until(lambda: hub.server(ALICE) is not None, "a server to come back", timeout=5)


def test_logging_out_of_the_app_while_its_launch_starts_answers_the_app_without_a_500(app, hub):
    """The App launches a workspace (its POST waits for the spawn hooks' answer), then the person logs out."""
    alice = app.login(*DEMO["alice"])
    app.set_mode("ok", delay=2)  # the launch's spawn hooks wait for the App
    with ThreadPoolExecutor(1) as pool:
        launched = pool.submit(hub.launch_as_app, ALICE, WORKSPACE, alice)
        wait_until(lambda: (hub.server(ALICE, WORKSPACE) or {}).get("pending") == "spawn", "the launch to start")
        app.set_mode("ok")
        assert app.logout(alice).status_code == 302
        response = launched.result(timeout=60)
    assert response.status_code == 409, (response.status_code, response.text[:300])
    assert "logged out" in response.json()["message"]
    wait_until(lambda: hub.server(ALICE, WORKSPACE) is None, "the launched server to be gone", timeout=10)


@pytest.fixture
def refreshing_hub(mock_app, tmp_path):
    """A hub of its own that asks the App about a session every second (JupyterHub's default: 5 minutes).

    The mock App's logout calls the unit tier's main hub, not this one: here the App session
    ends without this hub hearing of it, as when a session expires.
    """
    hub = Hub.start(
        mock_app.url, tmp_path / "hub", HUB_TIER_CONFIG, extra_args=["--OpenHexaAuthenticator.auth_refresh_age=1"]
    )
    yield hub
    hub.stop()


def test_a_made_up_authorization_header_does_not_skip_the_app_session_check(app, refreshing_hub):
    alice = app.login(*DEMO["alice"])
    assert alice.get(f"{refreshing_hub.url}/hub/login", allow_redirects=False, timeout=30).status_code == 302
    cookie = hub_cookie(alice)
    assert app.logout(alice).status_code == 302  # the App session is over
    thief = requests.Session()
    thief.cookies.set("jupyterhub-hub-login", cookie, path="/hub/")

    def refused(header: str) -> bool:
        response = thief.get(f"{refreshing_hub.url}/hub/api/user", headers={"Authorization": header}, timeout=30)
        return response.status_code == 403

    # Once the hub's last check of the session is a second old, it asks the App again.
    for header in ("x", "token made-up", "Bearer nothing"):
        wait_until(lambda header=header: refused(header), f"the hub to refuse the copy with {header!r}", timeout=10)


@pytest.fixture(params=["Lax", "Strict", "None"])
def samesite_hub(request, mock_app, tmp_path):
    """A hub of its own with COOKIE_SAMESITE set to each value."""
    hub = Hub.start(mock_app.url, tmp_path / "hub", HUB_TIER_CONFIG, extra_env={"COOKIE_SAMESITE": request.param})
    yield hub
    hub.stop()


def test_a_cross_site_logout_does_nothing_whatever_the_samesite_setting(app, samesite_hub):
    alice = app.login(*DEMO["alice"])
    login = alice.get(f"{samesite_hub.url}/hub/login", allow_redirects=False, timeout=30)
    cookie = login.cookies.get("jupyterhub-hub-login") or alice.cookies.get("jupyterhub-hub-login")
    assert cookie
    # Sent by hand: with SameSite=None the cookies are Secure, which a client keeps from http.
    sent = {"jupyterhub-hub-login": cookie, **{k: alice.cookies[k] for k in ("sessionid", "csrftoken")}}
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in sent.items())}
    samesite_hub.api("POST", f"/users/{ALICE}/server", json={}, headers=header)
    wait_until(lambda: running(samesite_hub), "alice's default server to be ready")
    for headers in ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}, {"Referer": "https://evil.example/"}):
        response = requests.get(
            f"{samesite_hub.url}/hub/logout", headers={**header, **headers}, allow_redirects=False, timeout=60
        )
        assert response.status_code == 403, headers
    assert running(samesite_hub) and cookie_works(samesite_hub, cookie, alice)
    samesite_hub.api("DELETE", f"/users/{ALICE}/server")
