"""A hub of the faults tests: the real hub/jupyterhub_config.py with the Docker spawner, on free ports.

OPENHEXA_TEST_TAKEN_PORT makes every server get that port, which the test holds,
as when another process takes a port between the spawner choosing and the server
binding it.
"""

import os
from pathlib import Path

from openhexa_hub.docker import HostNetworkDockerSpawner

c = get_config()  # noqa: F821
load_subconfig(str(Path(__file__).resolve().parents[2] / "hub" / "jupyterhub_config.py"))  # noqa: F821


class TakenPortSpawner(HostNetworkDockerSpawner):
    def choose_port(self) -> int:
        taken = os.environ.get("OPENHEXA_TEST_TAKEN_PORT")
        return int(taken) if taken else super().choose_port()


c.JupyterHub.spawner_class = TakenPortSpawner
