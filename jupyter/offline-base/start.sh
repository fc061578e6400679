#!/bin/bash
# Docker Stacks-compatible start script of the offline base: run the hooks in
# /usr/local/bin/start-notebook.d and /usr/local/bin/before-notebook.d (*.sh are
# sourced, other executables run), then exec the command.
set -e
shopt -s nullglob

run_hooks() {
  local hook
  for hook in "$1"/*; do
    if [[ $hook == *.sh ]]; then
      echo "start.sh: sourcing $hook"
      source "$hook"
    elif [ -x "$hook" ]; then
      echo "start.sh: running $hook"
      "$hook"
    fi
  done
}

run_hooks /usr/local/bin/start-notebook.d
run_hooks /usr/local/bin/before-notebook.d
exec "$@"
