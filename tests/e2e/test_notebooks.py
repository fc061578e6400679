"""OpenHexa notebooks as people use them: a real Chromium through the App, the hub and JupyterLab."""

import re
from urllib.parse import unquote

import pytest
import requests
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from tests.conftest import DEMO
from tests.e2e.lab import log_in_to_app, run_in_new_notebook, wait, wait_for_lab
from tests.support import APP_URL, HUB_URL, ROOT, app_session, wait_until

FIXTURES = yaml.safe_load((ROOT / "tests" / "mockapp" / "fixtures.yaml").read_text())
ALICE = "alice@openhexa.test"
WORKSPACE = "malaria-dashboards"
WORKSPACE_ENV = FIXTURES["workspaces"][WORKSPACE]["env"]


@pytest.fixture(autouse=True)
def no_servers(stack):
    """Every scenario starts with nobody's server running."""
    for who in ("alice@openhexa.test", "bob@openhexa.test", "mixed.case+tag@openhexa.test"):
        stack.stop_servers(who)


def hub_login_cookie(browser) -> str:
    browser.get(f"{HUB_URL}/hub/home")
    return browser.get_cookie("jupyterhub-hub-login")["value"]


def frame_ancestors(response) -> set[str]:
    policy = response.headers.get("Content-Security-Policy", "")
    match = re.search(r"frame-ancestors ([^;]*)", policy)
    return set(match.group(1).split()) if match else set()


def test_anonymous_visit_logs_in_through_the_app_and_opens_jupyterlab(browser):
    browser.get(f"{HUB_URL}/hub/")
    wait(browser, ready.url_contains(f"{APP_URL}/login"), "the App's login page")
    log_in_to_app(browser, "alice", start=browser.current_url)
    wait(browser, ready.url_contains(f"{HUB_URL}/user/"), "the way back to alice's server", 120)
    wait_for_lab(browser)


def test_a_notebook_sees_the_default_credentials(browser):
    log_in_to_app(browser, "alice", start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait_for_lab(browser)
    greeting = FIXTURES["users"][0]["default_credentials"]["env"]["HEXA_NOTEBOOKS_GREETING"]
    run_in_new_notebook(browser, "import os; print(os.environ['HEXA_NOTEBOOKS_GREETING'])", greeting)


def test_a_workspace_opens_in_the_apps_iframe_with_its_credentials(browser):
    log_in_to_app(browser, "alice")
    browser.get(f"{APP_URL}/workspaces/{WORKSPACE}/notebooks")
    frame = wait(
        browser, ready.presence_of_element_located((By.ID, "notebooks-frame")), "the App's notebooks iframe", 180
    )
    browser.switch_to.frame(frame)
    wait_for_lab(browser)
    password = WORKSPACE_ENV["WORKSPACE_DATABASE_PASSWORD"]
    output = run_in_new_notebook(
        browser,
        "import os; print(os.environ['HEXA_WORKSPACE'], os.environ['WORKSPACE_DATABASE_PASSWORD'])",
        password,
    )
    assert output.strip() == f"{WORKSPACE} {password}"  # the {braces} intact


def test_hub_and_notebook_allow_only_the_app_to_frame_them(browser, stack):
    log_in_to_app(browser, "alice", start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait_for_lab(browser)
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    expected = {"'self'", APP_URL}
    assert frame_ancestors(requests.get(f"{HUB_URL}/hub/login", allow_redirects=False, timeout=30)) == expected
    server = requests.get(f"{HUB_URL}/user/{ALICE}/api", cookies=cookies, timeout=30)
    assert server.status_code == 200
    assert frame_ancestors(server) == expected


def test_bob_cannot_open_alices_server_or_workspace(browser, stack):
    # Alice has a workspace server running.
    alice = app_session(APP_URL, *DEMO["alice"])
    assert alice.get(f"{APP_URL}/workspaces/{WORKSPACE}/notebooks", timeout=200).status_code == 200

    log_in_to_app(browser, "bob", start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait(browser, ready.url_contains(f"{HUB_URL}/"), "bob's way to the hub", 120)
    browser.get(f"{HUB_URL}/user/{ALICE}/{WORKSPACE}/lab")
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".error, #notebooks-error, .jp-Launcher"), "a page")
    assert not browser.find_elements(By.CSS_SELECTOR, ".jp-Launcher"), "bob sees alice's JupyterLab"
    assert re.search(r"40[34]", browser.page_source), "no refusal page for bob"

    browser.get(f"{APP_URL}/workspaces/{WORKSPACE}/notebooks")
    error = wait(browser, ready.presence_of_element_located((By.ID, "notebooks-error")), "the App's refusal", 120)
    assert "may not open notebooks" in error.text
    assert not browser.find_elements(By.ID, "notebooks-frame")


def test_logging_out_of_the_app_stops_servers_and_voids_hub_cookies(browser, stack):
    log_in_to_app(browser, "alice", start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait_for_lab(browser)
    old_cookie = hub_login_cookie(browser)
    assert stack.servers(ALICE)

    browser.get(f"{APP_URL}/")
    wait(browser, ready.element_to_be_clickable((By.ID, "logout")), "the App's logout button").click()
    wait(browser, ready.url_contains(f"{APP_URL}/login"), "the App's login page after logout", 120)

    wait_until(lambda: not stack.servers(ALICE), "alice's servers to stop after logout", timeout=60)
    copy = requests.get(f"{HUB_URL}/hub/api/user", cookies={"jupyterhub-hub-login": old_cookie}, timeout=30)
    assert copy.status_code == 403
    browser.get(f"{HUB_URL}/hub/")
    wait(browser, ready.url_contains(f"{APP_URL}/login"), "the App's login page on the next visit")


def test_a_mixed_case_plus_tag_email_works_end_to_end(browser, stack):
    log_in_to_app(browser, "mixed", start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait_for_lab(browser)
    server = stack.servers("mixed.case+tag@openhexa.test")[""]
    assert server["ready"]
    assert unquote(server["url"]) == "/user/mixed.case+tag@openhexa.test/"
