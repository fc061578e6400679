"""A hub configured exactly as the chart's hub pod: a person's whole visit, through the App.

The chart's own jupyterhub_config.py (tornado's curl client made the process's default, the
chart's limits, names and secrets) runs over our values in the hub image, behind the chart's
proxy; the notebook servers are real ones of the notebook image (harness/chart_hub.py). The tests
run in order on one hub, as one person's visit: log in, the default server, a workspace the App
launches, a workspace the App refuses, logging out.
"""

from __future__ import annotations

import pytest
import requests

from harness.app import DEMO
from harness.chart import load_smoke
from harness.wait import wait_until

ALICE = DEMO["alice"][0]
WORKSPACE = "malaria-dashboards"


@pytest.fixture(scope="module")
def hub(chart_hub):
    return chart_hub[0]


@pytest.fixture(scope="module")
def app(chart_hub):
    return chart_hub[1]


@pytest.fixture(scope="module")
def alice(app):
    """Alice's browser, logged in to the App."""
    return app.login(*DEMO["alice"])


def server_answers(session: requests.Session, url: str) -> bool:
    """The person's browser reaches their server: its JupyterLab page (through the hub's OAuth, as a
    browser does), then its API with the server's own cookie."""
    page = session.get(f"{url}lab", timeout=60)
    assert page.status_code == 200 and page.url.startswith(url), (page.status_code, page.url)
    response = session.get(f"{url}api/status", timeout=30)
    return response.status_code == 200 and "started" in response.json()


def test_the_hub_runs_the_charts_own_configuration(hub, chart_dir):
    log = hub.logs()
    for name in ("jupyterhub_config.py", "z2jh.py"):
        mounted = (hub.data_dir / "etc" / name).read_bytes()
        assert mounted == (chart_dir / "files" / "hub" / name).read_bytes(), f"{name} is not the chart's"
    assert "Loading /usr/local/etc/jupyterhub/secret/values.yaml" in log
    for key in ("00-openhexa.py", "zz-outside-kubernetes.py"):
        assert f"Loading extra config: {key}" in log


def test_a_person_logs_in_from_their_app_cookies(hub, alice):
    response = alice.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:500]
    assert "jupyterhub-hub-login" in alice.cookies
    assert alice.get(f"{hub.url}/hub/api/user", timeout=30).json()["name"] == ALICE


def test_the_default_server_starts_and_answers(hub, alice):
    alice.get(f"{hub.url}/hub/spawn", timeout=60)
    hub.wait_ready(ALICE)
    assert server_answers(alice, f"{hub.url}/user/{ALICE}/")


def test_the_app_launches_a_workspace_through_the_rest_api(hub, app, alice):
    answer = app.launch(alice, WORKSPACE)
    assert answer.get("success") and answer["server"]["ready"], answer
    model = hub.server(ALICE, WORKSPACE)
    assert model and model["ready"]
    assert server_answers(alice, f"{hub.url}/user/{ALICE}/{WORKSPACE}/")


def test_a_workspace_the_app_does_not_know_is_refused_and_leaves_nothing(hub, alice):
    response = hub.launch_as_app(ALICE, "no-such-workspace", alice)
    assert response.status_code == 404, response.text
    assert "There is no workspace" in response.json()["message"]
    assert "no-such-workspace" not in hub.servers(ALICE)


def test_logging_out_of_the_app_stops_the_servers_and_voids_the_hub_cookie(hub, app, alice):
    cookie = alice.cookies.get("jupyterhub-hub-login", path="/hub/")
    assert app.logout(alice).status_code < 400
    wait_until(lambda: not hub.servers(ALICE), f"{ALICE}'s servers to stop after the App's logout", 90)
    thief = requests.Session()
    thief.cookies.set("jupyterhub-hub-login", cookie, path="/hub/")
    assert thief.get(f"{hub.url}/hub/api/user", timeout=30).status_code != 200, "the hub cookie still works"


def test_the_clusters_smoke_test_passes_here_with_a_real_server(hub, app):
    """chart-values/smoke.py, which the chart workflow runs on k3s: login, launch, a cell, logout."""
    smoke = load_smoke()
    logged = []
    email, password = DEMO["mixed"]
    model = smoke.run(hub.url, app.url, hub.api_token, email, password, WORKSPACE, timeout=300, log=logged.append)
    assert model["ready"]
    assert any("running a cell" in line for line in logged) and any("logging out" in line for line in logged)
