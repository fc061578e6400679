"""Fixtures every tier shares: the mock App, the Docker engine (the hooks: harness/pytest_plugin.py).

Each tier's own fixtures are in its conftest.py; what tests, the benchmark and the release
share is the ``harness`` package. Nothing here needs Docker, testinfra or a browser to import.
"""

from __future__ import annotations

import pytest

from harness.app import MockApp
from harness.containers import NOTEBOOK_IMAGE
from harness.net import free_port, random_token


@pytest.fixture(scope="session")
def hub_address():
    """Where the hub tier's hub will listen, and the App's token: the mock App needs both first."""
    return f"http://127.0.0.1:{free_port()}", random_token()


@pytest.fixture(scope="session")
def mock_app(tmp_path_factory, hub_address):
    """The mock OpenHexa App, one process for the session, launching servers on the hub tier's hub.

    The unit tier's tests of the hub's code use the mock App in-process instead
    (``tests/unit/inprocess_app.py``); this process is for the tests of the mock App over HTTP.
    """
    hub_url, token = hub_address
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
def docker_client():
    """The Docker engine the images were built with (`make test` starts it)."""
    import docker  # the image and end-to-end tiers only: the unit tier runs without it

    client = docker.from_env()
    client.ping()
    return client


@pytest.fixture(scope="session")
def notebook_image(docker_client):
    """The single-user image under test (NOTEBOOK_IMAGE; `make test-image` builds it)."""
    import docker

    try:
        return docker_client.images.get(NOTEBOOK_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{NOTEBOOK_IMAGE} is not built: run `make build`", pytrace=False)
