"""OpenHexa notebooks as people use them: a real Chromium through the App, the hub and JupyterLab."""

import re

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from harness.app import DEMO, FIXTURES, app_session, launch_notebook_server
from harness.hub import own_token
from harness.kernel import r_reads_and_writes, r_reads_table
from harness.lab import log_in_to_app, open_own_lab, open_workspace_in_the_app, run_in_new_notebook, wait, wait_for_lab
from harness.postgres import CASES, CASES_TABLE, cases_csv, cases_json, workspace_database
from harness.stack import APP_FRONTEND_URL, APP_URL, HUB_URL
from harness.wait import wait_until

ALICE = "alice@openhexa.test"
MIXED = "mixed.case+tag@openhexa.test"  # the hub's name for Mixed.Case+tag@openhexa.test
WORKSPACE = "malaria-dashboards"
WORKSPACE_ENV = FIXTURES["workspaces"][WORKSPACE]["env"]


@pytest.fixture(autouse=True)
def no_servers(stack):
    """Every scenario starts with nobody's server running."""
    for who in ("alice@openhexa.test", "bob@openhexa.test", "carol@openhexa.test", MIXED):
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
    wait(browser, ready.url_contains(f"{APP_FRONTEND_URL}/login"), "the App's login page (its frontend's)")
    log_in_to_app(browser, "alice", start=browser.current_url)
    wait(browser, ready.url_contains(f"{HUB_URL}/user/"), "the way back to alice's server", 120)
    wait_for_lab(browser)


def test_a_notebook_sees_the_default_credentials(browser):
    open_own_lab(browser, "alice")
    url = FIXTURES["users"][0]["default_credentials"]["env"]["DHIS2_PLAY_7F3E_URL"]  # what the DHIS2 plugin sends
    run_in_new_notebook(browser, "import os; print(os.environ['DHIS2_PLAY_7F3E_URL'])", url)


def test_a_workspace_opens_in_the_apps_iframe_with_its_credentials(browser):
    log_in_to_app(browser, "alice")
    open_workspace_in_the_app(browser, WORKSPACE)
    password = WORKSPACE_ENV["WORKSPACE_DATABASE_PASSWORD"]
    output = run_in_new_notebook(
        browser,
        "import os; print(os.environ['HEXA_WORKSPACE'], os.environ['WORKSPACE_DATABASE_PASSWORD'])",
        password,
    )
    assert output.strip() == f"{WORKSPACE} {password}"  # the {braces} intact


def test_hub_and_notebook_allow_only_the_app_to_frame_them(browser, stack):
    open_own_lab(browser, "alice")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    expected = {"'self'", APP_URL, APP_FRONTEND_URL}
    assert frame_ancestors(requests.get(f"{HUB_URL}/hub/login", allow_redirects=False, timeout=30)) == expected
    server = requests.get(f"{HUB_URL}/user/{ALICE}/api", cookies=cookies, timeout=30)
    assert server.status_code == 200
    assert frame_ancestors(server) == expected


def test_bob_cannot_open_alices_server(browser, stack):
    alice = app_session(APP_FRONTEND_URL, *DEMO["alice"])
    assert launch_notebook_server(APP_FRONTEND_URL, alice, WORKSPACE).get("success")

    log_in_to_app(browser, "bob", start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait(browser, ready.url_contains(f"{HUB_URL}/"), "bob's way to the hub", 120)
    browser.get(f"{HUB_URL}/user/{ALICE}/{WORKSPACE}/lab")
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".error, .jp-Launcher"), "a page")
    assert not browser.find_elements(By.CSS_SELECTOR, ".jp-Launcher"), "bob sees alice's JupyterLab"
    assert re.search(r"40[34]", browser.page_source), "no refusal page for bob"


@pytest.mark.parametrize(
    "who,text",
    [("bob", "You may not open notebooks in this workspace."), ("carol", "does not exist, or you are not one")],
    ids=["viewer", "not-a-member"],
)
def test_people_who_may_not_launch_notebooks_see_the_apps_refusal(browser, stack, who, text):
    log_in_to_app(browser, who)
    browser.get(f"{APP_FRONTEND_URL}/workspaces/{WORKSPACE}/notebooks")
    error = wait(browser, ready.presence_of_element_located((By.ID, "notebooks-error")), "the App's refusal", 60)
    assert text in error.text
    assert not browser.find_elements(By.ID, "notebooks-frame")
    assert not stack.servers(f"{who}@openhexa.test")


@pytest.mark.parametrize("workspace", ["no-such-workspace", WORKSPACE], ids=["unknown-workspace", "not-a-member"])
def test_the_hub_says_where_workspaces_are_opened(browser, stack, workspace):
    """A workspace server is the App's to start (its checks, its profile): the hub's own page says so, asks
    the App nothing and starts nothing (the App's refusals reach its own page: the test above)."""
    log_in_to_app(browser, "carol", start=f"{APP_URL}/login?next={HUB_URL}/hub/home")
    wait(browser, ready.url_contains(f"{HUB_URL}/hub/home"), "carol's hub home", 120)
    browser.get(f"{HUB_URL}/hub/spawn/carol@openhexa.test/{workspace}")
    error = wait(browser, ready.presence_of_element_located((By.CSS_SELECTOR, ".error")), "the hub's error page")
    assert "403" in error.text and "opened from the OpenHexa App" in error.text
    assert not stack.servers("carol@openhexa.test")


def api_token(cookies: dict, name: str) -> str:
    """A token the person creates on the hub's REST API with their browser's cookies."""
    session = requests.Session()
    for cookie_name, value in cookies.items():
        session.cookies.set(cookie_name, value)
    return own_token(HUB_URL, session, name, note="a script of mine")


def test_logging_out_of_the_app_stops_servers_and_voids_hub_cookies_and_tokens(browser, stack):
    log_in_to_app(browser, "alice")
    open_workspace_in_the_app(browser, WORKSPACE)
    browser.switch_to.default_content()
    browser.get(f"{HUB_URL}/hub/home")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    old_cookie, token = cookies["jupyterhub-hub-login"], api_token(cookies, ALICE)
    assert WORKSPACE in stack.servers(ALICE)

    browser.get(f"{APP_FRONTEND_URL}/")
    wait(browser, ready.element_to_be_clickable((By.ID, "logout")), "the App's logout button").click()
    wait(browser, ready.url_contains(f"{APP_FRONTEND_URL}/login"), "the App's login page after logout", 120)

    wait_until(lambda: not stack.servers(ALICE), "alice's servers to stop after logout", timeout=60)
    again = app_session(APP_FRONTEND_URL, *DEMO["alice"])  # a copied hub cookie, even with a new App session
    copied = {"jupyterhub-hub-login": old_cookie, **{k: again.cookies[k] for k in ("sessionid", "csrftoken")}}
    copy = requests.get(f"{HUB_URL}/hub/api/user", cookies=copied, timeout=30)
    assert copy.status_code == 403, "the copied hub cookie still works"
    script = requests.get(f"{HUB_URL}/hub/api/user", headers={"Authorization": f"token {token}"}, timeout=30)
    assert script.status_code == 403, "the API token survived the logout"
    browser.get(f"{HUB_URL}/hub/")
    wait(browser, ready.url_contains(f"{APP_FRONTEND_URL}/login"), "the App's login page on the next visit")


def test_a_mixed_case_email_opens_a_workspace_through_the_apps_launch_flow(browser, stack):
    log_in_to_app(browser, "mixed")
    src = open_workspace_in_the_app(browser, WORKSPACE)
    # The URL the App builds: the email as stored, the part before @ percent-encoded.
    assert src == f"{HUB_URL}/user/Mixed.Case%2Btag@openhexa.test/{WORKSPACE}/"
    output = run_in_new_notebook(browser, "import os; print(os.environ['JUPYTERHUB_USER'])", MIXED)
    assert output.strip() == MIXED
    assert stack.servers(MIXED)[WORKSPACE]["ready"]
    # JupyterLab in the iframe asks nothing: no news prompt over the workspace.
    assert "official Jupyter news" not in browser.page_source


def test_a_local_bucket_is_the_workspace_folder(browser, stack):
    """The 'local' engine: the App's folder of the bucket, on this machine, bound into the server."""
    bucket = stack.buckets / WORKSPACE_ENV["WORKSPACE_BUCKET_NAME"]
    log_in_to_app(browser, "alice")
    open_workspace_in_the_app(browser, WORKSPACE)  # the App creates the bucket's folder when it answers
    (bucket / "from-the-app.csv").write_text("district,cases\nKindia,12\n")
    code = (
        "import pathlib; w = pathlib.Path('/home/jovyan/workspace');"
        " (w / 'from-the-notebook.txt').write_text('written in the notebook');"
        " print(sorted(p.name for p in w.iterdir() if not p.name.startswith('.')))"
    )
    output = run_in_new_notebook(browser, code, "from-the-notebook.txt")
    assert "from-the-app.csv" in output
    assert (bucket / "from-the-notebook.txt").read_text() == "written in the notebook"


@pytest.fixture(scope="module")
def workspace_db():
    """The workspace's database where the mock App's answer puts it (127.0.0.1:5432), with its table of cases."""
    env = WORKSPACE_ENV
    with workspace_database(
        env["WORKSPACE_DATABASE_DB_NAME"], env["WORKSPACE_DATABASE_USERNAME"], env["WORKSPACE_DATABASE_PASSWORD"],
        port=int(env["WORKSPACE_DATABASE_PORT"]),
    ) as database:  # fmt: skip
        yield database


def test_an_r_notebook_reads_the_workspace_database_and_bucket(browser, stack, workspace_db):
    """An R notebook in the App's iframe: a table of the workspace database, a file of its bucket read, one written."""
    bucket = stack.buckets / WORKSPACE_ENV["WORKSPACE_BUCKET_NAME"]
    log_in_to_app(browser, "alice")
    open_workspace_in_the_app(browser, WORKSPACE)
    (bucket / "from-the-app.csv").write_text(cases_csv())
    code = f'{r_reads_table(CASES_TABLE)}; cat(" | "); {r_reads_and_writes("from-the-app.csv", "from-r.csv")}'
    expected = f"{cases_json()} | {cases_json()}"
    output = run_in_new_notebook(browser, code, expected, kernel="R")
    assert output.strip() == expected
    total = sum(row["cases"] for row in CASES)
    assert (bucket / "from-r.csv").read_text().split() == ['"total"', str(total)]
