"""/hub/login on a real hub: the App's session is the only way in.

The App's bad answers (HTML, invalid JSON, errors, a redirect, a username that is no email)
are tested in-process: tests/unit/test_app_answers.py.
"""

from urllib.parse import parse_qs, urlsplit

import requests

from harness.app import DEMO


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
