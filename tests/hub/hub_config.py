"""The hub of the hub tier: the real hub/jupyterhub_config.py, with a process spawner.

The spawner runs tests/hub/mock_server.py (it authenticates like the real server), which answers
`/user/<name>/<server>/env` with its environment: that is how tests see what a
server really received.
"""

from pathlib import Path

c = get_config()  # noqa: F821
load_subconfig(str(Path(__file__).resolve().parents[2] / "hub" / "jupyterhub_config.py"))  # noqa: F821

c.JupyterHub.spawner_class = "tests.hub.mock_spawner.MockServerSpawner"
c.JupyterHub.log_level = "DEBUG"  # the most talkative hub: no credential may show even then
