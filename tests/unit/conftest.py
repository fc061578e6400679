"""The unit tier's fixtures: a real hub with a process spawner, talking to the mock App."""

from __future__ import annotations

import pytest
from kubernetes_asyncio.config import kube_config

from harness.app import DEMO
from harness.hub import CHART_VALUES, UNIT_HUB_CONFIG, Hub


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
