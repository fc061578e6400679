#!/usr/bin/env bash
# The docker-compose stack: the mock OpenHexa App on 127.0.0.1:8000 (its frontend on :3000), the hub on 127.0.0.1:8001.
#   scripts/stack.sh up     start it (images must be built: `make up` builds them) and wait for it
#   scripts/stack.sh down   remove it: containers, the hub's volume, every server the hub spawned and their volumes
#   scripts/stack.sh logs   every container's log, spawned servers included
#   scripts/stack.sh secrets  make this stack's secrets if there are none yet
# COMPOSE_PROJECT_NAME (default openhexa-notebooks) keeps stacks apart.
# Secrets: HUB_API_TOKEN, CONFIGPROXY_AUTH_TOKEN and JUPYTERHUB_CRYPT_KEY from the environment,
# else from OPENHEXA_SECRETS_FILE (default .stack-secrets.env, git-ignored, 0600), made once with
# random values (one missing from an older file is added); the App's token is shown that once.
# Nothing in the repository is one.
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-openhexa-notebooks}

compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    docker-compose "$@"
  else
    docker compose "$@"
  fi
}

export OPENHEXA_STACK=$COMPOSE_PROJECT_NAME
# The workspace buckets of the 'local' storage engine; they outlive `make down`, as the App's data does.
export OPENHEXA_BUCKETS=${OPENHEXA_BUCKETS:-$PWD/.buckets}
# What this stack's hub started: servers (by label) and workspace volumes (by name).
spawned() { docker ps -aq --filter label=org.openhexa.notebooks=server --filter "label=org.openhexa.notebooks.stack=$OPENHEXA_STACK"; }
volumes() { docker volume ls -q --filter "name=^${OPENHEXA_STACK}-(home|workspace)-"; }

wait_for() {
  local url=$1 what=$2
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 1
  done
  echo "timed out after 120s waiting for $what at $url" >&2
  compose logs --tail=50 >&2
  return 1
}

SECRETS_FILE=${OPENHEXA_SECRETS_FILE:-$PWD/.stack-secrets.env}

random_token() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

secrets() {
  if [ -n "${HUB_API_TOKEN:-}" ] && [ -n "${CONFIGPROXY_AUTH_TOKEN:-}" ] && [ -n "${JUPYTERHUB_CRYPT_KEY:-}" ]; then
    return 0 # given by the caller (the end-to-end tests)
  fi
  if [ ! -f "$SECRETS_FILE" ]; then
    local app_token
    app_token=$(random_token)
    (
      umask 077
      printf 'HUB_API_TOKEN=%s\nCONFIGPROXY_AUTH_TOKEN=%s\n' "$app_token" "$(random_token)" >"$SECRETS_FILE"
    )
    cat <<MSG
Made this stack's secrets in $SECRETS_FILE (readable by you only; \`make down\` keeps it).
The App's token for the hub's REST API (its HUB_API_TOKEN), shown this once:
  $app_token
MSG
  fi
  # The key the hub encrypts auth_state with (which App session each browser's login came from).
  if ! grep -q '^JUPYTERHUB_CRYPT_KEY=' "$SECRETS_FILE"; then
    (
      umask 077
      printf 'JUPYTERHUB_CRYPT_KEY=%s\n' "$(random_token)" >>"$SECRETS_FILE"
    )
  fi
  set -a
  # shellcheck source=/dev/null
  . "$SECRETS_FILE"
  set +a
}

case "${1:-}" in
  secrets)
    secrets
    ;;
  up)
    secrets
    compose up -d
    wait_for http://127.0.0.1:3000/login "the mock App"
    wait_for http://127.0.0.1:8001/hub/health "the hub"
    cat <<'MSG'

OpenHexa notebooks are up:
  the App (mock):  http://localhost:3000/           log in, then open "Notebooks" or a workspace
  the hub:         http://localhost:8001/hub/
  demo logins:     alice@openhexa.test / alice-pass   (editor of malaria-dashboards, admin of survey-trial)
                   bob@openhexa.test / bob-pass       (viewer of malaria-dashboards: no notebooks there)
                   carol@openhexa.test / carol-pass   (no workspace)
                   Mixed.Case+tag@openhexa.test / mixed-pass   (editor of malaria-dashboards)
Use localhost (not 127.0.0.1) in the browser: the App and the hub share cookies by host.
`make down` removes everything.
MSG
    ;;
  down)
    # Removing needs no secret; compose still wants the variables set.
    HUB_API_TOKEN=${HUB_API_TOKEN:-unused} CONFIGPROXY_AUTH_TOKEN=${CONFIGPROXY_AUTH_TOKEN:-unused} \
      JUPYTERHUB_CRYPT_KEY=${JUPYTERHUB_CRYPT_KEY:-unused} compose down --volumes --remove-orphans
    mapfile -t ids < <(spawned)
    [ ${#ids[@]} -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null
    mapfile -t vols < <(volumes)
    [ ${#vols[@]} -eq 0 ] || docker volume rm "${vols[@]}" >/dev/null
    ;;
  logs)
    HUB_API_TOKEN=${HUB_API_TOKEN:-unused} CONFIGPROXY_AUTH_TOKEN=${CONFIGPROXY_AUTH_TOKEN:-unused} \
      JUPYTERHUB_CRYPT_KEY=${JUPYTERHUB_CRYPT_KEY:-unused} compose logs --no-color --timestamps
    for id in $(spawned); do
      echo "=== spawned server $(docker inspect -f '{{.Name}}' "$id") ==="
      docker logs --timestamps "$id" 2>&1
    done
    ;;
  *)
    echo "usage: $0 up|down|logs|secrets" >&2
    exit 2
    ;;
esac
