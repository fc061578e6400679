#!/usr/bin/env bash
# Start or stop the Docker engine the tests and builds use.
#   scripts/dockerd.sh start   install docker.io if missing; start dockerd unless one answers
#   scripts/dockerd.sh stop    stop the dockerd this script started (by its pid), nothing else
# The engine runs with loopback-only networking: no bridge, no iptables rules.
set -euo pipefail
cd "$(dirname "$0")/.."

PIDFILE=${DOCKERD_PIDFILE:-/run/openhexa-dockerd.pid}
LOG=${DOCKERD_LOG:-/var/log/openhexa-dockerd.log}

answers() { docker info >/dev/null 2>&1; }

case "${1:-}" in
  start)
    scripts/ensure-packages.sh dockerd:docker.io
    docker compose version >/dev/null 2>&1 || scripts/ensure-packages.sh docker-compose:docker-compose
    if answers; then
      exit 0
    fi
    echo "Starting dockerd (log: $LOG)"
    dockerd --bridge=none --iptables=false --ip6tables=false >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 60); do
      answers && exit 0
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -20 "$LOG"; echo "dockerd exited" >&2; exit 1; }
      sleep 1
    done
    echo "dockerd did not answer within 60s; see $LOG" >&2
    exit 1
    ;;
  stop)
    [ -f "$PIDFILE" ] || exit 0
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      echo "Stopping dockerd ($pid)"
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$PIDFILE"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
