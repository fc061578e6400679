# shellcheck shell=bash
# OpenHexa hook (sourced by start.sh before the server starts): the JupyterLab
# git extension is on only when the App sends GIT_EXTENSION_ENABLED=true (in any
# case: true, True, TRUE). Otherwise (unset, false, anything else) the Jupyter
# config folder that turns it off, both its lab page config and its server
# extension, and nbdime's too (installed for its notebook diffs; importing nbdime's
# server extension, GitPython with it, was a quarter of a server start's CPU),
# goes first on JUPYTER_CONFIG_PATH, for this server and all it starts
# (terminals, kernels). Nothing is written, in the home folder or elsewhere, so
# each start decides afresh, even with a home folder kept from a start before.

openhexa_git_extension() {
  local value=${GIT_EXTENSION_ENABLED:-}
  if [ "${value,,}" = "true" ]; then
    echo "openhexa: the JupyterLab git extension is on" >&2
  else
    echo "openhexa: the JupyterLab git extension is off (GIT_EXTENSION_ENABLED is not 'true')" >&2
    export JUPYTER_CONFIG_PATH="/usr/local/etc/openhexa/git-extension-off${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
  fi
}
openhexa_git_extension
unset -f openhexa_git_extension
