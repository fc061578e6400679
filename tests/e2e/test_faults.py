"""Faults: the hub, a server, the App or Docker fail while people work, and nothing is lost."""

import socket
from urllib.parse import quote

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from harness.app import DEMO
from harness.lab import (
    log_in_to_app,
    notebook_source,
    open_own_lab,
    open_workspace_in_the_app,
    save_notebook,
    server_session,
    wait,
)
from harness.stack import APP_FRONTEND_URL, HUB_URL
from harness.wait import wait_until

ALICE = "alice@openhexa.test"
WORKSPACE = "malaria-dashboards"
ALICE_SERVER = f"{HUB_URL}/user/{ALICE}/"
WORKSPACE_SERVER = f"{HUB_URL}/user/{ALICE}/{WORKSPACE}/"


@pytest.fixture
def alices_server(browser):
    """Alice in her own JupyterLab, logged in through the App; her server's session."""
    open_own_lab(browser, "alice")
    return server_session(browser, ALICE_SERVER)


@pytest.fixture(autouse=True)
def no_servers(stack):
    """Every scenario starts with nobody's server running."""
    stack.stop_servers(ALICE)


def open_workspace(browser):
    """Open the workspace as people do: the App's page, which starts the server and frames it."""
    open_workspace_in_the_app(browser, WORKSPACE)
    browser.switch_to.default_content()


def app_answers() -> bool:
    return requests.get(f"{APP_FRONTEND_URL}/login", timeout=2).ok


def workspace_container(docker_client, stack):
    """The container of alice's workspace server in the e2e stack."""
    containers = docker_client.containers.list(filters={"label": f"org.openhexa.notebooks.stack={stack.project}"})
    found = [c for c in containers if f"HEXA_WORKSPACE={WORKSPACE}" in c.attrs["Config"]["Env"]]
    assert len(found) == 1, f"{len(found)} workspace containers"
    return found[0]


def test_a_hub_restart_keeps_people_logged_in_their_servers_and_notebooks(browser, stack, alices_server):
    server = alices_server
    save_notebook(server, ALICE_SERVER, "before-restart.ipynb", "print('saved before the restart')")
    started = stack.servers(ALICE)[""]["started"]

    stack.compose("restart", "hub")
    wait_until(lambda: requests.get(f"{HUB_URL}/hub/health", timeout=2).ok, "the hub to be back after a restart", 120)

    assert stack.servers(ALICE)[""]["started"] == started, "alice's server is not the one from before"
    assert notebook_source(server, ALICE_SERVER, "before-restart.ipynb") == "print('saved before the restart')"
    browser.get(f"{HUB_URL}/hub/home")
    wait(browser, ready.url_contains(f"{HUB_URL}/hub/home"), "alice's hub home page, still logged in")
    assert ALICE in browser.page_source


def test_a_killed_server_is_noticed_and_its_workspace_files_survive(browser, stack, docker_client):
    log_in_to_app(browser, "alice")
    open_workspace(browser)
    server = server_session(browser, WORKSPACE_SERVER)
    save_notebook(server, WORKSPACE_SERVER, "analysis.ipynb", "print('malaria cases by district')")

    workspace_container(docker_client, stack).kill()
    wait_until(lambda: WORKSPACE not in stack.servers(ALICE), "the hub to notice the killed server", 60)

    open_workspace(browser)
    server = server_session(browser, WORKSPACE_SERVER)
    assert notebook_source(server, WORKSPACE_SERVER, "analysis.ipynb") == "print('malaria cases by district')"


def test_an_app_restart_keeps_people_working(browser, stack, alices_server):
    stack.compose("restart", "app")
    wait_until(app_answers, "the App to be back after a restart", 60)

    save_notebook(alices_server, ALICE_SERVER, "after-app-restart.ipynb", "print('still working')")
    assert notebook_source(alices_server, ALICE_SERVER, "after-app-restart.ipynb") == "print('still working')"
    browser.get(f"{APP_FRONTEND_URL}/")
    wait(browser, ready.presence_of_element_located((By.ID, "whoami")), "the App's home page, still logged in")
    open_workspace(browser)


def test_with_the_app_down_the_hub_says_so_and_recovers(browser, stack):
    log_in_to_app(browser, "alice")
    wait(browser, ready.presence_of_element_located((By.ID, "whoami")), "the App's home page")
    stack.compose("stop", "app")
    try:
        browser.get(f"{HUB_URL}/hub/login")
        wait(browser, ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "OpenHexa App is unavailable"),
             "the hub's App-unavailable page")  # fmt: skip
        status = requests.get(
            f"{HUB_URL}/hub/login", cookies={c["name"]: c["value"] for c in browser.get_cookies()}, timeout=30
        ).status_code
        assert status == 503
    finally:
        stack.compose("start", "app")
    wait_until(app_answers, "the App to be back")
    browser.get(f"{HUB_URL}/hub/login")  # the App session outlived the outage
    wait(browser, lambda b: b.current_url.startswith(f"{HUB_URL}/user/"), "alice's way to her server", 120)


# -- Docker refuses a spawn: a hub of its own, on free ports -------------------------------


def logged_in(app, hub, who: str) -> requests.Session:
    session = app.login(*DEMO[who])
    response = session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.status_code == 302, f"hub login: {response.status_code}"
    return session


def spawn_outcome(session: requests.Session, hub, name: str) -> str:
    """Ask for the default server as the browser does; return the page once the spawn has ended."""
    user = quote(name, safe="")
    session.get(f"{hub.url}/hub/spawn/{user}", timeout=60)

    def ended():
        page = session.get(f"{hub.url}/hub/spawn-pending/{user}", timeout=30)
        return page.text if "Spawn failed" in page.text or page.url.startswith(f"{hub.url}/user/") else None

    return wait_until(ended, f"{name}'s spawn to succeed or fail", 120, interval=1)


def test_a_missing_image_is_a_readable_spawn_failure(docker_hub, app):
    hub = docker_hub(NOTEBOOK_IMAGE="blsq/openhexa-missing-notebook:none")
    page = spawn_outcome(logged_in(app, hub, "alice"), hub, ALICE)
    assert "Spawn failed" in page
    assert "The notebook image blsq/openhexa-missing-notebook:none is not on this machine" in page
    assert requests.get(f"{hub.url}/hub/health", timeout=10).ok and hub.process.alive()


def test_a_taken_port_is_a_readable_spawn_failure_and_a_retry_works(docker_hub, app):
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        hub = docker_hub(OPENHEXA_TEST_TAKEN_PORT=str(port))
        session = logged_in(app, hub, "alice")
        page = spawn_outcome(session, hub, ALICE)
        assert "Your notebook server stopped while starting" in page
        assert f"port {port} is not available" in page
        assert requests.get(f"{hub.url}/hub/health", timeout=10).ok and hub.process.alive()

    page = spawn_outcome(session, hub, ALICE)  # the port is free again
    assert "Spawn failed" not in page
    assert hub.server(ALICE)["ready"]
