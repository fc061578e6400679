#!/opt/conda/bin/python
"""Docker Stacks-compatible start-singleuser: the JupyterHub single-user server."""

import os
import shlex
import sys

command = ["/usr/local/bin/start.sh", "jupyterhub-singleuser"]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
os.execvp(command[0], command)
