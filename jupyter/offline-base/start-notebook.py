#!/opt/conda/bin/python
"""Docker Stacks-compatible start-notebook: JupyterLab, or the single-user server under a hub."""

import os
import shlex
import sys

if "JUPYTERHUB_API_TOKEN" in os.environ:
    os.execvp("/usr/local/bin/start-singleuser.py", ["start-singleuser.py", *sys.argv[1:]])

command = ["/usr/local/bin/start.sh", "jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
os.execvp(command[0], command)
