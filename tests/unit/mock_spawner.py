"""A spawner for the unit tests' hub: a local process running a mock server."""

import sys

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import default


class MockServerSpawner(SimpleLocalProcessSpawner):
    """Starts JupyterHub's mock single-user server, which reports its environment."""

    @default("cmd")
    def _cmd_default(self):
        return [sys.executable, "-m", "jupyterhub.tests.mocksu"]

    def get_args(self):
        return []
