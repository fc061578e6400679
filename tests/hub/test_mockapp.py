"""The mock App answers as the real App does, awkward parts included; a test against it would prove nothing otherwise.

Each test names the App's file that decides the behaviour (BLSQ/openhexa-app, backend/hexa/).
The hub side of the App's calls is a recorder here: what the App sends is checked as sent.
"""

import json
import re
from pathlib import Path

import pytest
import requests

from harness import ROOT
from harness.app import DEMO, MockApp
from harness.net import StandInServer
from mockapp.state import Settings, State

FIXTURES = ROOT / "mockapp" / "fixtures.yaml"

AUTHENTICATE, DEFAULT, WORKSPACE_CREDENTIALS = (
    "/notebooks/authenticate/",
    "/notebooks/default-credentials/",
    "/workspaces/credentials/",
)
ENDPOINTS = [AUTHENTICATE, DEFAULT, WORKSPACE_CREDENTIALS]
APP_DEFAULT_IMAGE = "blsq/openhexa-base-environment:latest"
NO_PERMISSION = "User does not have permission to launch notebooks"


def csrf_post(app, session, path, **kwargs):
    token = session.cookies.get("csrftoken", "")
    headers = {"X-CSRFToken": token, "Referer": f"{app.url}/", **kwargs.pop("headers", {})}
    return session.post(f"{app.url}{path}", headers=headers, allow_redirects=False, timeout=10, **kwargs)


# -- Django's manners (user_management/middlewares.py, Django's CSRF and decorators) --------


@pytest.mark.parametrize("path", [AUTHENTICATE, DEFAULT])
def test_a_get_is_302_for_anonymous_callers_and_405_for_people(app, path):
    anonymous = requests.get(f"{app.url}{path}", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == f"/login?next={path}"
    session = app.login(*DEMO["alice"])
    assert session.get(f"{app.url}{path}", allow_redirects=False, timeout=10).status_code == 405


def test_workspace_credentials_are_anonymous_and_post_only(app):
    assert requests.get(f"{app.url}{WORKSPACE_CREDENTIALS}", allow_redirects=False, timeout=10).status_code == 405


@pytest.mark.parametrize("path", [AUTHENTICATE, DEFAULT])
def test_anonymous_form_posts_are_redirected_and_json_posts_get_401(app, path):
    form = requests.post(f"{app.url}{path}", data={"a": "b"}, allow_redirects=False, timeout=10)
    assert form.status_code == 302 and form.headers["Location"] == f"/login?next={path}"
    as_json = requests.post(f"{app.url}{path}", json={}, allow_redirects=False, timeout=10)
    assert as_json.status_code == 401 and as_json.content == b""


@pytest.mark.parametrize("path", [AUTHENTICATE, DEFAULT])
def test_a_post_without_the_csrf_pair_or_a_referer_is_403(app, path):
    session = app.login(*DEMO["alice"])
    assert session.post(f"{app.url}{path}", timeout=10).status_code == 403
    assert csrf_post(app, session, path, headers={"X-CSRFToken": "wrong"}).status_code == 403
    token = session.cookies["csrftoken"]
    assert session.post(f"{app.url}{path}", headers={"X-CSRFToken": token}, timeout=10).status_code == 403


def test_workspace_credentials_are_csrf_exempt(app):
    session = app.login(*DEMO["alice"])
    response = session.post(f"{app.url}{WORKSPACE_CREDENTIALS}", data={"workspace": "malaria-dashboards"}, timeout=10)
    assert response.status_code == 200


# -- what the endpoints answer (notebooks/views.py, workspaces/views.py) --------------------


def test_authenticate_answers_the_email_as_stored(app):
    session = app.login(*DEMO["mixed"])
    assert csrf_post(app, session, AUTHENTICATE).json() == {"username": "Mixed.Case+tag@openhexa.test"}


@pytest.mark.parametrize("who,flag", [("alice", "true"), ("bob", "false")])
def test_default_credentials_carry_the_git_flag_and_what_plugins_add(app, who, flag):
    session = app.login(*DEMO[who])
    answer = csrf_post(app, session, DEFAULT).json()
    assert set(answer) == {"username", "env", "files"}
    assert answer["env"]["GIT_EXTENSION_ENABLED"] == flag
    assert any(name.startswith("DHIS2_") and name.endswith("_PASSWORD") for name in answer["env"])


def test_a_workspace_answer_has_env_a_32_hex_hash_and_always_an_image(app):
    session = app.login(*DEMO["alice"])
    answer = csrf_post(app, session, WORKSPACE_CREDENTIALS, data={"workspace": "malaria-dashboards"}).json()
    assert set(answer) == {"env", "notebooks_server_hash", "image"}
    assert len(answer["notebooks_server_hash"]) == 32 and int(answer["notebooks_server_hash"], 16) >= 0
    assert answer["image"] == APP_DEFAULT_IMAGE
    assert "{" in answer["env"]["WORKSPACE_DATABASE_PASSWORD"]


@pytest.mark.parametrize(
    "who,form,status,body",
    [
        ("alice", {}, 400, {"error": "No workspace given"}),
        ("alice", {"workspace": "no-such-workspace"}, 404, {}),
        (None, {"workspace": "malaria-dashboards"}, 401, {}),
        ("bob", {"workspace": "malaria-dashboards"}, 401, {"error": NO_PERMISSION}),
        ("carol", {"workspace": "malaria-dashboards"}, 401, {"error": NO_PERMISSION}),
    ],
    ids=["no-slug", "unknown-workspace", "anonymous", "viewer", "not-a-member"],
)
def test_workspace_credentials_refuse_as_the_app_does(app, who, form, status, body):
    session = app.login(*DEMO[who]) if who else requests.Session()
    response = csrf_post(app, session, WORKSPACE_CREDENTIALS, data=form)
    assert (response.status_code, response.json()) == (status, body)


def test_the_backends_login_hands_over_to_the_frontends_with_the_full_path(app):
    response = requests.get(f"{app.url}/login?next=/hub/x%3Fy", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{app.frontend_url}/login?next=/hub/x%3Fy"


def test_login_needs_the_email_as_stored_and_the_right_password(app):
    assert "login-error" in submit_login(app, "alice@openhexa.test", "nope").text
    assert "login-error" in submit_login(app, "mixed.case+tag@openhexa.test", "mixed-pass").text
    response = submit_login(app, *DEMO["mixed"])
    assert response.status_code == 302


@pytest.mark.parametrize("then", ["mixed", "alice"], ids=["another-person", "the-same-person"])
def test_logging_in_ends_the_browsers_previous_session(app, then):
    """Django's login(): flush() for another person, cycle_key() for the same one; the old key is no one's."""
    browser = app.login(*DEMO["alice"])
    old = {name: browser.cookies[name] for name in ("sessionid", "csrftoken")}
    app.login(*DEMO[then], session=browser)
    assert browser.cookies["sessionid"] != old["sessionid"]
    stale = requests.Session()
    stale.cookies.update(old)
    assert csrf_post(app, stale, AUTHENTICATE).status_code == 302, "the previous session still answers"
    assert csrf_post(app, browser, AUTHENTICATE).json()["username"] == DEMO[then][0]


def submit_login(app, email, password):
    session = requests.Session()
    session.get(f"{app.frontend_url}/login", timeout=10)
    return session.post(
        f"{app.frontend_url}/login",
        data={"email": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{app.frontend_url}/login"},
        allow_redirects=False,
        timeout=10,
    )


# -- the App's calls to the hub (notebooks/schema.py, notebooks/api.py, the logout view) ----


@pytest.fixture
def recorded_hub(tmp_path):
    """The mock App (test controls on) calling a stand-in hub that records; yields (app, hub).

    A test sets ``hub.script = lambda method, path: (status, headers, body)``.
    """
    with StandInServer(lambda request: hub.script(request.method, request.path)) as hub:
        hub.script = lambda method, path: (404, {}, None)
        app = MockApp.start(tmp_path, hub_url=hub.url, hub_api_token="app-token")
        yield app, hub
        app.stop()


def test_logout_calls_the_hub_from_the_backend_with_the_app_cookies_only(recorded_hub):
    app, hub = recorded_hub
    hub.script = lambda method, path: (302, {"Location": "/hub/elsewhere"}, None)
    session = app.login(*DEMO["alice"])
    cookies = {name: session.cookies[name] for name in ("sessionid", "csrftoken")}
    response = app.logout(session)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    (call,) = hub.requests  # the redirect was not followed
    assert (call.method, call.path) == ("GET", "/hub/logout")
    assert "Authorization" not in call.headers and "Referer" not in call.headers
    sent = dict(part.split("=", 1) for part in call.headers["Cookie"].split("; "))
    assert sent == cookies
    # The App's session is over afterwards.
    assert csrf_post(app, session, AUTHENTICATE).status_code == 302


def test_launching_calls_the_hub_as_launch_notebook_server_does(recorded_hub):
    app, hub = recorded_hub
    users = {}

    def script(method, path):
        if method == "GET" and path.startswith("/hub/api/users/"):
            return (200, {}, {"servers": users}) if users else (404, {}, None)
        if method == "POST" and "/servers/" in path:
            users["survey-trial"] = {"ready": False}
        elif method == "POST":
            users.setdefault("_created", True)
        return 201, {}, {}

    hub.script = script
    session = app.login(*DEMO["alice"])
    answer = session.post(
        f"{app.frontend_url}/graphql/",
        json={"variables": {"input": {"workspaceSlug": "survey-trial"}}},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{app.frontend_url}/"},
        timeout=30,
    ).json()
    result = answer["data"]["launchNotebookServer"]
    assert result["success"] and result["server"]["ready"] is False  # no waiting: the frontend asks again
    calls = [(r.method, r.path) for r in hub.requests]
    assert calls == [
        ("GET", "/hub/api/users/alice@openhexa.test"),
        ("POST", "/hub/api/users/alice@openhexa.test"),
        ("GET", "/hub/api/users/alice@openhexa.test"),
        ("POST", "/hub/api/users/alice@openhexa.test/servers/survey-trial"),
        ("GET", "/hub/api/users/alice@openhexa.test"),
    ]
    spawn = hub.requests[3]
    assert spawn.headers["Authorization"] == "token app-token"
    assert json.loads(spawn.body) == {"profile": "trial"}
    assert set(dict(p.split("=", 1) for p in spawn.headers["Cookie"].split("; "))) == {"sessionid", "csrftoken"}


def test_launching_keeps_the_emails_capitals_and_encodes_the_ready_check(recorded_hub):
    app, hub = recorded_hub
    hub.script = lambda method, path: (
        (200, {}, {"servers": {"malaria-dashboards": {"ready": True}}}) if method == "GET" else (201, {}, {})
    )
    session = app.login(*DEMO["mixed"])
    result = app.launch(session, "malaria-dashboards")
    assert result["server"]["url"].endswith("/user/Mixed.Case%2Btag@openhexa.test/malaria-dashboards/")
    paths = [r.path for r in hub.requests]
    assert paths[0] == "/hub/api/users/Mixed.Case+tag@openhexa.test"  # as stored, as requests sends it
    assert paths[-1] == "/hub/api/users/Mixed.Case%2Btag@openhexa.test"  # the ready check's encoded name


def test_a_hub_refusal_reaches_the_person_as_the_app_words_it(recorded_hub):
    app, hub = recorded_hub
    hub.script = lambda method, path: (200, {}, {"servers": {}}) if method == "GET" else (403, {}, {})
    result = app.launch(app.login(*DEMO["alice"]), "malaria-dashboards")
    (error,) = result["errors"]
    assert error["message"].startswith("403 Client Error: Forbidden for url: http://127.0.0.1:")


def graphql_launch(app, session, slug: str) -> dict:
    """One ``launchNotebookServer``, as one tick of the frontend's notebooks page."""
    return session.post(
        f"{app.frontend_url}/graphql/",
        json={"variables": {"input": {"workspaceSlug": slug}}},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{app.frontend_url}/"},
        timeout=30,
    ).json()


def test_a_hub_429_is_an_error_the_app_does_not_retry(recorded_hub):
    """JupyterHub's answer beyond ``concurrent_spawn_limit``: ``create_server`` raises it (notebooks/api.py),
    GraphQL answers the error, and the frontend shows an error page (or stops asking): no retry."""
    app, hub = recorded_hub
    too_many = {"status": 429, "message": "Too many users trying to log in right now. Try again in 30 seconds."}
    hub.script = lambda method, path: (
        (200, {}, {"servers": {}}) if method == "GET" else (429, {"Retry-After": "30"}, too_many)
    )
    answer = graphql_launch(app, app.login(*DEMO["alice"]), "malaria-dashboards")
    assert answer["data"] == {"launchNotebookServer": None}
    (error,) = answer["errors"]
    assert error["message"].startswith("429 Client Error: Too Many Requests for url: http://127.0.0.1:")
    assert error["message"].endswith("/hub/api/users/alice@openhexa.test/servers/malaria-dashboards")
    posts = [r.path for r in hub.requests if r.method == "POST"]
    assert posts == ["/hub/api/users/alice@openhexa.test/servers/malaria-dashboards"]  # asked once, not again
    (noted,) = requests.get(f"{app.url}/_mock/hub-answers", timeout=10).json()["answers"]
    assert (noted["status"], noted["retry_after"], noted["body"]) == (429, "30", too_many)


def test_a_hub_202_is_starting_and_each_ask_posts_the_server_again(recorded_hub):
    """A 202 passes ``raise_for_status``; ``ready`` is false, so the frontend asks again a second later, and the
    App POSTs the server again for as long as the hub does not list it (notebooks/schema.py)."""
    app, hub = recorded_hub
    waiting = {"status": "waiting", "place": 3}
    hub.script = lambda method, path: (
        (200, {}, {"servers": {}}) if method == "GET" else (202, {"Retry-After": "1"}, waiting)
    )
    session = app.login(*DEMO["alice"])
    for _ in range(2):
        result = graphql_launch(app, session, "malaria-dashboards")["data"]["launchNotebookServer"]
        assert result["success"] and result["server"]["ready"] is False
    posts = [r.path for r in hub.requests if r.method == "POST"]
    assert posts == ["/hub/api/users/alice@openhexa.test/servers/malaria-dashboards"] * 2
    noted = requests.get(f"{app.url}/_mock/hub-answers", timeout=10).json()["answers"]
    assert [(n["status"], n["body"]) for n in noted] == [(202, waiting)] * 2


@pytest.mark.parametrize("who,error", [("carol", "NOT_FOUND"), ("bob", "PERMISSION_DENIED")])
def test_launching_checks_membership_before_calling_the_hub(recorded_hub, who, error):
    app, hub = recorded_hub
    result = app.launch(app.login(*DEMO[who]), "malaria-dashboards")
    assert result == {"success": False, "server": None, "errors": [error]}
    assert hub.requests == []


# -- the test switches ----------------------------------------------------------------------


def test_the_test_switches_are_off_unless_started_for_tests(tmp_path):
    app = MockApp.start(tmp_path, env={"MOCK_APP_TEST_CONTROLS": "0"})
    try:
        for path in ("/_mock/mode", "/_mock/answer", "/_mock/calls", "/_mock/hub-answers"):
            assert requests.get(f"{app.url}{path}", timeout=10).status_code == 404, path
    finally:
        app.stop()


# -- storage, as the App's backends hand it out (files/backends/<engine>.py) ----------------


def test_the_unit_tiers_app_hands_out_s3_credentials_with_a_session_token(app):
    session = app.login(*DEMO["alice"])
    env = csrf_post(app, session, WORKSPACE_CREDENTIALS, data={"workspace": "malaria-dashboards"}).json()["env"]
    assert env["WORKSPACE_STORAGE_ENGINE"] == "s3"
    assert env["WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME"] == env["WORKSPACE_BUCKET_NAME"]
    for name in ("REGION_NAME", "ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"):
        assert env[f"WORKSPACE_STORAGE_ENGINE_S3_{name}"], name


@pytest.mark.parametrize(
    "engine,names",
    [
        ("gcp", {"WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME", "WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN"}),
        ("azure", {"WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME", "WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN"}),
    ],
)
def test_each_cloud_engine_hands_out_its_own_settings(engine, names):
    state = State.load(FIXTURES)
    env = Settings(storage_engine=engine).storage_env("hexa-ws", state.storage)
    assert set(env) == {"WORKSPACE_STORAGE_ENGINE"} | names and env["WORKSPACE_STORAGE_ENGINE"] == engine


def test_the_local_engine_hands_out_the_buckets_folder_as_the_docker_engine_sees_it(tmp_path):
    conf = Settings(storage_engine="local", storage_dir=tmp_path / "data", storage_bind_path=Path("/srv/data"))
    env = conf.storage_env("hexa-ws", {})
    assert env == {"WORKSPACE_STORAGE_ENGINE": "local", "WORKSPACE_STORAGE_MOUNT_PATH": "/srv/data/hexa-ws"}
    assert (tmp_path / "data" / "hexa-ws").is_dir()  # the App makes the bucket's folder


def test_every_point_of_the_contract_table_names_tests_that_exist():
    """mockapp/README.md: each point names the App's file and tests here; a renamed test must not go stale."""
    section = (ROOT / "mockapp" / "README.md").read_text().split("## The contract, point by point", 1)[1]
    table = [line for line in section.splitlines() if line.startswith("| ")][2:]
    assert len(table) >= 15
    for row in table:
        module = None
        named = re.findall(r"`((?:unit|hub|e2e|image)/\w+\.py)(?:::(\w+))?`|`::(\w+)`", row.split("|")[3])
        assert named, row[:80]
        for path, name, continued in named:
            module = ROOT / "tests" / path if path else module
            test = name or continued
            assert module.exists(), path
            assert not test or f"def {test}(" in module.read_text(), f"{module.name}::{test}"
