"""The spawn hooks in-process: what the App answers becomes a server's settings, or a refusal people can read.

``OpenHexaAuthenticator.pre_spawn_start`` on a real DockerSpawner, its App calls answered by the
mock App in memory (``inapp``). The hub tier (``tests/hub/test_spawn.py``,
``test_workspace_launch.py``, ``test_answer_sizes.py``) starts the servers for real.
"""

import asyncio
import base64
import json
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner
from tornado import web

from harness.app import APP_REFUSALS, FIXTURES
from tests.unit.inprocess_app import cookie_header, hub_handler

ALICE = "alice@openhexa.test"
WORKSPACE = "malaria-dashboards"
WORKSPACE_CREDENTIALS = "/workspaces/credentials/"
HUB = SimpleNamespace(public_host="", url="http://127.0.0.1:8081/hub/", base_url="/hub/", api_url="http://x/hub/api")


def spawner_for(name: str, server: str = "", options: dict | None = None) -> DockerSpawner:
    user = SimpleNamespace(name=name, id=1, url=f"/user/{name}/")
    spawner = DockerSpawner(user=user, orm_spawner=SimpleNamespace(name=server, server=None), hub=HUB)
    spawner.user_options = options or {}
    return spawner


APP_SERVICE = SimpleNamespace(kind="service", name="openhexa-app")  # the App's token on the REST API


def spawn(authenticator, spawner, cookies: dict | None, requester=None) -> tuple:
    """``pre_spawn_start`` as ``User.spawn`` runs it: ``("started", env)`` or ``(status, message)``.

    ``requester``: who made the request (the App's service for a workspace server, as it launches
    them; the person themselves, by default, for their default server)."""
    spawner.handler = hub_handler(cookie_header(cookies) if cookies else None, uri="/hub/spawn")
    spawner.handler.settings["failure_count"] = 0
    spawner.handler.current_user = requester or (APP_SERVICE if spawner.name else spawner.user)

    async def run():
        try:
            await authenticator.pre_spawn_start(spawner.user, spawner)
        except web.HTTPError as error:
            return error.status_code, error.jupyterhub_message
        return "started", dict(spawner.environment)

    return asyncio.run(run())


def workspace_calls(app) -> list:
    return [c for c in app.calls() if c["path"] == WORKSPACE_CREDENTIALS]


def test_a_default_server_gets_the_default_credentials(inapp):
    outcome, env = spawn(inapp.authenticator(), spawner_for(ALICE), inapp.login("alice").cookies)
    assert outcome == "started"
    credentials = FIXTURES["users"][0]["default_credentials"]
    for name, value in credentials["env"].items():
        assert env[name] == value
    assert json.loads(env["OPENHEXA_FILES"]) == credentials["files"]
    assert env["HEXA_SERVER_URL"] == inapp.url
    assert env["CONTENT_SECURITY_POLICY"] == f"frame-ancestors 'self' {inapp.url}"


def test_a_workspace_server_gets_the_workspace_credentials_intact(inapp):
    spawner = spawner_for(ALICE, WORKSPACE)
    outcome, env = spawn(inapp.authenticator(), spawner, inapp.login("alice").cookies)
    assert outcome == "started"
    for name, value in FIXTURES["workspaces"][WORKSPACE]["env"].items():
        assert env[name] == value, name  # the {braces} value included
    assert env["HEXA_WORKSPACE"] == WORKSPACE
    assert workspace_calls(inapp)[-1]["form"] == {"workspace": WORKSPACE}
    assert spawner.object_name == f"jupyter-{inapp.state.notebooks_server_hash(WORKSPACE, ALICE)}"


@pytest.mark.parametrize("who", ["bob", "carol"], ids=["viewer", "not-a-member"])
def test_a_person_who_may_not_launch_notebooks_is_refused_with_a_message(inapp, who):
    name = f"{who}@openhexa.test"
    outcome = spawn(inapp.authenticator(), spawner_for(name, WORKSPACE), inapp.login(who).cookies)
    assert outcome == (403, f"You may not open notebooks in the workspace '{WORKSPACE}'.")


def test_someone_elses_app_session_cannot_start_a_server(inapp):
    status, message = spawn(inapp.authenticator(), spawner_for(ALICE, WORKSPACE), inapp.login("bob").cookies)
    assert (status, message) == (403, "This OpenHexa session belongs to someone else.")
    assert workspace_calls(inapp) == [], "the workspace's credentials were asked for someone else"


@pytest.mark.parametrize("cookies", [None, {"sessionid": "over", "csrftoken": "abc"}], ids=["none", "ended"])
def test_no_spawn_without_a_live_app_session(inapp, cookies):
    for server in ("", WORKSPACE):
        status, message = spawn(inapp.authenticator(), spawner_for(ALICE, server), cookies)
        assert status == 403 and "session has ended" in message


@pytest.mark.parametrize("server", ["", WORKSPACE], ids=["default", "workspace"])
def test_the_app_unavailable_at_spawn_is_a_503_that_does_not_count_as_a_failure(inapp, server):
    authenticator, spawner = inapp.authenticator(), spawner_for(ALICE, server)
    cookies = inapp.login("alice").cookies
    inapp.set_mode("status-500")
    status, message = spawn(authenticator, spawner, cookies)
    assert status == 503 and "The OpenHexa App is unavailable" in message
    assert spawner.handler.settings["failure_count"] == -1, "JupyterHub's count of failed spawns is taken back"


@pytest.mark.parametrize(
    "status,expected,words",
    [
        *APP_REFUSALS,
        (403, 403, "You may not open notebooks in the workspace 'malaria-dashboards'."),
        (302, 403, "session has ended"),
    ],
)
def test_the_apps_refusals_say_what_happened(inapp, status, expected, words):
    authenticator, cookies = inapp.authenticator(), inapp.login("alice").cookies
    headers = {"Content-Type": "application/json", "Location": "/login"}
    inapp.answer(status, "{}", headers, path=WORKSPACE_CREDENTIALS)
    outcome = spawn(authenticator, spawner_for(ALICE, WORKSPACE), cookies)
    assert outcome[0] == expected and words in outcome[1], outcome


def test_an_unknown_workspace_is_a_404_the_person_can_read(inapp):
    outcome = spawn(inapp.authenticator(), spawner_for(ALICE, "no-such-workspace"), inapp.login("alice").cookies)
    assert outcome == (404, "There is no workspace 'no-such-workspace' in OpenHexa.")


@pytest.mark.parametrize(
    "name", ["..", "../bob", "a/b", "x" * 64, "<script>alert(1)</script>", "a b", "\0", "été", "-leading-dash"]
)
def test_hostile_workspace_names_are_refused_before_the_app_is_asked(inapp, name):
    status, message = spawn(inapp.authenticator(), spawner_for(ALICE, name), inapp.login("alice").cookies)
    assert status == 400 and "not an OpenHexa workspace name" in message
    assert "<script>" not in message
    assert inapp.calls() == []


def test_the_longest_slug_still_reaches_the_app(inapp):
    outcome = spawn(inapp.authenticator(), spawner_for(ALICE, "x" * 63), inapp.login("alice").cookies)
    assert outcome[0] == 404
    assert workspace_calls(inapp)[-1]["form"] == {"workspace": "x" * 63}


def answer_with_image(app, image: str):
    body = {"env": {"HEXA_TOKEN": "t"}, "notebooks_server_hash": "0" * 32, "image": image}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path=WORKSPACE_CREDENTIALS)


def test_the_apps_default_image_runs_the_hubs_own(inapp):
    spawner = spawner_for(ALICE, WORKSPACE)
    own = spawner.image
    answer_with_image(inapp, inapp.authenticator().app_default_image)
    outcome, _ = spawn(inapp.authenticator(), spawner, inapp.login("alice").cookies)
    assert outcome == "started" and spawner.image == own


def test_an_image_outside_the_policy_is_refused_naming_it_and_the_setting(inapp):
    answer_with_image(inapp, "somebody/else:1")
    status, message = spawn(inapp.authenticator(), spawner_for(ALICE, WORKSPACE), inapp.login("alice").cookies)
    assert status == 403
    assert "somebody/else:1" in message and "ALLOWED_IMAGES" in message


def test_an_allowed_image_runs(inapp):
    answer_with_image(inapp, "somebody/else:1")
    spawner = spawner_for(ALICE, WORKSPACE)
    authenticator = inapp.authenticator(allowed_images=["somebody/else:1"])
    assert spawn(authenticator, spawner, inapp.login("alice").cookies)[0] == "started"
    assert spawner.image == "somebody/else:1"


def default_answer_with_files(app, files: dict):
    body = {"username": ALICE, "env": {}, "files": files}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")


def test_files_too_large_for_a_server_are_refused_stating_the_limit(inapp):
    default_answer_with_files(inapp, {"big.bin": base64.b64encode(b"\0" * 150_000).decode()})
    spawner = spawner_for(ALICE)
    status, message = spawn(inapp.authenticator(), spawner, inapp.login("alice").cookies)
    assert status == 502 and "a server takes at most 96 kB of them" in message
    assert "OPENHEXA_FILES" not in spawner.environment


def test_files_within_the_limit_reach_the_server(inapp):
    content = base64.b64encode(b"a" * 60_000).decode()
    default_answer_with_files(inapp, {"data/sample.txt": content})
    outcome, env = spawn(inapp.authenticator(), spawner_for(ALICE), inapp.login("alice").cookies)
    assert outcome == "started"
    assert json.loads(env["OPENHEXA_FILES"]) == {"data/sample.txt": content}


@pytest.mark.parametrize(("who", "flag"), [("alice", "true"), ("bob", "false")])
def test_the_git_flag_reaches_the_default_server(inapp, who, flag):
    outcome, env = spawn(inapp.authenticator(), spawner_for(f"{who}@openhexa.test"), inapp.login(who).cookies)
    assert outcome == "started" and env["GIT_EXTENSION_ENABLED"] == flag


def test_a_credential_the_hub_does_not_let_the_app_set_is_refused(inapp):
    body = {"env": {"JUPYTERHUB_API_TOKEN": "stolen"}, "notebooks_server_hash": "0" * 32, "image": ""}
    inapp.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path=WORKSPACE_CREDENTIALS)
    status, message = spawn(inapp.authenticator(), spawner_for(ALICE, WORKSPACE), inapp.login("alice").cookies)
    assert status == 502 and "JUPYTERHUB_API_TOKEN" in message
