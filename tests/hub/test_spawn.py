"""Spawns through the real hub: credentials from the App reach the server, intact, and only there."""

import json
from urllib.parse import quote

import pytest
import requests

from harness.app import FIXTURES

WORKSPACE = "malaria-dashboards"
WORKSPACE_ENV = FIXTURES["workspaces"][WORKSPACE]["env"]
ALICE = "alice@openhexa.test"


def server_env(hub, session, name: str, server: str = "") -> dict:
    path = f"/user/{quote(name, safe='@')}/" + (f"{server}/" if server else "")
    response = session.get(f"{hub.url}{path}env", timeout=30)
    response.raise_for_status()
    return response.json()


def launch_workspace(hub, session, name: str, workspace: str = WORKSPACE) -> requests.Response:
    return hub.launch_as_app(name, workspace, session)


@pytest.fixture
def alice(login, hub):
    session = login("alice")
    yield session
    hub.stop_servers(ALICE)


def test_default_server_gets_default_credentials(alice, app, hub):
    response = alice.get(f"{hub.url}/hub/spawn", timeout=60)
    assert response.status_code == 200, response.text[:500]
    hub.wait_ready(ALICE)
    env = server_env(hub, alice, ALICE)
    expected = FIXTURES["users"][0]["default_credentials"]
    for name, value in expected["env"].items():
        assert env[name] == value
    assert env["HEXA_SERVER_URL"] == app.url
    assert env["CONTENT_SECURITY_POLICY"] == f"frame-ancestors 'self' {app.url}"  # the hub's, for the iframe
    assert "OPENHEXA_FILES" in env


def test_workspace_server_gets_workspace_credentials_intact(alice, app, hub):
    response = launch_workspace(hub, alice, ALICE)
    assert response.status_code in (201, 202), response.text
    hub.wait_ready(ALICE, WORKSPACE)
    env = server_env(hub, alice, ALICE, WORKSPACE)
    for name, value in WORKSPACE_ENV.items():
        assert env[name] == value, name  # the {braces} value included
    assert env["HEXA_WORKSPACE"] == WORKSPACE
    assert env["HEXA_SERVER_URL"] == app.url
    calls = [c for c in app.calls() if c["path"] == "/workspaces/credentials/"]
    assert calls and calls[-1]["form"] == {"workspace": WORKSPACE}


@pytest.mark.parametrize("who", ["bob", "carol"], ids=["viewer", "not-a-member"])
def test_a_person_who_may_not_launch_notebooks_is_refused_with_a_message(login, hub, who):
    # The App answers 401 to both (workspaces.launch_notebooks); the hub says 403 and why.
    session = login(who)
    name = f"{who}@openhexa.test"
    response = launch_workspace(hub, session, name)
    assert response.status_code == 403
    assert response.json()["message"] == f"You may not open notebooks in the workspace '{WORKSPACE}'."
    assert hub.server(name, WORKSPACE) is None


def test_someone_elses_app_session_cannot_start_a_server(login, hub):
    bob = login("bob")
    response = launch_workspace(hub, bob, ALICE)
    assert response.status_code == 403
    assert hub.server(ALICE, WORKSPACE) is None


def test_no_spawn_after_logging_out_of_the_app(alice, app, hub):
    # The App session ends; the browser keeps its (now void) hub cookie and App cookies.
    assert app.logout(alice).status_code == 302
    response = alice.get(f"{hub.url}/hub/spawn", allow_redirects=False, timeout=60)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
    assert hub.server(ALICE) is None
    api = launch_workspace(hub, alice, ALICE)
    assert api.status_code == 403
    assert "session has ended" in api.json()["message"]


def test_app_unavailable_at_spawn_fails_with_503(alice, app, hub):
    app.set_mode("status-500")
    response = launch_workspace(hub, alice, ALICE)
    assert response.status_code == 503
    assert "The OpenHexa App is unavailable" in response.json()["message"]
    assert hub.server(ALICE, WORKSPACE) is None


def test_no_credential_reaches_the_logs_or_the_database(alice, hub):
    alice.get(f"{hub.url}/hub/spawn", timeout=60)
    hub.wait_ready(ALICE)
    assert launch_workspace(hub, alice, ALICE).status_code in (201, 202)
    hub.wait_ready(ALICE, WORKSPACE)
    secrets = [v for v in WORKSPACE_ENV.values() if len(v) > 12 and "/" not in v]
    secrets += list(FIXTURES["users"][0]["default_credentials"]["env"].values())
    s3 = FIXTURES["storage"]["s3"]  # the unit tier's mock App hands out s3 credentials
    secrets += [s3["access_key_id"], s3["secret_access_key"], s3["session_token"]]
    log = hub.process.log()
    database = hub.database_bytes()
    for secret in secrets:
        assert secret not in log, f"a credential reached the hub log: {secret[:4]}..."
        assert secret.encode() not in database, f"a credential is in the hub database: {secret[:4]}..."


@pytest.mark.parametrize("path", ["/", "/var/run/docker.sock", "/home"])
def test_local_storage_outside_the_apps_bucket_folder_is_refused(alice, app, hub, path):
    """Storage engine 'local': the App names a folder of the Docker host to bind into the server. Only one
    under LOCAL_STORAGE_ROOT (where the App keeps its buckets; this hub has none: 'local' is refused)."""
    env = {"WORKSPACE_STORAGE_ENGINE": "local", "WORKSPACE_STORAGE_MOUNT_PATH": path, "HEXA_TOKEN": "t"}
    body = {"env": env, "notebooks_server_hash": "0" * 32, "image": ""}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/workspaces/credentials/")
    response = launch_workspace(hub, alice, ALICE)
    assert response.status_code == 502, response.text
    assert "LOCAL_STORAGE_ROOT" in response.json()["message"]
    assert hub.server(ALICE, WORKSPACE) is None


def test_servers_load_no_configuration_from_the_persons_home(alice, hub):
    """A person's ~/.jupyter/jupyter_server_config.py would add handlers to their running server
    (JupyterHub's disable_user_config: jupyterhub-singleuser then reads nothing from the home folder;
    tests/image/test_lab_settings.py shows the image does so)."""
    alice.get(f"{hub.url}/hub/spawn", timeout=60)
    hub.wait_ready(ALICE)
    assert server_env(hub, alice, ALICE).get("JUPYTERHUB_DISABLE_USER_CONFIG") == "1"
