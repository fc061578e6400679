#!/bin/bash
# Logging for the start-up scripts of the offline base (start.sh, run-hooks.sh, hooks).
# Source it, then call _log_info, _log_warn, _log_error, _log_fatal (logs, then exits 1)
# or _log LEVEL MESSAGE... (LEVEL: INFO, WARNING, ERROR, FATAL or DEBUG; any other
# first word is part of an INFO message). Every line goes to stderr as
#   LEVEL[YYYY-MM-DD HH:MM:SS] message
# JUPYTER_DOCKER_STACKS_QUIET (non-empty) keeps INFO and DEBUG lines back; warnings,
# errors and fatals always show. On a terminal the level colours the line unless
# NO_COLOR is set: FATAL bold red, ERROR red, WARNING yellow, DEBUG cyan.

_log() {
  local level=INFO colour=
  case "${1:-}" in
    INFO | WARNING | ERROR | FATAL | DEBUG)
      level=$1
      shift
      ;;
  esac
  case "$level" in
    INFO | DEBUG) [ -n "${JUPYTER_DOCKER_STACKS_QUIET:-}" ] && return 0 ;;
  esac
  local line
  line="${level}[$(date '+%Y-%m-%d %H:%M:%S')] $*"
  if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
    case "$level" in
      FATAL) colour='1;31' ;;
      ERROR) colour='31' ;;
      WARNING) colour='33' ;;
      DEBUG) colour='36' ;;
    esac
  fi
  if [ -n "$colour" ]; then
    printf '\033[0;%sm%s\033[0m\n' "$colour" "$line" >&2
  else
    printf '%s\n' "$line" >&2
  fi
  return 0
}

_log_info() { _log INFO "$@"; }
_log_warn() { _log WARNING "$@"; }
_log_error() { _log ERROR "$@"; }
_log_fatal() {
  _log FATAL "$@"
  exit 1
}
