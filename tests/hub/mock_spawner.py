"""A spawner for the hub tier: a local process running a mock server."""

import sys

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import default

from openhexa_hub.spawner_rules import ProfileList


class MockServerSpawner(ProfileList, SimpleLocalProcessSpawner):
    """Starts tests/hub/mock_server.py: it authenticates like the real server and reports its environment."""

    @default("cmd")
    def _cmd_default(self):
        return [sys.executable, "-m", "tests.hub.mock_server"]

    def get_args(self):
        return []
