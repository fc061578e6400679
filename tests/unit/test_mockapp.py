"""The mock App keeps Django's manners; a test against it would prove nothing otherwise."""

import pytest
import requests

from tests.conftest import DEMO

ENDPOINTS = ["/notebooks/authenticate/", "/notebooks/default-credentials/", "/workspaces/credentials/"]


def csrf_post(app, session, path, **kwargs):
    token = session.cookies.get("csrftoken", "")
    headers = {"X-CSRFToken": token, "Referer": f"{app.url}/", **kwargs.pop("headers", {})}
    return session.post(f"{app.url}{path}", headers=headers, allow_redirects=False, timeout=10, **kwargs)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_get_is_405(app, path):
    assert requests.get(f"{app.url}{path}", timeout=10).status_code == 405


@pytest.mark.parametrize("path", ENDPOINTS)
def test_post_without_csrf_pair_is_403(app, path):
    session = app.login(*DEMO["alice"])
    assert session.post(f"{app.url}{path}", timeout=10).status_code == 403
    wrong = csrf_post(app, session, path, headers={"X-CSRFToken": "wrong"})
    assert wrong.status_code == 403


def test_post_without_referer_is_403(app):
    session = app.login(*DEMO["alice"])
    token = session.cookies["csrftoken"]
    response = session.post(f"{app.url}{ENDPOINTS[0]}", headers={"X-CSRFToken": token}, timeout=10)
    assert response.status_code == 403


@pytest.mark.parametrize("path", ENDPOINTS)
def test_not_logged_in_redirects_to_login(app, path):
    session = requests.Session()
    session.cookies.set("csrftoken", "abc")
    response = csrf_post(app, session, path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def submit_login_form(app, password: str, next_url: str = "/"):
    """What a browser does: GET the login page (csrftoken), POST the form back."""
    session = requests.Session()
    session.get(f"{app.url}/login", timeout=10)
    response = session.post(
        f"{app.url}/login?next={next_url}",
        data={
            "email": "alice@openhexa.test",
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{app.url}/login"},
        allow_redirects=False,
        timeout=10,
    )
    return session, response


def test_login_sets_both_cookies_and_follows_next(app):
    session, response = submit_login_form(app, "alice-pass", "http://127.0.0.1:9/hub/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:9/hub/login"
    assert {"sessionid", "csrftoken"} <= set(session.cookies.keys())


def test_wrong_password_is_not_a_login(app):
    session, response = submit_login_form(app, "nope")
    assert response.status_code == 200
    assert "sessionid" not in session.cookies


def test_answers_follow_the_contract(app):
    session = app.login(*DEMO["alice"])
    assert csrf_post(app, session, ENDPOINTS[0]).json() == {"username": "alice@openhexa.test"}
    default = csrf_post(app, session, ENDPOINTS[1]).json()
    assert set(default) == {"username", "env", "files"}
    workspace = csrf_post(app, session, ENDPOINTS[2], data={"workspace": "malaria-dashboards"}).json()
    assert {"env", "notebooks_server_hash"} <= set(workspace)
    assert "{" in workspace["env"]["WORKSPACE_DATABASE_PASSWORD"]


def test_workspace_credentials_refuse_non_members(app):
    session = app.login(*DEMO["bob"])
    response = csrf_post(app, session, ENDPOINTS[2], data={"workspace": "malaria-dashboards"})
    assert response.status_code == 403
