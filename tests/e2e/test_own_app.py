"""`make up APP=http://localhost:8000`: the hub alone, for the OpenHexa App a developer already runs.

The App is the mock, started by hand as an outside process on 127.0.0.1:8000 (its frontend on :3000),
where an App developer's runs. These tests run first: the session's `make up` stack holds those ports.
"""

import os
import re

import pytest
import requests

from harness.app import MockApp
from harness.lab import log_in_to_app, open_workspace_in_the_app
from harness.net import listening_pids
from harness.stack import APP_FRONTEND_URL, APP_URL, HUB_URL, Stack

pytestmark = pytest.mark.first

ALICE = "alice@openhexa.test"
WORKSPACE = "malaria-dashboards"


@pytest.fixture(scope="module")
def hub_alone(tmp_path_factory):
    """`make up APP=...`'s stack, not started yet; always down."""
    stack = Stack(project="openhexa-e2e-own-app", buckets=tmp_path_factory.mktemp("hub-alone"))
    stack.down()  # leftovers of an interrupted run
    yield stack
    stack.down()


@pytest.fixture(scope="module")
def app_settings(hub_alone) -> dict[str, str]:
    """What the developer set on their App: what `make up APP=...` prints (checked below)."""
    return {
        "NOTEBOOKS_HUB_URL": "http://127.0.0.1:8001/hub",
        "NOTEBOOKS_URL": HUB_URL,
        "HUB_API_TOKEN": hub_alone.api_token,
        "DEFAULT_WORKSPACE_IMAGE": "blsq/openhexa-base-environment:latest",
    }


@pytest.fixture(scope="module")
def own_app(tmp_path_factory, app_settings, server_logs, hub_alone):
    """The developer's App, running before the hub: the mock as an outside process on :8000 and :3000."""
    settings = {
        **app_settings,
        "NEW_FRONTEND_DOMAIN": APP_FRONTEND_URL,
        "MOCK_APP_TEST_CONTROLS": "0",
        "MOCK_APP_STORAGE_ENGINE": "local",
        "MOCK_APP_STORAGE_DIR": str(hub_alone.buckets),  # its WORKSPACE_STORAGE_LOCATION: make up's APP_STORAGE
    }
    app = MockApp.start(tmp_path_factory.mktemp("own-app"), env=settings, ports=(8000, 3000), host="localhost")
    server_logs.files.append(app.process.log_path)  # in the session's search for credentials
    yield app
    app.stop()


@pytest.fixture(scope="module")
def started(own_app, hub_alone) -> Stack:
    """`make up APP=http://localhost:8000`, once the App answers."""
    return hub_alone.start(app=APP_URL)


@pytest.fixture
def stack_logs(hub_alone, own_app):
    return lambda: hub_alone.logs() + own_app.process.log()


def test_make_up_for_your_app_says_once_what_to_set_on_it(started, app_settings):
    said = started.said
    for name, value in app_settings.items():
        assert said.count(f"{name}=") == 1, said
        assert f"  {name}={value}\n" in said, said
    assert "  STORAGE_BACKEND=fs\n" in said and f"  WORKSPACE_STORAGE_LOCATION={started.buckets}\n" in said
    assert f"its frontend: {APP_FRONTEND_URL}" in said


def test_the_hub_sends_people_to_your_apps_frontend_and_lets_your_app_frame_it(started):
    login = requests.get(f"{HUB_URL}/hub/login", allow_redirects=False, timeout=30)
    assert login.status_code == 302 and login.headers["Location"].startswith(f"{APP_FRONTEND_URL}/login?next=")
    policy = re.search(r"frame-ancestors ([^;]*)", login.headers["Content-Security-Policy"]).group(1)
    assert set(policy.split()) == {"'self'", APP_URL, APP_FRONTEND_URL}


def test_a_browser_logs_in_through_your_app_and_opens_a_workspace(started, browser):
    log_in_to_app(browser, "alice")
    src = open_workspace_in_the_app(browser, WORKSPACE)
    assert src == f"{HUB_URL}/user/{ALICE}/{WORKSPACE}/"
    assert started.servers(ALICE)[WORKSPACE]["ready"]


def test_nothing_of_the_stack_listens_where_your_app_does(started, own_app, docker_client):
    project = f"com.docker.compose.project={started.project}"
    containers = docker_client.containers.list(all=True, filters={"label": project})  # exited ones too
    assert [c.labels["com.docker.compose.service"] for c in containers] == ["hub"]
    for port in (8000, 3000):
        listeners = listening_pids(port)
        assert listeners, f"nothing listens on {port}"
        assert {os.getpgid(pid) for pid in listeners} == {own_app.process.popen.pid}, f"port {port}: {listeners}"


def test_make_down_leaves_your_app_running(started, own_app, docker_client, server_logs, tmp_path):
    (tmp_path / "hub.log").write_text(started.logs())  # for the session's search for credentials
    server_logs.files.append(tmp_path / "hub.log")
    started.script("down")
    for label in ("com.docker.compose.project", "org.openhexa.notebooks.stack"):  # the hub, its servers
        assert not docker_client.containers.list(all=True, filters={"label": f"{label}={started.project}"}), label
    assert not listening_pids(8001)
    assert own_app.process.alive()
    assert requests.get(f"{APP_URL}/login", allow_redirects=False, timeout=10).status_code == 302
    assert requests.get(f"{APP_FRONTEND_URL}/login", timeout=10).ok


def test_make_up_with_the_mock_stops_at_your_apps_port_and_names_the_way(own_app):
    other = Stack(project="openhexa-e2e-mock-beside")
    try:
        said = other.script("up", check=False)
        assert "port 8000 on 127.0.0.1 (the mock App) is taken" in said
        assert "make up APP=http://localhost:8000" in said
    finally:
        other.down()
