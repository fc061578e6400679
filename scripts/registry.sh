#!/usr/bin/env bash
# A Docker registry on 127.0.0.1 for releases made on this machine (Debian's docker-registry).
#   scripts/registry.sh start [ADDRESS] [DATA_DIR]   default 127.0.0.1:5000 and .registry/
#   scripts/registry.sh stop [DATA_DIR]              stop the one this script started
# Images are kept in DATA_DIR/data, so they survive a restart.
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-}
address=${2:-127.0.0.1:5000}
data=$(realpath -m "${3:-${REGISTRY_DATA:-.registry}}")
[ "$command" = stop ] && data=$(realpath -m "${2:-${REGISTRY_DATA:-.registry}}")
pidfile=$data/registry.pid

case "$command" in
  start)
    if curl -fsS -o /dev/null "http://$address/v2/" 2>/dev/null; then
      exit 0
    fi
    scripts/ensure-packages.sh docker-registry:docker-registry
    mkdir -p "$data/data"
    cat >"$data/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $data/data}
  delete: {enabled: true}
http:
  addr: $address
YAML
    docker-registry serve "$data/config.yml" >>"$data/registry.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 30); do
      curl -fsS -o /dev/null "http://$address/v2/" 2>/dev/null && { echo "registry on $address ($data)"; exit 0; }
      sleep 0.5
    done
    echo "the registry did not answer on $address; see $data/registry.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
  *)
    echo "usage: $0 start [ADDRESS] [DATA_DIR] | stop [DATA_DIR]" >&2
    exit 2
    ;;
esac
