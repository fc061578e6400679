#!/usr/bin/env bash
# The docker-compose stack: the mock OpenHexa App on 127.0.0.1:8000 (its frontend on :3000), the hub on 127.0.0.1:8001.
#   scripts/stack.sh up     start it (images must be built: `make up` builds them) and wait for it
#   scripts/stack.sh up APP the hub alone, for your own OpenHexa App whose backend is at APP (`make up
#                           APP=http://localhost:8000`): the App must answer first; prints what to set on it.
#                           APP_STORAGE (default /data): the App's bucket folders as Docker sees them
#   scripts/stack.sh down   remove it: containers, the hub's volume, every server the hub spawned and their volumes
#   scripts/stack.sh logs   every container's log, spawned servers included
#   scripts/stack.sh secrets  make this stack's secrets if there are none yet
# COMPOSE_PROJECT_NAME (default openhexa-notebooks) keeps stacks apart.
# Secrets: HUB_API_TOKEN, CONFIGPROXY_AUTH_TOKEN and JUPYTERHUB_CRYPT_KEY from the environment,
# else from OPENHEXA_SECRETS_FILE (default .stack-secrets.env, git-ignored, 0600), made once with
# random values (one missing from an older file is added); the App's token is shown that once
# (`up APP` shows it each time, with the rest of what to set on your App). Nothing in the
# repository is one.
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

die() {
  echo "make up: $*" >&2
  exit 1
}

# This stack's service, when its container runs.
running() {
  docker ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
    --filter "label=com.docker.compose.service=$1"
}

# The ports a service binds on 127.0.0.1 (docker-compose.yaml) must be free, unless that
# service of this stack holds them already. Arguments: the service, then port:what pairs.
ports_free() {
  local service=$1 entry port
  shift
  [ -z "$(running "$service")" ] || return 0
  for entry in "$@"; do
    port=${entry%%:*}
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
      die "port $port on 127.0.0.1 (${entry#*:}) is taken by another program.$PORT_HINT"
    fi
  done
}

hub_ports_free() {
  PORT_HINT=" \`make down\` removes this project's stack; stop any other first."
  ports_free hub "8001:the hub" "8081:the hub's API" "8002:the proxy's API"
}

# Your own App: its backend must answer GET /login with the redirect to its frontend's
# /login (the App's core/urls.py, to NEW_FRONTEND_DOMAIN), which tells where its frontend is.
APP_TIMEOUT=5
app_frontend() {
  local app=$1 answer status location error
  [[ $app =~ ^https?://[^/?#@]+$ ]] ||
    die "APP=$app is not the address of an App: give your OpenHexa App's backend as the browser reaches it, e.g. APP=http://localhost:8000"
  answer=$(curl -s -o /dev/null --max-time "$APP_TIMEOUT" -w '%{http_code} %{redirect_url}\n%{errormsg}' "$app/login" || true)
  status=${answer%% *}
  location=${answer#* }
  location=${location%%$'\n'*}
  error=${answer#*$'\n'}
  if [ "$status" = 000 ]; then
    die "no OpenHexa App answers at $app (GET $app/login: ${error:-no answer}). Start your App first, or check APP."
  fi
  if [[ ! $status =~ ^30[1278]$ || ! $location =~ ^(https?://[^/?#]+)/login ]]; then
    local hint="APP is the App's backend (Django, :8000), not its frontend."
    # Django answers 400 to a host name outside ALLOWED_HOSTS (the App's: BASE_HOSTNAME, localhost).
    [ "$status" != 400 ] || hint="A 400 is Django refusing that host name: give the App as the browser reaches it (its BASE_HOSTNAME, e.g. http://localhost:8000)."
    die "$app answers, but not as the OpenHexa App's backend: GET $app/login gave HTTP $status${location:+ to $location}, where the App redirects to its frontend's /login (NEW_FRONTEND_DOMAIN). $hint"
  fi
  echo "${BASH_REMATCH[1]}"
}

# A setting of the running hub, as its container has it.
hub_env() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(running hub)" | sed -n "s/^$1=//p"; }

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

# The hub alone, for your own App: its backend ($1) and its frontend ($2).
up_hub_for() {
  local app=$1 frontend=$2
  secrets
  # The hub's App: its backend for the hub, the servers and browsers, its frontend's login page.
  export OPENHEXA_APP_URL=$app OPENHEXA_APP_BROWSER_URL=$app OPENHEXA_APP_FRONTEND_URL=$frontend
  # The App's bucket folders, as the Docker engine sees them: the only folders the hub binds into
  # workspace servers ('local' engine; its LOCAL_STORAGE_ROOT).
  local storage=${APP_STORAGE:-/data}
  storage=$(printf '%s' "$storage" | sed -E 's#/+#/#g; s#/$##')
  [[ $storage == /?* ]] || die "APP_STORAGE=${APP_STORAGE:-} is not an absolute folder below / (the App's WORKSPACE_STORAGE_LOCATION)"
  export OPENHEXA_BUCKETS=$storage
  compose up -d --no-deps hub
  wait_for http://127.0.0.1:8001/hub/health "the hub"
  curl -fsS -o /dev/null --max-time "$APP_TIMEOUT" "$frontend/login" 2>/dev/null ||
    echo "Note: your App's frontend at $frontend did not answer within ${APP_TIMEOUT}s; people log in there." >&2
  cat <<MSG

The hub is up for your OpenHexa App at $app (its frontend: $frontend):
  the hub:  http://localhost:8001/hub/
  log in on your App's frontend ($frontend/), then open a workspace's notebooks.

Set these on your App (its .env), then restart it:
  NOTEBOOKS_HUB_URL=http://127.0.0.1:8001/hub
  NOTEBOOKS_URL=http://localhost:8001
  HUB_API_TOKEN=$HUB_API_TOKEN
  DEFAULT_WORKSPACE_IMAGE=$(hub_env APP_DEFAULT_IMAGE)
  STORAGE_BACKEND=fs
  WORKSPACE_STORAGE_LOCATION=$OPENHEXA_BUCKETS

DEFAULT_WORKSPACE_IMAGE is the App's default; this hub runs $(hub_env NOTEBOOK_IMAGE) for it.
STORAGE_BACKEND=fs, the App's default, keeps workspace buckets as folders ('local' engine) in the
App's /data; WORKSPACE_STORAGE_LOCATION is that folder as this machine sees it: /data for an App
run on this machine, the folder mounted at /data for an App in a container (make up APP=...
APP_STORAGE=<that folder>). The hub binds only bucket folders under it into servers.
Your App's backend calls the hub at 127.0.0.1:8001: run it on this machine or on the host network
(in a container on a bridge network, 127.0.0.1 is the container itself).
Use localhost (not 127.0.0.1) in the browser: the App and the hub share cookies by host.
\`make down\` removes the hub and its servers; your App keeps running.
MSG
}

case "${1:-}" in
  secrets)
    secrets
    ;;
  up)
    if [ -n "${2:-}" ]; then
      frontend=$(app_frontend "${2%/}") # before anything starts: the App must answer
      hub_ports_free
      up_hub_for "${2%/}" "$frontend"
      exit 0
    fi
    hub_ports_free
    PORT_HINT=" If your own OpenHexa App runs there, start the hub alone for it: make up APP=http://localhost:8000"
    ports_free app "8000:the mock App" "3000:the mock App's frontend"
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
