"""The hub tier's fixtures: a real hub and its proxy, with a process spawner, talking to the mock App's process.

The mock App (``mock_app``, ``app``) is the root conftest's: one process for the session.
"""

from __future__ import annotations

import pytest

from harness.app import DEMO
from harness.hub import CHART_VALUES, HUB_TIER_CONFIG, Hub


@pytest.fixture(scope="session")
def hub(mock_app, tmp_path_factory, hub_address):
    """A real JupyterHub with this project's config, talking to the mock App."""
    hub_url, token = hub_address
    started = Hub.start(
        mock_app.url,
        tmp_path_factory.mktemp("hub"),
        HUB_TIER_CONFIG,
        extra_env={"APP_READ_TIMEOUT": "2", "APP_CONNECT_TIMEOUT": "2", "CHART_VALUES": str(CHART_VALUES)},
        port=int(hub_url.rsplit(":", 1)[1]),
        api_token=token,
    )
    yield started
    started.stop()


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
