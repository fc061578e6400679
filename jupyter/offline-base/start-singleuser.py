#!/opt/conda/bin/python
"""Start the JupyterHub single-user server (start.sh, the entrypoint, has already run the hooks).

The hub passes its settings in JUPYTERHUB_* variables; the words of NOTEBOOK_ARGS and
this script's arguments follow the command.
"""

import os
import shlex
import sys

command = ["jupyterhub-singleuser", *shlex.split(os.environ.get("NOTEBOOK_ARGS", "")), *sys.argv[1:]]
print("Executing: " + " ".join(command), flush=True)
os.execvp(command[0], command)
