#!/opt/conda/bin/python
"""Start a Jupyter server (the CMD; start.sh, the entrypoint, has already run the hooks).

Runs `jupyter $DOCKER_STACKS_JUPYTER_CMD` (lab by default: notebook, server, nbclassic
also work), then the words of NOTEBOOK_ARGS, then this script's own arguments; under
run-one-constantly (restarted whenever it exits) when RESTARTABLE=yes. Under a hub
(JUPYTERHUB_API_TOKEN set) it hands over to start-singleuser.py instead.
"""

import os
import shlex
import sys

if "JUPYTERHUB_API_TOKEN" in os.environ:
    print(
        "WARNING: using start-singleuser.py instead of start-notebook.py to start a server associated with JupyterHub.",
        flush=True,
    )
    os.execv("/usr/local/bin/start-singleuser.py", ["/usr/local/bin/start-singleuser.py", *sys.argv[1:]])

command = ["run-one-constantly"] if os.environ.get("RESTARTABLE") == "yes" else []
command += ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
print("Executing: " + " ".join(command), flush=True)
os.execvp(command[0], command)
