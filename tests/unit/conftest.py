"""The unit tier's fixtures: the hub's code in-process, its App calls answered by the mock App in memory.

No hub, proxy or App process starts here (those tests are the hub tier's, ``tests/hub``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from jupyterhub.crypto import CryptKeeper
from kubernetes_asyncio.config import kube_config

from harness import ROOT
from tests.unit.inprocess_app import InProcessApp


@pytest.fixture(scope="session", autouse=True)
def crypt_keeper():
    """JupyterHub's encryption of auth_state with a key of its own (a hub has JUPYTERHUB_CRYPT_KEY)."""
    CryptKeeper.clear_instance()
    keeper = CryptKeeper.instance(keys=[os.urandom(32)])
    yield keeper
    CryptKeeper.clear_instance()


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


# -- the unit tier collected without testinfra or a browser (tests/unit/test_layout.py) ----------

BLOCKER = """
import sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"testinfra", "selenium"}:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
sys.meta_path.insert(0, Absent())
"""
BLOCKED_COLLECTION = "test_the_unit_tier_collects_without_testinfra_or_a_browser"
STARTED = pytest.StashKey()


class BlockedCollection:
    """``pytest --collect-only tests/unit`` in another process, where testinfra and selenium cannot be imported.

    It starts once this session has collected, when the test that reads it is selected, so it
    runs beside the other tests (a few seconds of imports, on the other core).
    """

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="blocked-collection-"))
        (self.folder / "sitecustomize.py").write_text(BLOCKER)
        self.output = (self.folder / "output.txt").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/unit"],
            cwd=ROOT,
            # No plugin autoloads: pytest imports an installed plugin (testinfra's) through its
            # assertion rewriter, past the blocker, so `import testinfra` would still work.
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(self.folder), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def result(self, timeout: float = 300) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        self.output.seek(0)
        return code, self.output.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.output.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if config.option.collectonly:  # the blocked collection itself, or someone listing tests: nothing runs
        return
    if any(getattr(item, "originalname", None) == BLOCKED_COLLECTION for item in items):
        config.stash[STARTED] = BlockedCollection()


def pytest_unconfigure(config):
    started = config.stash.get(STARTED, None)
    if started is not None:
        started.stop()


@pytest.fixture
def unit_tier_collected_without_testinfra(request):
    """(exit code, output) of the blocked collection: the one started with the session, else a new one."""
    started = request.config.stash.get(STARTED, None)
    if started is None:
        started = request.config.stash[STARTED] = BlockedCollection()
    return started.result()
