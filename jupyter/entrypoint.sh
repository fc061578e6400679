#!/bin/bash
# OpenHexa notebook entrypoint (under tini): openhexa-entrypoint [MODE [ARGS...] | COMMAND [ARGS...]]
#   singleuser  the JupyterHub single-user server (what the hub's spawners run); outside
#               a hub it says which of the hub's variables are missing, and exits 64
#   notebook    a standalone JupyterLab
#   pipeline    run the OpenHexa pipeline in $HEXA_PIPELINE_DIR (default ~/pipeline)
# Anything else is a command, as a Jupyter Docker Stacks image takes it: start-notebook.py
# (the default: JupyterLab, or the single-user server when a hub started the container),
# start-singleuser.py, `start.sh CMD`, or a plain command such as `bash`.
#
# Everything goes through start.sh exactly once: on the upstream base it is the
# ENTRYPOINT this image replaces, and start-notebook.py/start-singleuser.py there do
# not call it, so this is where the hooks in /usr/local/bin/before-notebook.d (the
# workspace bucket mount, the App's files, the git extension switch) run. start.sh
# also does the NB_USER/NB_UID/GRANT_SUDO/CHOWN_* work when started as root.
set -euo pipefail

start=/usr/local/bin/start.sh
[ $# -gt 0 ] || set -- start-notebook.py

case "$1" in
  singleuser | jupyterhub-singleuser)
    shift
    missing=()
    for name in JUPYTERHUB_API_TOKEN JUPYTERHUB_API_URL JUPYTERHUB_SERVICE_URL; do
      [ -n "${!name:-}" ] || missing+=("$name")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      echo "openhexa-entrypoint: the singleuser mode is the server a JupyterHub starts, and the hub sets" \
        "its JUPYTERHUB_* variables; missing here: ${missing[*]}. Outside a hub, run the 'notebook' mode" \
        "(or start-notebook.py) for a standalone JupyterLab." >&2
      exit 64
    fi
    exec "$start" start-singleuser.py "$@"
    ;;
  notebook)
    shift
    exec "$start" start-notebook.py "$@"
    ;;
  pipeline)
    shift
    # The SDK runs tasks in a process pool that it terminates at the end: a
    # task's buffered output would be lost with its process.
    export PYTHONUNBUFFERED=1
    exec "$start" python /usr/local/bin/openhexa-run-pipeline.py "$@"
    ;;
esac

if ! command -v -- "$1" >/dev/null; then
  echo "openhexa-entrypoint: unknown mode '$1'; use singleuser, notebook or pipeline, or a command" >&2
  exit 64
fi
exec "$start" "$@"
