"""People cannot reach each other, tried in a real browser as a hostile member of the platform would.

Each test runs the mock App and a real hub with its proxy laid out as a deployment (harness/site.py:
the App at app.example.org, the hub at notebooks.example.org, the App's cookies on .example.org, all
on loopback), the hub's servers the hub tier's (tests/hub/mock_server.py, which echoes the path it
serves); Chromium is Debian's. Bob, the attacker, controls every process of his own server: where a test needs it, he
stops his server and serves his own handler on its port (a stand-in that records what reaches it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from harness.app import DEMO
from harness.lab import log_in_to_app, wait
from harness.net import StandInServer, listening_sockets
from harness.proxy import cookies_received
from harness.wait import WaitTimeout, wait_until

ALICE, BOB, MIXED = "alice@openhexa.test", "bob@openhexa.test", "mixed.case+tag@openhexa.test"
WORKSPACE = "malaria-dashboards"


def server_port(pid: int) -> int:
    """The port a server process listens on, from its own settings (JupyterHub's JUPYTERHUB_SERVICE_URL)."""
    entries = Path(f"/proc/{pid}/environ").read_text().split("\0")
    environ = dict(entry.split("=", 1) for entry in entries if "=" in entry)
    return urlsplit(environ["JUPYTERHUB_SERVICE_URL"]).port


@contextlib.contextmanager
def bobs_own_handler(site, page: str = "<p id='bob'>bob's page</p>"):
    """Bob starts his server, stops it and serves his own handler on its port; the hub still routes there."""
    bob = site.app.login(*DEMO["bob"])
    bob.get(f"{site.hub.url}/hub/login", allow_redirects=False, timeout=30)
    bob.get(f"{site.hub.url}/hub/spawn", allow_redirects=False, timeout=60)
    site.hub.wait_ready(BOB)
    server = site.hub.server(BOB)
    pid = server["state"]["pid"]
    port = server_port(pid)
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not listening_sockets(port), "bob's Jupyter to stop", timeout=10)
    with StandInServer(lambda request: (200, {"Content-Type": "text/html"}, page), port=port) as handler:
        # Bob's server's URL (on its own origin with subdomains: the hub sends nobody else there).
        handler.server_url = server["url"] if "://" in server["url"] else f"{site.hub.url}{server['url']}"
        yield handler


def log_in(driver, site, who: str):
    """``who`` logs in to the App in this browser, then visits the hub (its login follows from the App's)."""
    log_in_to_app(driver, who, start=f"{site.app.browser_url}/login?next={site.hub.url}/hub/home")
    wait(driver, ready.url_contains(f"{site.hub.url}/hub/home"), f"{who}'s hub home", 60)


@pytest.mark.parametrize("subdomains", [False, True], ids=["one-origin", "per-person-origins"])
def test_a_link_to_someone_elses_server_hands_them_no_app_cookie(site_browser, subdomains):
    """Attack 1: alice follows bob's link to his server; his handler records what her browser sent. The App's
    cookie domain covers the hub's host and every subdomain of it: per-person origins alone do not help."""
    start, driver = site_browser
    # Bob's server, as far as the hub knows, runs on.
    site = start(subdomains=subdomains, hub_args=["--Spawner.poll_interval=3600"])
    with bobs_own_handler(site) as handler:
        log_in(driver, site, "alice")
        assert driver.get_cookie("sessionid") and driver.get_cookie("csrftoken"), "alice has an App session"
        driver.get(f"{handler.server_url}anything")  # the link bob sends alice
        wait(driver, ready.presence_of_element_located((By.ID, "bob")), "bob's page")
    assert handler.requests, "alice's request never reached bob's handler"
    received = cookies_received(handler)
    assert "sessionid" not in received and "csrftoken" not in received, f"bob's handler got {sorted(received)}"


EVIL_PAGE = """<!doctype html><pre id="out">running</pre><script>
const HUB = %(hub)s, ALICE = %(alice)s, ALICE_SERVER = %(alice_server)s, out = {};
async function attempt(name, url, init) {
  try {
    const response = await fetch(url, {credentials: "include", ...(init || {})});
    out[name] = {status: response.status, body: (await response.text()).slice(0, 4000)};
  } catch (error) { out[name] = {blocked: String(error)}; }
}
(async () => {
  await attempt("hub_home", HUB + "/hub/home");
  await attempt("alice_server", ALICE_SERVER + "env");
  const xsrf = ((out.hub_home.body || "").match(/xsrf_token: "([^"]+)"/) || [])[1] || "";
  await attempt("token", HUB + "/hub/api/users/" + encodeURIComponent(ALICE) + "/tokens", {
    method: "POST", headers: {"X-XSRFToken": xsrf, "Content-Type": "application/json"}, body: "{}"});
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script>"""


def tokens_of(site, name: str) -> int:
    database = sqlite3.connect(f"file:{site.hub.data_dir / 'jupyterhub.sqlite'}?mode=ro", uri=True)
    try:
        query = "SELECT COUNT(*) FROM api_tokens JOIN users ON users.id = api_tokens.user_id WHERE users.name = ?"
        return database.execute(query, (name,)).fetchone()[0]
    finally:
        database.close()


def test_a_page_on_one_persons_server_cannot_read_the_hub_or_another_server(site_browser):
    """Attack 2: bob's page, opened by alice, tries to read her hub page and her server, and to make her a
    token. With per-person origins (SUBDOMAIN_HOST) the browser keeps it to bob's own origin."""
    start, driver = site_browser
    site = start(subdomains=True, hub_args=["--Spawner.poll_interval=3600"])
    page = EVIL_PAGE % {
        "hub": json.dumps(site.hub.url), "alice": json.dumps(ALICE), "alice_server": json.dumps(site.server_url(ALICE))
    }  # fmt: skip
    with bobs_own_handler(site, page) as bobs:
        log_in(driver, site, "alice")
        driver.get(f"{site.hub.url}/hub/spawn")  # alice's own server, on her own origin
        wait(driver, ready.url_contains("/user/"), "alice's server", 60)
        before = tokens_of(site, ALICE)
        driver.get(f"{bobs.server_url}evil.html")  # the link bob sends alice
        assert urlsplit(driver.current_url).hostname.startswith("u-"), driver.current_url
        wait(driver, lambda d: d.find_element(By.ID, "out").text != "running", "bob's page to finish", 30)
        out = json.loads(driver.find_element(By.ID, "out").text)
    assert ALICE not in out["hub_home"].get("body", ""), f"bob's page read alice's hub page: {out['hub_home']}"
    assert "JUPYTERHUB_USER" not in out["alice_server"].get("body", ""), "bob's page read alice's server"
    assert out["token"].get("status") != 201 and tokens_of(site, ALICE) == before, "bob's page made alice a token"


def test_the_apps_notebook_urls_reach_the_persons_own_origin_inside_its_iframe(site_browser):
    """With per-person origins the App's URLs (the hub's host) still open the workspace inside its iframe:
    the hub sends the frame on to the person's subdomain."""
    start, driver = site_browser
    site = start(subdomains=True)
    log_in_to_app(driver, "alice", start=f"{site.app.browser_url}/login")
    driver.get(f"{site.app.frontend_url}/workspaces/{WORKSPACE}/notebooks")
    frame = wait(driver, ready.presence_of_element_located((By.ID, "notebooks-frame")), "the App's iframe", 120)
    assert frame.get_attribute("src") == site.server_url(ALICE, WORKSPACE)
    driver.switch_to.frame(frame)
    wait(driver, lambda d: f"/user/{ALICE}/{WORKSPACE}/" in d.page_source, "alice's workspace in the iframe", 60)
    origin = driver.execute_script("return window.location.origin")
    assert urlsplit(origin).hostname.startswith("u-") and origin != site.hub.url, origin


def alices_workspace_shows(driver, site) -> bool:
    driver.get(f"{site.server_url(ALICE, WORKSPACE)}env")
    return f'"JUPYTERHUB_USER": "{ALICE}"' in driver.page_source


def test_a_shared_browser_never_shows_the_previous_persons_notebooks(site_browser):
    """Attack 3: alice opens a workspace's notebooks and leaves without logging out; Mixed logs in to the
    App in the same browser. The App's notebooks, and alice's own URLs, show Mixed's or the App's login."""
    start, driver = site_browser
    site = start()
    log_in_to_app(driver, "alice", start=f"{site.app.browser_url}/login")
    driver.get(f"{site.app.frontend_url}/workspaces/{WORKSPACE}/notebooks")
    frame = wait(driver, ready.presence_of_element_located((By.ID, "notebooks-frame")), "the App's iframe", 120)
    driver.switch_to.frame(frame)
    wait(driver, lambda d: f"/user/{ALICE}/{WORKSPACE}/" in d.page_source, "alice's workspace", 60)
    driver.switch_to.default_content()
    assert alices_workspace_shows(driver, site), "alice's own URL shows her workspace before the switch"

    log_in_to_app(driver, "mixed", start=f"{site.app.browser_url}/login")  # no logout: the same browser
    driver.get(f"{site.app.frontend_url}/workspaces/{WORKSPACE}/notebooks")  # Mixed opens the same workspace
    frame = wait(driver, ready.presence_of_element_located((By.ID, "notebooks-frame")), "the App's iframe", 120)
    driver.switch_to.frame(frame)
    mixed_path = f"/user/{quote(MIXED, safe='@')}/{WORKSPACE}/"  # as Mixed's server echoes it
    wait(driver, lambda d: mixed_path in d.page_source, "Mixed's workspace in the frame", 60)
    assert f"/user/{ALICE}/" not in driver.page_source
    driver.switch_to.default_content()
    driver.get(f"{site.hub.url}/hub/api/user")
    assert f'"name": "{MIXED}"' in driver.page_source, "the hub says someone else than the App's person"
    # Alice's own URL: her server's check of the login this browser holds (every few seconds) ends it.
    wait_until(lambda: not alices_workspace_shows(driver, site), "alice's workspace to stop answering", 30)
    with pytest.raises(WaitTimeout):  # and it stays so, past every cache
        wait_until(lambda: alices_workspace_shows(driver, site), "alice's workspace to answer again", timeout=8)


def test_a_persons_own_server_opens_on_their_own_origin(site_browser):
    """The default server with per-person origins: the hub's URL, then the person's subdomain, logged in."""
    start, driver = site_browser
    site = start(subdomains=True)
    log_in(driver, site, "alice")
    driver.get(f"{site.hub.url}/hub/spawn")
    wait(driver, lambda d: f"/user/{ALICE}/" in d.page_source, "alice's server", 60)
    driver.get(site.server_url(ALICE) + "env")
    wait(driver, lambda d: f'"JUPYTERHUB_USER": "{ALICE}"' in d.page_source, "the server's answer", 60)
    assert urlsplit(driver.current_url).hostname.startswith("u-"), driver.current_url
