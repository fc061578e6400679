"""Fixtures shared by every test tier."""

from __future__ import annotations

import contextlib
import json
import os

import docker
import pytest
import testinfra
from kubernetes_asyncio.config import kube_config

from tests.support import (
    ROOT,
    Hub,
    LogRecorder,
    MockApp,
    Stack,
    TrackedContainer,
    free_port,
    new_browser,
    remove_spawned,
)

UNIT_HUB_CONFIG = ROOT / "tests" / "unit" / "hub_config.py"
DOCKER_HUB_CONFIG = ROOT / "tests" / "e2e" / "docker_hub_config.py"

DEMO = {
    "alice": ("alice@openhexa.test", "alice-pass"),
    "bob": ("bob@openhexa.test", "bob-pass"),
    "carol": ("carol@openhexa.test", "carol-pass"),
    "mixed": ("Mixed.Case+tag@openhexa.test", "mixed-pass"),
}
CHART_VALUES = ROOT / "chart-values" / "values.yaml"  # the chart's values: its profiles and spawn limits


@pytest.fixture(scope="session")
def unit_hub_address():
    """Where the unit tier's hub will listen, and the App's token: the mock App needs both first."""
    return f"http://127.0.0.1:{free_port()}", os.urandom(16).hex()


@pytest.fixture(scope="session")
def mock_app(tmp_path_factory, unit_hub_address):
    """The mock OpenHexa App, one process for the session, launching servers on the unit tier's hub."""
    hub_url, token = unit_hub_address
    app = MockApp.start(tmp_path_factory.mktemp("mockapp"), hub_url=hub_url, hub_api_token=token)
    yield app
    app.stop()


@pytest.fixture
def app(mock_app):
    """The mock App, answering normally; its switches are reset after the test."""
    mock_app.set_mode("ok")
    mock_app.clear_calls()
    yield mock_app
    mock_app.set_mode("ok")


@pytest.fixture(scope="session")
def hub(mock_app, tmp_path_factory, unit_hub_address):
    """A real JupyterHub with this project's config, talking to the mock App."""
    hub_url, token = unit_hub_address
    started = Hub.start(
        mock_app.url,
        tmp_path_factory.mktemp("hub"),
        UNIT_HUB_CONFIG,
        extra_env={"APP_READ_TIMEOUT": "2", "APP_CONNECT_TIMEOUT": "2", "CHART_VALUES": str(CHART_VALUES)},
        port=int(hub_url.rsplit(":", 1)[1]),
        api_token=token,
    )
    yield started
    started.stop()


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory):
    """KubeSpawner loads a Kubernetes client configuration when created; this one points nowhere."""
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: none\n"
        "clusters: [{name: none, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: none, user: {token: unused}}]\n"
        "contexts: [{name: none, context: {cluster: none, user: none}}]\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        # Read when kubernetes_asyncio is imported, so set where it is kept.
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
        yield path


@pytest.fixture
def login(app, hub):
    """Log a demo person in to the App and then the hub; returns their browser session."""

    def log_in(who: str):
        email, password = DEMO[who]
        session = app.login(email, password)
        response = session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)
        assert response.status_code == 302, f"hub login of {who}: {response.status_code}"
        assert "jupyterhub-hub-login" in session.cookies, "the hub set no login cookie"
        return session

    return log_in


# -- images ---------------------------------------------------------------------

NOTEBOOK_IMAGE = os.environ.get("NOTEBOOK_IMAGE", "blsq/openhexa-base-notebook:dev")


@pytest.fixture(scope="session")
def docker_client():
    """The Docker engine the images were built with (`make test` starts it)."""
    client = docker.from_env()
    client.ping()
    return client


@pytest.fixture(scope="session")
def notebook_image(docker_client):
    """The single-user image under test (NOTEBOOK_IMAGE; `make test-image` builds it)."""
    try:
        return docker_client.images.get(NOTEBOOK_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{NOTEBOOK_IMAGE} is not built: run `make build`", pytrace=False)


@pytest.fixture
def notebook(docker_client, notebook_image):
    """Containers of the notebook image for one test; always removed."""
    tracked = TrackedContainer(docker_client, NOTEBOOK_IMAGE)
    yield tracked
    tracked.remove_all()


@pytest.fixture(scope="module")
def notebook_host(docker_client, notebook_image):
    """A testinfra host: an idle container of the notebook image, shared by a module."""
    tracked = TrackedContainer(docker_client, NOTEBOOK_IMAGE)
    container = tracked.run_detached(entrypoint=["tini", "--"], command=["sleep", "infinity"])
    yield testinfra.get_host(f"docker://{container.id}")
    tracked.remove_all()


# -- end to end ------------------------------------------------------------------

ARTIFACTS = ROOT / "artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)
    if item.get_closest_marker("reliability"):
        RELIABILITY_ROWS.setdefault(item.nodeid, reliability_row(item))
        row = RELIABILITY_ROWS[item.nodeid]
        if report.failed:
            row["outcome"], row["detail"] = "failed", report.longreprtext.strip().splitlines()[-1][:300]
        elif report.skipped and row["outcome"] != "failed":
            row["outcome"], row["detail"] = "skipped", str(report.longrepr[-1])[:300]
        elif report.when == "call" and row["outcome"] == "not run":
            row["outcome"] = "passed"


# -- RELIABILITY.md: every fault and hostile input tried, from the results -------------

RELIABILITY_ROWS: dict[str, dict] = {}


def reliability_row(item) -> dict:
    marker = item.get_closest_marker("reliability")
    area, tried, expected = marker.args
    row = {"test": item.nodeid, "area": area, "tried": tried, "expected": expected, "outcome": "not run", "detail": ""}
    if marker.kwargs.get("before"):  # a finding of a security review: what happened before its fix
        row["before"] = marker.kwargs["before"]
    return row


def pytest_sessionfinish(session):
    """Each tier writes its rows to artifacts/reliability/<tier>.json; scripts/reliability_report.py joins them."""
    if not RELIABILITY_ROWS or hasattr(session.config, "workerinput"):
        return
    by_tier: dict[str, list] = {}
    for row in RELIABILITY_ROWS.values():
        by_tier.setdefault(row["test"].split("/")[1], []).append(row)
    folder = ARTIFACTS / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    for tier, rows in by_tier.items():
        (folder / f"{tier}.json").write_text(json.dumps(rows, indent=2) + "\n")


def failed(request) -> bool:
    return any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))


@pytest.fixture(scope="session")
def server_logs(docker_client):
    """What every server the tests' hubs start writes, for the scan of the session's logs."""
    recorder = LogRecorder(docker_client)
    yield recorder
    recorder.stop()


def pytest_collection_modifyitems(items):
    """Tests marked ``last`` run after the others of their session: they read what the others left."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture
def docker_hub(mock_app, tmp_path, docker_client, notebook_image, server_logs):
    """Start real hubs with the Docker spawner: ``docker_hub(**env)``; they, their servers and volumes always go."""
    hubs, stack = [], "openhexa-faults"

    def start(**env) -> Hub:
        settings = {
            "OPENHEXA_SPAWNER": "docker",
            "OPENHEXA_STACK": stack,
            "NOTEBOOK_IMAGE": NOTEBOOK_IMAGE,
            "CHART_VALUES": str(CHART_VALUES),  # the chart's spawn limits, as in production
            **env,
        }
        hubs.append(Hub.start(mock_app.url, tmp_path / f"hub-{len(hubs)}", DOCKER_HUB_CONFIG, extra_env=settings))
        server_logs.files.append(hubs[-1].process.log_path)
        return hubs[-1]

    yield start
    for started in hubs:
        started.stop()
    remove_spawned(docker_client, stack)


@pytest.fixture(scope="session")
def stack(server_logs):
    """The docker-compose stack (mock App on :8000, hub on :8001), up once, always down."""
    started = Stack.up()
    yield started
    started.down()


@pytest.fixture
def browser(request, stack):
    """A fresh headless Chromium; on failure it leaves a screenshot, the page and every log."""
    driver = new_browser()
    yield driver
    if failed(request):
        folder = ARTIFACTS / "e2e" / request.node.name
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            driver.save_screenshot(str(folder / "screenshot.png"))
            (folder / "page.html").write_text(driver.page_source)
            (folder / "url.txt").write_text(driver.current_url + "\n")
        (folder / "containers.log").write_text(stack.logs())
    driver.quit()
