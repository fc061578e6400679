"""The unit tier's fixtures: the hub's code in-process, its App calls answered by the mock App in memory.

No hub, proxy or App process starts here (those tests are the hub tier's, ``tests/hub``).
"""

from __future__ import annotations

import pytest
from kubernetes_asyncio.config import kube_config

from tests.unit.inprocess_app import InProcessApp


@pytest.fixture
def inapp():
    """The mock App in memory (its own handlers, fresh state), for the authenticator's ``app_client``."""
    return InProcessApp()


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
