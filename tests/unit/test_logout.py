"""Logging out of the App stops the person's servers and voids every hub cookie issued before."""

import requests

from tests.support import wait_until

ALICE = "alice@openhexa.test"


def test_logout_stops_servers_voids_old_cookies_and_returns_to_the_app(login, app, hub):
    alice = login("alice")
    alice.get(f"{hub.url}/hub/spawn", timeout=60)
    wait_until(lambda: (hub.server(ALICE) or {}).get("ready"), "alice's default server to be ready")
    old_cookie = alice.cookies.get("jupyterhub-hub-login", path="/hub/")
    assert old_cookie

    # The App ends the session and sends the browser to the hub's logout.
    response = app.logout(alice, follow=False)
    assert response.headers["Location"].endswith("/hub/logout")
    response = alice.get(f"{hub.url}/hub/logout", allow_redirects=False, timeout=60)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{app.url}/login"

    assert hub.server(ALICE) is None, "alice's server is still running after logout"

    # A copy of the old hub cookie no longer authenticates anyone.
    thief = requests.Session()
    thief.cookies.set("jupyterhub-hub-login", old_cookie, path="/hub/")
    assert thief.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 403
    home = thief.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=30)
    assert home.status_code == 302 and "/hub/login" in home.headers["Location"]

    # The next visit to the hub goes to the App's login.
    again = requests.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert again.headers["Location"].startswith(f"{app.url}/login?")
