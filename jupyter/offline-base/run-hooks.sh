#!/bin/bash
# Source it with one folder: `source run-hooks.sh FOLDER`. In name order, each
# *.sh file there is sourced (so what it exports reaches the command start.sh
# runs), each other executable file is run, and anything else is skipped with a
# note. A hook that fails is logged ("... has failed, continuing execution") and
# the next one runs: errexit is off while hooks run, and put back afterwards.
# (A hook that itself turns errexit on and then fails still ends the shell.)

declare -F _log >/dev/null || source /usr/local/bin/_docker_stacks_log.sh

if [ $# -ne 1 ]; then
  _log_error "Should pass exactly one directory"
  return 1
fi
if [ ! -d "$1" ]; then
  _log_error "Directory $1 doesn't exist or is not a directory"
  return 1
fi

case $- in
  *e*) __hooks_errexit=1 ;;
  *) __hooks_errexit= ;;
esac
set +e

_log_info "Running hooks in: $1 as uid: $(id -u) gid: $(id -g)"
for __hook in "$1"/*; do
  [ -e "$__hook" ] || continue
  if [[ $__hook == *.sh ]]; then
    _log_info "Sourcing shell script: $__hook"
    # shellcheck disable=SC1090
    source "$__hook"
    __hook_status=$?
    set +e
  elif [ -x "$__hook" ]; then
    _log_info "Running executable: $__hook"
    "$__hook"
    __hook_status=$?
  else
    _log_info "Ignoring non-executable: $__hook"
    continue
  fi
  [ "$__hook_status" -eq 0 ] || _log_error "$__hook has failed, continuing execution"
done
_log_info "Done running hooks in: $1"

[ -n "$__hooks_errexit" ] && set -e
unset __hooks_errexit __hook __hook_status
return 0
