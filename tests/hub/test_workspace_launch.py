"""Workspaces launched as the App launches them: names as it spells them, its images, profiles and refusals.

The App's frontend calls ``launchNotebookServer`` (the mock App's GraphQL) every second;
its backend creates the user with the email as stored (capitals kept), starts the named
server with the person's cookies and ``{"profile": ...}``, and polls ``ready`` with the
percent-encoded name. The notebook URL it shows must open the server.
"""

import html
import json
import sqlite3
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
import yaml

from harness.app import APP_REFUSALS, DEMO, FIXTURES, MockApp
from harness.hub import HUB_TIER_CONFIG, Hub, own_token
from harness.net import free_port, random_token
from harness.wait import wait_until

MIXED = "Mixed.Case+tag@openhexa.test"
MIXED_HUB = "mixed.case+tag@openhexa.test"
ALICE = "alice@openhexa.test"
WORKSPACE = "malaria-dashboards"
TRIAL = "survey-trial"  # its subscription names the notebook profile "trial"
GIB = 1024**3


@pytest.fixture
def mixed(login, hub):
    session = login("mixed")
    yield session
    hub.stop_servers(MIXED_HUB)


@pytest.fixture
def alice(login, hub):
    session = login("alice")
    yield session
    hub.stop_servers(ALICE)


def server_env(session, server_url: str) -> dict:
    response = session.get(f"{server_url}env", timeout=30)  # follows the hub's redirects and the server's OAuth
    assert response.status_code == 200, (response.status_code, response.url)
    return response.json()


def test_a_mixed_case_person_opens_a_workspace_through_the_apps_launch_flow(mixed, app, hub):
    result = app.launch(mixed, WORKSPACE)
    assert result.get("success"), result
    url = result["server"]["url"]
    # The URL the App shows: the email as stored, the part before @ percent-encoded.
    assert url == f"{hub.url}/user/Mixed.Case%2Btag@openhexa.test/{WORKSPACE}/"
    env = server_env(mixed, url)
    assert env["HEXA_WORKSPACE"] == WORKSPACE
    assert env["JUPYTERHUB_USER"] == MIXED_HUB  # the same hub user the person logs in as
    me = mixed.get(f"{hub.url}/hub/api/user", timeout=30).json()
    assert me["name"] == MIXED_HUB and WORKSPACE in me["servers"]


@pytest.mark.parametrize(
    "spelling",
    [MIXED, quote(MIXED, safe="@"), "Mixed.Case%2btag@openhexa.test", MIXED.upper(), MIXED_HUB],
    ids=["as-stored", "percent-encoded", "lowercase-escape", "upper", "canonical"],
)
def test_every_spelling_of_an_email_is_the_same_hub_user(mixed, hub, spelling):
    response = hub.api("GET", f"/users/{spelling}")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == MIXED_HUB


@pytest.mark.parametrize(
    "rest", ["..%2F..%2Fhub%2Flogout", "notebooks/a%23b%3Fc.ipynb"], ids=["slashes", "hash-and-question-mark"]
)
def test_the_spelling_redirect_keeps_the_rest_of_the_path_as_the_browser_sent_it(mixed, hub, rest):
    """Decoded, ``%2F`` and ``%2E`` became path segments (a link to another person's /user/ leading to
    /hub/logout) and ``%23``/``%3F`` in a file's name a fragment or a query."""
    response = mixed.get(f"{hub.url}/hub/user/Mixed.Case%2Btag@openhexa.test/{rest}", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/user/{quote(MIXED_HUB, safe='@')}/{rest}"), response.headers


def test_creating_a_user_as_the_app_spells_it_creates_the_login_user(app, hub):
    hub.api("DELETE", f"/users/{quote('New.Person@openhexa.test')}")
    created = hub.api("POST", "/users/New.Person@openhexa.test")
    assert created.status_code == 201 and created.json()["name"] == "new.person@openhexa.test"
    assert hub.api("POST", "/users/new.person@openhexa.test").status_code == 409
    hub.api("DELETE", "/users/new.person@openhexa.test")


@pytest.mark.parametrize("name", ["not-an-email", "Robert'); DROP TABLE--@x", "café@openhexa.test"])
def test_names_that_are_not_emails_are_still_refused(hub, name):
    assert hub.api("POST", f"/users/{quote(name, safe='')}").status_code == 400


def test_a_notebook_url_spelled_as_the_app_spells_it_reaches_the_server(mixed, app, hub):
    assert app.launch(mixed, WORKSPACE)["success"]
    for spelling in ("Mixed.Case%2Btag@openhexa.test", "MIXED.CASE%2BTAG@openhexa.test"):
        response = mixed.get(f"{hub.url}/user/{spelling}/{WORKSPACE}/env?x=1", timeout=30)
        assert response.status_code == 200, response.url
        assert unquote(urlsplit(response.url).path) == f"/user/{MIXED_HUB}/{WORKSPACE}/env"


def test_the_apps_default_image_runs_the_hubs_own(alice, app, hub):
    # The App names blsq/openhexa-base-environment:latest for every workspace without an image.
    assert app.launch(alice, WORKSPACE)["success"]


def answer_with_image(app, image: str):
    body = {"env": {"HEXA_TOKEN": "t"}, "notebooks_server_hash": "0" * 32, "image": image}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/workspaces/credentials/")


def test_an_image_outside_the_policy_is_refused_naming_it_and_the_setting(alice, app, hub):
    answer_with_image(app, "somebody/else:1")
    result = app.launch(alice, WORKSPACE)
    assert "403 Client Error" in result["errors"][0]["message"], result  # what the App shows, as it words it
    response = hub.launch_as_app(ALICE, WORKSPACE, alice)
    assert response.status_code == 403
    message = response.json()["message"]
    assert "somebody/else:1" in message and "ALLOWED_IMAGES" in message


@pytest.mark.parametrize("status,expected,words", APP_REFUSALS)
def test_the_apps_refusals_say_what_happened(alice, app, hub, status, expected, words):
    app.answer(status, "{}", {"Content-Type": "application/json"}, path="/workspaces/credentials/")
    response = hub.launch_as_app(ALICE, WORKSPACE, alice)
    assert response.status_code == expected
    assert words in response.json()["message"]
    assert hub.server(ALICE, WORKSPACE) is None


def test_an_unknown_workspace_is_a_404_the_app_can_read(alice, app, hub):
    response = hub.launch_as_app(ALICE, "no-such-workspace", alice)
    assert response.status_code == 404
    assert response.json()["message"] == "There is no workspace 'no-such-workspace' in OpenHexa."


def test_a_workspace_asked_for_on_the_hubs_own_page_is_refused_without_asking_the_app(alice, app, hub):
    """Workspace servers are the App's to start (its checks, its profile); the hub's page says where to go."""
    rows = spawner_rows(hub, ALICE)
    response = alice.get(f"{hub.url}/hub/spawn/{ALICE}/no-such-workspace", timeout=60)
    assert response.status_code == 403
    assert "opened from the OpenHexa App" in html.unescape(response.text)
    assert not [call for call in app.calls() if call["path"] == "/workspaces/credentials/"]
    assert spawner_rows(hub, ALICE) == rows, "the hub kept a row for the name"


def test_the_workspace_profile_sizes_the_server(alice, app, hub):
    assert app.launch(alice, TRIAL)["success"]  # its subscription names "trial"
    env = server_env(alice, f"{hub.url}/user/{ALICE}/{TRIAL}/")
    assert int(env["MEM_LIMIT"]) == 2 * GIB and float(env["CPU_LIMIT"]) == 1
    assert hub.server(ALICE, TRIAL)["user_options"] == {"profile": "trial"}


def test_no_profile_means_the_default_one(alice, app, hub):
    assert app.launch(alice, WORKSPACE)["success"]
    env = server_env(alice, f"{hub.url}/user/{ALICE}/{WORKSPACE}/")
    assert int(env["MEM_LIMIT"]) == 4 * GIB  # "standard", the default


def test_a_launch_without_a_profile_gets_the_default_one_whatever_the_last_launch_had(alice, hub):
    """The App sends no body for a workspace whose subscription names no profile; JupyterHub would then
    take the server's last options (a profile the workspace no longer has): the hub takes none."""
    assert hub.launch_as_app(ALICE, WORKSPACE, alice, {"profile": "trial"}).status_code in (201, 202)
    hub.wait_ready(ALICE, WORKSPACE)
    hub.stop_servers(ALICE)
    assert hub.launch_as_app(ALICE, WORKSPACE, alice).status_code in (201, 202)
    hub.wait_ready(ALICE, WORKSPACE)
    env = server_env(alice, f"{hub.url}/user/{ALICE}/{WORKSPACE}/")
    assert int(env["MEM_LIMIT"]) == 4 * GIB, "the default profile, standard, not the last launch's trial"


def test_an_unknown_profile_is_a_400_naming_the_profiles(alice, hub):
    response = hub.launch_as_app(ALICE, WORKSPACE, alice, {"profile": "huge"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "There is no notebook profile 'huge' on this hub; its profiles are: trial, standard."
    )
    assert hub.server(ALICE, WORKSPACE) is None


@pytest.mark.parametrize("who,flag", [("alice", "true"), ("bob", "false")])
def test_the_git_flag_reaches_the_default_server(login, hub, who, flag):
    session = login(who)
    name = f"{who}@openhexa.test"
    session.get(f"{hub.url}/hub/spawn", timeout=60)
    wait_until(lambda: (hub.server(name) or {}).get("ready"), f"{name}'s server")
    try:
        assert server_env(session, f"{hub.url}/user/{name}/")["GIT_EXTENSION_ENABLED"] == flag
    finally:
        hub.stop_servers(name)


def spawner_rows(hub, name: str) -> list[str]:
    """The named servers the hub's database keeps for ``name``."""
    with sqlite3.connect(hub.data_dir / "jupyterhub.sqlite") as db:
        rows = db.execute(
            "SELECT spawners.name FROM spawners JOIN users ON users.id = spawners.user_id WHERE users.name = ?",
            (name,),
        ).fetchall()
    return sorted(row[0] for row in rows if row[0])


def test_refused_workspaces_leave_no_row_behind(login, hub):
    bob = login("bob")
    for workspace in ["malaria-dashboards", *(f"unknown-{i}" for i in range(5))]:
        response = hub.launch_as_app("bob@openhexa.test", workspace, bob)
        assert response.status_code in (403, 404), response.text
    wait_until(lambda: spawner_rows(hub, "bob@openhexa.test") == [], "the refused servers' rows to go", timeout=10)


def test_a_person_has_at_most_the_named_server_limit(app, mock_app, tmp_path):
    limited = Hub.start(mock_app.url, tmp_path / "hub", HUB_TIER_CONFIG, extra_env={"NAMED_SERVER_LIMIT_PER_USER": "1"})
    try:
        alice = app.login(*DEMO["alice"])
        first = limited.launch_as_app(ALICE, WORKSPACE, alice)
        assert first.status_code in (201, 202), first.text
        second = limited.launch_as_app(ALICE, TRIAL, alice)
        assert second.status_code == 400 and "maximum of 1 named servers" in second.json()["message"]
    finally:
        limited.stop()


# Slugs as the App makes them (create_workspace_slug, hexa/workspaces/models.py): a slugified name of up to
# 63 characters, from a digit when the name starts with one. JupyterHub 6 takes neither as a new server's
# name (1-30 characters, from a letter); the App names the server by the slug all the same.
APP_SLUGS = ["2026-malaria-surveillance-northern-provinces-district-teams-a3f", "3-survey"]


@pytest.fixture
def app_slugs_hub(tmp_path):
    """A mock App where alice edits workspaces named by APP_SLUGS, and its hub."""
    fixtures = {**FIXTURES, "workspaces": dict(FIXTURES["workspaces"])}
    fixtures["users"] = [dict(user) for user in FIXTURES["users"]]
    alice = next(user for user in fixtures["users"] if user["email"] == ALICE)
    alice["workspaces"] = {**alice["workspaces"], **dict.fromkeys(APP_SLUGS, "editor")}
    for slug in APP_SLUGS:
        fixtures["workspaces"][slug] = {"env": {"WORKSPACE_BUCKET_NAME": f"hexa-{slug}"}}
    (tmp_path / "fixtures.yaml").write_text(yaml.safe_dump(fixtures))
    port, token = free_port(), random_token()
    env = {"MOCK_APP_FIXTURES": str(tmp_path / "fixtures.yaml")}
    app = MockApp.start(tmp_path / "app", hub_url=f"http://127.0.0.1:{port}", hub_api_token=token, env=env)
    try:
        hub = Hub.start(app.url, tmp_path / "hub", HUB_TIER_CONFIG, port=port, api_token=token)
    except BaseException:
        app.stop()
        raise
    yield app, hub
    hub.stop()
    app.stop()


def test_workspaces_named_as_the_app_names_them_start_and_open(app_slugs_hub):
    app, hub = app_slugs_hub
    alice = app.login(*DEMO["alice"])
    assert alice.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30).status_code == 302
    for slug in APP_SLUGS:
        response = hub.launch_as_app(ALICE, slug, alice)
        assert response.status_code in (201, 202), response.text
        hub.wait_ready(ALICE, slug)
        assert server_env(alice, f"{hub.url}/user/{ALICE}/{slug}/")["WORKSPACE_BUCKET_NAME"] == f"hexa-{slug}"
    hub.stop_servers(ALICE)


@pytest.fixture(scope="module")
def chart_timing_hub(mock_app, tmp_path_factory):
    """A hub that answers a spawn still under way at once, as the chart's hub configuration sets it
    (``tornado_settings = {"slow_spawn_timeout": 0}``)."""
    started = Hub.start(
        mock_app.url,
        tmp_path_factory.mktemp("chart-timing-hub"),
        HUB_TIER_CONFIG,
        extra_args=["--JupyterHub.tornado_settings={'slow_spawn_timeout': 0}"],
    )
    yield started
    started.stop()


@pytest.mark.parametrize("status,expected,words", APP_REFUSALS)
def test_the_apps_refusal_is_the_answer_even_when_the_hub_answers_spawns_at_once(
    app, chart_timing_hub, status, expected, words
):
    """Else the App, told 202 and then finding no server, launches the workspace again every second."""
    alice = app.login(*DEMO["alice"])
    app.answer(status, "{}", {"Content-Type": "application/json"}, path="/workspaces/credentials/")
    response = chart_timing_hub.launch_as_app(ALICE, WORKSPACE, alice)
    assert response.status_code == expected, response.text
    assert words in response.json()["message"]
    wait_until(lambda: chart_timing_hub.server(ALICE, WORKSPACE) is None, "the refused server to go", timeout=10)


def test_a_workspace_the_app_allows_is_still_a_202_when_the_hub_answers_spawns_at_once(app, chart_timing_hub):
    alice = app.login(*DEMO["alice"])
    try:
        response = chart_timing_hub.launch_as_app(ALICE, WORKSPACE, alice)
        assert response.status_code == 202, response.text
        chart_timing_hub.wait_ready(ALICE, WORKSPACE)
    finally:
        chart_timing_hub.stop_servers(ALICE)


# -- workspace servers start only at the App's request --------------------------------------------


@pytest.mark.parametrize("body", [{}, {"profile": "standard"}], ids=["no-profile", "a-bigger-profile"])
def test_a_persons_own_request_for_a_workspace_server_is_refused(alice, app, hub, body):
    """The App sizes a workspace's server as its subscription says (survey-trial: the trial profile, 2 GB and
    1 CPU); a person asking for the server themselves, with their token or their browser, gets nothing."""
    token = own_token(hub.url, alice, ALICE)
    app.clear_calls()
    rows = spawner_rows(hub, ALICE)
    url = f"{hub.url}/hub/api/users/{ALICE}/servers/{TRIAL}"
    with_token = requests.post(url, json=body, headers={"Authorization": f"token {token}"}, timeout=60)
    with_cookies = alice.post(url, json=body, headers={"X-XSRFToken": alice.cookies.get("_xsrf", path="/hub/")})
    for response in (with_token, with_cookies):
        assert response.status_code == 403, response.text
        assert "opened from the OpenHexa App" in response.json()["message"]
    assert hub.server(ALICE, TRIAL) is None and spawner_rows(hub, ALICE) == rows
    assert not [call for call in app.calls() if call["path"] == "/workspaces/credentials/"], "the App was asked"


@pytest.mark.parametrize(
    ("method", "server", "body"),
    [
        ("PUT", TRIAL, {"user_options": {"profile": "standard"}}),
        ("PATCH", TRIAL, {"user_options": {"profile": "standard"}}),
        ("PATCH", "", {"name": TRIAL}),
    ],
    ids=["create", "set-options", "rename-default-to-a-workspace"],
)
def test_a_persons_own_server_edits_cannot_make_a_workspace_server(alice, app, hub, method, server, body):
    """JupyterHub 6's PUT (a named server made, not started) and PATCH (a stopped server's options or name):
    a person making a workspace's server, or its options, for the App to start later; JupyterHub 5 has neither."""
    token = own_token(hub.url, alice, ALICE)
    hub.launch_as_app(ALICE, TRIAL, alice)
    hub.wait_ready(ALICE, TRIAL)
    hub.stop_servers(ALICE)
    rows = spawner_rows(hub, ALICE)
    path = f"{hub.url}/hub/api/users/{ALICE}/servers/{server}" if server else f"{hub.url}/hub/api/users/{ALICE}/server"
    response = requests.request(method, path, json=body, headers={"Authorization": f"token {token}"}, timeout=60)
    assert response.status_code == 403, response.text
    assert "opened from the OpenHexa App" in response.json()["message"]
    assert spawner_rows(hub, ALICE) == rows


@pytest.mark.parametrize("ask", ["rest-api", "spawn-page"])
def test_the_default_server_keeps_the_default_profile(alice, hub, ask):
    """Whatever the request asks for (a profile in the body, or in the spawn page's query)."""
    if ask == "rest-api":
        token = own_token(hub.url, alice, ALICE)
        cookies = {"Cookie": "; ".join(f"{k}={alice.cookies[k]}" for k in ("sessionid", "csrftoken"))}
        response = requests.post(
            f"{hub.url}/hub/api/users/{ALICE}/server",
            json={"profile": "trial"},
            headers={"Authorization": f"token {token}", **cookies},
            timeout=60,
        )
        assert response.status_code in (201, 202), response.text
    else:
        alice.get(f"{hub.url}/hub/spawn?profile=trial", allow_redirects=False, timeout=60)
    hub.wait_ready(ALICE)
    assert int(server_env(alice, f"{hub.url}/user/{ALICE}/")["MEM_LIMIT"]) == 4 * GIB  # "standard"


# -- what the App may set in a server ----------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"SHELLOPTS": "xtrace", "PS4": "$(touch /tmp/owned)"},
        {"HTTPS_PROXY": "http://evil.example:3128"},
        {"PIP_INDEX_URL": "https://evil.example/simple"},
        {"NODE_OPTIONS": "--require /tmp/evil.js"},
        {"GIT_SSH_COMMAND": "touch /tmp/owned"},
        {"R_PROFILE_USER": "/tmp/evil.R"},
        {"IPYTHONDIR": "/tmp/evil"},
    ],
    ids=lambda env: next(iter(env)),
)
def test_environment_names_the_app_does_not_send_refuse_the_spawn_naming_them(alice, app, hub, env):
    body = {"env": {"HEXA_TOKEN": "t", **env}, "notebooks_server_hash": "0" * 32, "image": ""}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/workspaces/credentials/")
    response = hub.launch_as_app(ALICE, WORKSPACE, alice)
    assert response.status_code == 502, response.text
    message = response.json()["message"]
    assert next(iter(env)) in message
    assert all(value not in message for value in env.values())
    assert hub.server(ALICE, WORKSPACE) is None


@pytest.mark.parametrize(
    "path", ["~/.jupyter/jupyter_server_config.py", "~/.ipython/profile_default/startup/x.py", "~/.bashrc"]
)
def test_a_file_the_app_may_not_write_refuses_the_spawn(login, app, hub, path):
    session = login("bob")
    body = {"username": "bob@openhexa.test", "env": {}, "files": {path: "aW1wb3J0IG9z"}}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")
    response = session.get(f"{hub.url}/hub/spawn", timeout=60)
    assert response.status_code == 502
    assert path in html.unescape(response.text)
    assert hub.server("bob@openhexa.test") is None
