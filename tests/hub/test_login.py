"""/hub/login on a real hub: the App's session is the only way in.

The App's bad answers (HTML, invalid JSON, errors, a redirect, a username that is no email)
are tested in-process: tests/unit/test_app_answers.py.
"""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from harness.app import DEMO
from harness.wait import WaitTimeout, wait_until


def test_anonymous_visit_goes_to_app_login_and_comes_back(app, hub):
    response = requests.get(f"{hub.url}/hub/", timeout=30)  # follows every redirect, as a browser does
    hops = [r.headers["Location"] for r in response.history]
    to_app = next(hop for hop in hops if hop.startswith(f"{app.url}/login?"))
    back = parse_qs(urlsplit(to_app).query)["next"][0]
    assert back.startswith(f"{hub.url}/hub/login"), back
    # The App's backend hands over to its frontend's login page, `next` kept.
    assert response.status_code == 200 and response.url.startswith(f"{app.frontend_url}/login?"), hops
    assert parse_qs(urlsplit(response.url).query)["next"] == [back]
    assert "id='login-submit'" in response.text


def test_app_session_logs_in_and_calls_follow_the_contract(app, hub):
    session = app.login(*DEMO["alice"])
    response = session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert "jupyterhub-hub-login" in session.cookies
    me = session.get(f"{hub.url}/hub/api/user", timeout=30)
    assert me.json()["name"] == "alice@openhexa.test"

    (call,) = [c for c in app.calls() if c["path"] == "/notebooks/authenticate/"]
    assert call["cookies"] == ["csrftoken", "sessionid"]
    assert call["csrf_header"]
    assert urlsplit(call["referer"]).hostname == "127.0.0.1"


def test_usernames_are_normalised(login, hub):
    session = login("mixed")
    assert session.get(f"{hub.url}/hub/api/user", timeout=30).json()["name"] == "mixed.case+tag@openhexa.test"


def test_hub_pages_send_the_csp(app, hub):
    response = requests.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.headers["Content-Security-Policy"] == f"frame-ancestors 'self' {app.url}"


def test_stale_app_session_goes_to_app_login(app, hub):
    session = requests.Session()
    session.cookies.set("sessionid", "not-a-session")
    session.cookies.set("csrftoken", "abc")
    response = session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{app.url}/login?")
    assert "jupyterhub-hub-login" not in session.cookies


# -- a hub login holds only with the App session it came from, in its browser -------------------

ALICE, MIXED = "alice@openhexa.test", "mixed.case+tag@openhexa.test"


@pytest.fixture
def alice_at_her_server(app, hub):
    """Alice's browser: logged in to the App and the hub, her default server open (its login cookie set)."""
    browser = app.login(*DEMO["alice"])
    assert browser.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30).status_code == 302
    browser.get(f"{hub.url}/hub/spawn", allow_redirects=False, timeout=60)
    hub.wait_ready(ALICE)
    assert browser.get(f"{hub.url}/user/{ALICE}/env", timeout=30).json()["JUPYTERHUB_USER"] == ALICE
    yield browser
    hub.stop_servers(ALICE)


def alices_server_answers(hub, browser) -> bool:
    """What alice's server does with this browser's request, the hub not visited (no redirect followed)."""
    return browser.get(f"{hub.url}/user/{ALICE}/env", allow_redirects=False, timeout=30).status_code == 200


@pytest.mark.parametrize("switch", ["another-person-logs-in", "the-app-session-expires"])
def test_a_servers_login_ends_when_another_person_logs_in_to_the_app_in_that_browser(
    app, hub, alice_at_her_server, switch
):
    """A shared browser: alice leaves her notebooks open; Mixed logs in to the App in the same browser (or
    alice's App session expires). Her server's own check of its login (every few seconds: the hub asks the
    App about the session that browser logged in with) ends it, though the browser never visits the hub."""
    browser = alice_at_her_server
    if switch == "another-person-logs-in":
        app.login(*DEMO["mixed"], session=browser)
    else:
        app.expire(browser)
    wait_until(lambda: not alices_server_answers(hub, browser), "alice's server to stop answering this browser", 30)
    followed = browser.get(f"{hub.url}/user/{ALICE}/env", timeout=30)  # on through the hub, as a browser goes
    assert "JUPYTERHUB_USER" not in followed.text, "alice's server answered"
    if switch == "another-person-logs-in":
        assert followed.status_code == 403, (followed.status_code, followed.url)  # Mixed, on alice's server
    else:
        assert followed.url.startswith(f"{app.frontend_url}/login?"), followed.url  # the App's login
    # The hub, for its part, serves the App's current person in this browser, or nobody.
    browser.get(f"{hub.url}/hub/home", timeout=30)
    me = browser.get(f"{hub.url}/hub/api/user", timeout=30)
    if switch == "another-person-logs-in":
        assert me.json()["name"] == MIXED
    else:
        assert me.status_code == 403
    assert hub.server(ALICE)["ready"], "alice's server itself goes on: only this browser's logins end"


def test_the_hub_serves_the_apps_current_person_from_the_next_request(app, hub, alice_at_her_server):
    """The hub's own pages: the very next request, whichever of alice's browsers checked her a moment ago."""
    browser = alice_at_her_server
    elsewhere = app.login(*DEMO["alice"])  # alice in another browser, the hub checking her there now and then
    elsewhere.get(f"{hub.url}/hub/login", timeout=30)
    app.login(*DEMO["mixed"], session=browser)
    for _ in range(5):
        assert elsewhere.get(f"{hub.url}/hub/api/user", timeout=30).json()["name"] == ALICE
        assert browser.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 403, "alice's login in Mixed's browser"


def test_a_servers_login_ends_when_the_app_names_a_person_the_hub_refuses(app, hub, alice_at_her_server):
    """The App answers about the browser's session, but with a name that is no person of the hub's: not
    alice's session any more, so her server's login in that browser ends (only an App that cannot answer
    keeps it)."""
    browser = alice_at_her_server
    refused = json.dumps({"username": "<script>@x.org"})
    app.answer(200, refused, {"Content-Type": "application/json"}, "/notebooks/authenticate/")
    try:
        wait_until(lambda: not alices_server_answers(hub, browser), "alice's server to stop answering this browser", 30)
    finally:
        app.set_mode("ok")


def test_a_servers_login_holds_while_the_app_cannot_answer(app, hub, alice_at_her_server):
    """The App restarting or down logs nobody out of their server (the hub's own pages say it is unavailable)."""
    browser = alice_at_her_server
    app.set_mode("status-500")
    try:
        with pytest.raises(WaitTimeout):  # past the server's and the hub's caches
            wait_until(lambda: not alices_server_answers(hub, browser), "alice's server to stop answering", 12)
    finally:
        app.set_mode("ok")
