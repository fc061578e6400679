"""The end-to-end tier's fixtures: the compose stack, hubs with the Docker spawner, the browser."""

from __future__ import annotations

import contextlib

import pytest

from harness import ARTIFACTS
from harness.browser import new_browser
from harness.containers import NOTEBOOK_IMAGE, LogRecorder, remove_spawned
from harness.hub import CHART_VALUES, DOCKER_HUB_CONFIG, Hub
from harness.net import names_on_loopback
from harness.site import DOMAIN, Site
from harness.stack import Stack


def failed(request) -> bool:
    return any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))


@pytest.fixture(scope="session")
def server_logs(docker_client):
    """What every server the tests' hubs start writes, for the scan of the session's logs."""
    recorder = LogRecorder(docker_client)
    yield recorder
    recorder.stop()


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
    started.healthy_after = started.seconds_to_healthy()  # measured at once: Docker keeps its last 5 checks only
    yield started
    started.down()


def leave_artifacts(request, driver, logs: dict[str, str]) -> None:
    """A failed test's screenshot, page and URL, and ``logs`` (file name -> text), in artifacts/e2e/<test>/."""
    folder = ARTIFACTS / "e2e" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):
        driver.save_screenshot(str(folder / "screenshot.png"))
        (folder / "page.html").write_text(driver.page_source)
        (folder / "url.txt").write_text(driver.current_url + "\n")
    for name, text in logs.items():
        (folder / name).write_text(text)


@pytest.fixture
def stack_logs(stack):
    """Every log of the stack under test, for a failing browser test (a module may give its own)."""
    return stack.logs


@pytest.fixture
def browser(request, stack_logs):
    """A fresh headless Chromium; on failure it leaves a screenshot, the page and every log."""
    driver = new_browser()
    yield driver
    if failed(request):
        leave_artifacts(request, driver, {"containers.log": stack_logs()})
    driver.quit()


@pytest.fixture
def site_browser(request, tmp_path):
    """``start(subdomains=..., hub_env=...)`` and a fresh headless Chromium: the mock App and a hub laid out as
    a deployment (harness/site.py: *.example.org on loopback, no container); on failure the browser's page
    and the hubs' and Apps' logs are left."""
    started, driver = [], new_browser(loopback_domain=DOMAIN)

    def start(**options) -> Site:
        started.append(Site.start(tmp_path / f"site-{len(started)}", **options))
        return started[-1]

    try:
        with names_on_loopback(DOMAIN):
            yield start, driver
        if failed(request):
            logs = {f"{i}-{p.name}": p.read_text(errors="replace") for i, s in enumerate(started)
                    for p in (s.hub.process.log_path, s.app.process.log_path)}  # fmt: skip
            leave_artifacts(request, driver, logs)
    finally:
        driver.quit()
        for site in started:
            site.stop()
