#!/bin/bash
# OpenHexa notebook entrypoint: openhexa-entrypoint MODE [ARGS...]
#   singleuser  the JupyterHub single-user server (what the hub's spawners run)
#   notebook    a standalone JupyterLab
#   pipeline    run the OpenHexa pipeline in $HEXA_PIPELINE_DIR (default ~/pipeline)
# Every mode goes through Docker Stacks' start.sh, so the hooks in
# /usr/local/bin/before-notebook.d (the workspace bucket mount among them) run first.
set -euo pipefail

mode=${1:-singleuser}
[ $# -gt 0 ] && shift

case "$mode" in
  singleuser | jupyterhub-singleuser) exec /usr/local/bin/start-singleuser.py "$@" ;;
  notebook) exec /usr/local/bin/start-notebook.py "$@" ;;
  pipeline)
    # The SDK runs tasks in a process pool that it terminates at the end: a
    # task's buffered output would be lost with its process.
    export PYTHONUNBUFFERED=1
    exec /usr/local/bin/start.sh python /usr/local/bin/openhexa-run-pipeline.py "$@"
    ;;
  *)
    echo "openhexa-entrypoint: unknown mode '$mode'; use singleuser, notebook or pipeline" >&2
    exit 64
    ;;
esac
