# shellcheck shell=bash
# shellcheck disable=SC2329 # the engines' functions are called by name ("openhexa_storage_$engine")
# OpenHexa hook (sourced by start.sh before the server starts): mount the
# workspace's bucket on ~/workspace with what the OpenHexa App sends in the
# workspace answer: WORKSPACE_STORAGE_ENGINE and that engine's settings (the
# App's files/backends/<engine>.py, get_bucket_mount_config).
#
#   local  nothing here: the hub binds the App's folder (WORKSPACE_STORAGE_MOUNT_PATH) there
#   s3     s3fs; access key, secret and session token in its environment
#   gcp    gcsfuse; the access token served on a private Unix socket (--token-url unix://...)
#   azure  blobfuse2; account, container and SAS token in its environment
#
# It runs as the notebook user: the tools mount through the setuid fusermount3,
# so the server needs /dev/fuse (open to all, mode 0666, as udev makes it on the
# host) and SYS_ADMIN in its bounding set. A credential is
# never on a command line (/proc/<pid>/cmdline is world-readable), in a log or in
# the note below; every value is quoted, and those that become tool options are
# checked first. OPENHEXA_STORAGE_TIMEOUT (seconds, default 45) bounds each step.
#
# It never fails the start. A mount is checked (the folder must list), not
# assumed. Without one, a line in the server log and the note
# WORKSPACE-NOT-MOUNTED.txt in the workspace folder say in plain words why, which
# setting is concerned and what to do.

openhexa_storage() {
  local engine=${WORKSPACE_STORAGE_ENGINE:-local}
  local target=${OPENHEXA_WORKSPACE_DIR:-$HOME/workspace}
  local note_name=WORKSPACE-NOT-MOUNTED.txt
  local limit=${OPENHEXA_STORAGE_TIMEOUT:-45}
  local shown=${engine//[^A-Za-z0-9_.-]/?}
  shown=${shown:0:40}
  # Set by the engine's function: what is mounted, with what, and what went wrong.
  local tool="" bucket="" shown_bucket="" private="" where=""
  local why="" setting="" todo="" said=""
  local bucket_setting="" credential_settings="" endpoint_setting=""
  local -a secrets=()

  [[ $limit =~ ^[1-9][0-9]*$ ]] || limit=45
  case "$engine" in
    local) return 0 ;;
    s3 | gcp | azure) ;;
    *)
      why="WORKSPACE_STORAGE_ENGINE is '$shown', an engine this image does not know (it knows local, s3, gcp and azure)"
      setting=WORKSPACE_STORAGE_ENGINE todo=admin
      ;;
  esac
  mkdir -p -- "$target" 2>/dev/null
  target=$(cd -- "$target" 2>/dev/null && pwd -P) || target=${OPENHEXA_WORKSPACE_DIR:-$HOME/workspace}
  rm -f -- "$target/$note_name" 2>/dev/null # left by an earlier start

  [ -n "$why" ] || "openhexa_storage_$engine"

  if [ -z "$why" ]; then
    echo "openhexa: storage engine '$engine': mounted bucket '$shown_bucket' on $target" >&2
    return 0
  fi
  [ -n "$private" ] && rm -rf -- "$private"
  echo "openhexa: storage engine '$shown': the workspace bucket is not mounted: $why${setting:+ [setting: $setting]}${said:+ ($tool said: $said)}" >&2
  openhexa_storage_note 2>/dev/null || true
}

openhexa_storage_s3() {
  tool=s3fs bucket_setting=WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME
  bucket=${WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME:-${WORKSPACE_BUCKET_NAME:-}}
  local key=${WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID:-}
  local secret=${WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY:-}
  local token=${WORKSPACE_STORAGE_ENGINE_S3_SESSION_TOKEN:-}
  local region=${WORKSPACE_STORAGE_ENGINE_S3_REGION_NAME:-}
  local endpoint=${WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL:-}
  local url
  secrets=("$key" "$secret" "$token")
  credential_settings="WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID, WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY"
  [ -z "$token" ] || credential_settings+=", WORKSPACE_STORAGE_ENGINE_S3_SESSION_TOKEN"
  [ -z "$endpoint" ] || endpoint_setting=WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL

  openhexa_storage_require WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME "$bucket" \
    WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID "$key" \
    WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY "$secret" || return 0
  openhexa_storage_name WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME "$bucket" || return 0
  if [ -n "$region" ] && ! [[ $region =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
    why="the S3 region is not a region name (lowercase letters, digits and dashes)"
    setting=WORKSPACE_STORAGE_ENGINE_S3_REGION_NAME todo=admin
    return 0
  fi
  if [ -n "$endpoint" ]; then
    # It becomes the FUSE option url=...: FUSE splits options at commas and
    # unescapes backslashes, so neither may be in it, nor any space.
    if ! [[ $endpoint =~ ^https?://[^[:space:][:cntrl:],\\]+$ ]]; then
      why="the S3 endpoint is not a URL this image can use (http:// or https://, without spaces, commas or backslashes)"
      setting=WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL todo=admin
      return 0
    fi
    url=$endpoint
  elif [ -n "$region" ]; then
    url="https://s3.$region.amazonaws.com"
  else
    url=https://s3.amazonaws.com
  fi
  where=$(openhexa_storage_host "$url")
  openhexa_storage_ready || return 0

  local -a options=(-o allow_other -o sigv4 -o "url=$url" -o "logfile=$private/s3fs.log")
  [ -n "$region" ] && options+=(-o "endpoint=$region")
  [ -n "$endpoint" ] && options+=(-o use_path_request_style) # MinIO and other S3 APIs
  (
    # Only these credentials: s3fs also reads these other names and files.
    unset AWSACCESSKEYID AWSSECRETACCESSKEY AWSSESSIONTOKEN AWS_SESSION_TOKEN AWS_CREDENTIAL_FILE
    export AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret"
    [ -z "$token" ] || export AWS_SESSION_TOKEN="$token"
    exec timeout -k 5 "$limit" s3fs "$bucket" "$target" "${options[@]}"
  ) </dev/null >"$private/tool.out" 2>&1
  openhexa_storage_check $? "$private/s3fs.log"
}

openhexa_storage_gcp() {
  tool=gcsfuse bucket_setting=WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME
  credential_settings=WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN where="Google Cloud Storage"
  bucket=${WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME:-${WORKSPACE_BUCKET_NAME:-}}
  local token=${WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN:-}
  secrets=("$token")

  openhexa_storage_require WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME "$bucket" \
    WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN "$token" || return 0
  openhexa_storage_name WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME "$bucket" || return 0
  openhexa_storage_ready || return 0

  # gcsfuse takes a key file or a token URL; the App sends a short-lived token,
  # so a small server answers gcsfuse on a socket in the private folder. It
  # reads the token from its environment and stops once the mount is checked:
  # gcsfuse keeps the token it got (no expiry is given) until it unmounts.
  local socket=$private/token.sock server waited=0
  OPENHEXA_GCS_ACCESS_TOKEN=$token python3 /usr/local/lib/openhexa/storage-token-server.py "$socket" \
    </dev/null >"$private/token-server.out" 2>&1 &
  server=$!
  while [ ! -S "$socket" ] && kill -0 "$server" 2>/dev/null && [ "$waited" -lt 100 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if [ ! -S "$socket" ]; then
    kill "$server" 2>/dev/null
    why="the access token could not be handed to gcsfuse (the token server did not start)" todo=admin
    said=$(openhexa_storage_redact "$(tail -n 1 "$private/token-server.out" 2>/dev/null)")
    return 0
  fi
  timeout -k 5 "$limit" gcsfuse --implicit-dirs -o allow_other --token-url "unix://$socket" \
    --log-file "$private/gcsfuse.log" --log-severity WARNING "$bucket" "$target" </dev/null >"$private/tool.out" 2>&1
  openhexa_storage_check $? "$private/gcsfuse.log"
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  rm -f -- "$socket"
}

openhexa_storage_azure() {
  tool=blobfuse2 bucket_setting=WORKSPACE_BUCKET_NAME
  credential_settings=WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN
  bucket=${WORKSPACE_BUCKET_NAME:-}
  local account=${WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME:-}
  local sas=${WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN:-}
  secrets=("$sas")

  openhexa_storage_require WORKSPACE_BUCKET_NAME "$bucket" \
    WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME "$account" \
    WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN "$sas" || return 0
  openhexa_storage_name WORKSPACE_BUCKET_NAME "$bucket" || return 0
  openhexa_storage_name WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME "$account" || return 0
  where="the Azure storage account '$account'"
  openhexa_storage_ready || return 0

  mkdir -m 0700 -- "$private/cache"
  (
    # blobfuse2 reads config.yaml from the current folder when given none: not
    # a file of the person's. Only these AZURE_STORAGE_* settings count.
    cd -- "$private" || exit 70
    local name
    for name in $(compgen -e AZURE_STORAGE_); do unset "$name"; done
    export AZURE_STORAGE_ACCOUNT="$account" AZURE_STORAGE_ACCOUNT_CONTAINER="$bucket"
    export AZURE_STORAGE_AUTH_TYPE=sas AZURE_STORAGE_SAS_TOKEN="$sas"
    exec timeout -k 5 "$limit" blobfuse2 mount "$target" --tmp-path="$private/cache" \
      --log-type=base --log-file-path="$private/blobfuse2.log" \
      -o allow_other -o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120
  ) </dev/null >"$private/tool.out" 2>&1
  openhexa_storage_check $? "$private/blobfuse2.log"
}

# NAME VALUE ...: every setting given, or why names those missing.
openhexa_storage_require() {
  local -a missing=()
  while [ $# -gt 1 ]; do
    [ -n "$2" ] || missing+=("$1")
    shift 2
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  setting=${missing[*]}
  setting=${setting// /, }
  why="the OpenHexa App sent no value for ${setting}" todo=admin
  return 1
}

# NAME VALUE: a bucket, container or account name, never taken for an option.
openhexa_storage_name() {
  if [[ $2 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$ ]]; then
    [ "$1" = WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME ] || shown_bucket=$2
    return 0
  fi
  why="$1 is not a valid name (letters, digits, dots, dashes and underscores only)" setting=$1 todo=admin
  return 1
}

# The tool, the FUSE device and a private folder (0700) for its logs and socket.
openhexa_storage_ready() {
  if ! command -v "$tool" >/dev/null 2>&1; then
    local carried
    carried=$(cat /etc/openhexa/storage-engines 2>/dev/null) || carried=local
    why="$tool, which mounts $engine buckets, is not installed in this image (it carries the tools for: $carried)" todo=admin
    return 1
  fi
  if [ ! -e /dev/fuse ]; then
    why="this server has no FUSE device (/dev/fuse), so it cannot mount a bucket; the deployment must give notebook servers /dev/fuse and the SYS_ADMIN capability" todo=admin
    return 1
  fi
  if ! private=$(mktemp -d /tmp/openhexa-storage.XXXXXX 2>/dev/null); then
    private="" why="no private folder could be made in /tmp" todo=admin
    return 1
  fi
}

# STATUS LOG: the tool's exit status and log file. A mount counts once the
# folder is a FUSE mount that lists; otherwise it is undone and explained.
openhexa_storage_check() {
  local status=$1 log=$2 tries=0 listing=1
  if [ "$status" -eq 0 ]; then
    until openhexa_storage_mounted || [ "$tries" -ge 20 ]; do
      sleep 0.25
      tries=$((tries + 1))
    done
    if openhexa_storage_mounted; then
      timeout -k 5 "$limit" ls -A -- "$target" >/dev/null 2>"$private/list.err"
      listing=$?
      [ "$listing" -eq 0 ] && openhexa_storage_mounted && return 0
    fi
  fi
  if openhexa_storage_mounted; then
    fusermount3 -u -z -- "$target" 2>/dev/null || fusermount -u -z -- "$target" 2>/dev/null
  fi
  local details
  details=$(cat -- "$private/tool.out" "$log" "$private/list.err" 2>/dev/null)
  openhexa_storage_explain "$status" "$listing" "$(openhexa_storage_redact "$details")"
}

openhexa_storage_mounted() {
  # The last mount on the folder (a volume may lie under it) is a FUSE one.
  awk -v target="$target" '
    { for (i = 7; i < NF && $i != "-"; i++) ; point = $5; gsub(/\\040/, " ", point)
      if (point == target) type = $(i + 1) }
    END { exit !(type ~ /^fuse/) }' /proc/self/mountinfo 2>/dev/null
}

# STATUS LISTING DETAILS: why, in plain words, from what the tool said.
openhexa_storage_explain() {
  local status=$1 listing=$2 details=$3 pattern
  local fuse='fusermount|/dev/fuse|fuse: device not found|fuse: failed|mount failed: operation not permitted|permission denied.*mount'
  local refused='invalid credentials|signaturedoesnotmatch|invalidaccesskeyid|invalidtoken|expiredtoken|token has expired|accessdenied|access denied|authenticationfailed|authorizationfailure|authorizationpermissionmismatch|unauthenticated|unauthorized|forbidden|invalid_grant|error 40[13]|status code:? 40[13]|response code:? 40[13]'
  local absent='bucket or key not found|nosuchbucket|containernotfound|bucket does not exist|bucketnotfound|error 404|status code:? 404|response code:? 404'
  local unreachable='unable to connect|couldnt_connect|could not resolve|couldn.t resolve|connection refused|no such host|network is unreachable|no route to host|timed out|timeout|deadline exceeded'
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ] || [ "$listing" -eq 124 ] || [ "$listing" -eq 137 ]; then
    pattern=$unreachable
    why="the storage${where:+ ($where)} did not answer within $limit seconds" todo=retry
  elif grep -qiE "$refused" <<<"$details"; then
    pattern=$refused
    why="the storage refused the credentials this server was given: they are wrong or have expired, or they do not give access to this bucket"
    setting=$credential_settings todo=restart
  elif grep -qiE "$absent" <<<"$details"; then
    pattern=$absent
    why="the bucket '$shown_bucket' was not found${where:+ at $where}" setting=$bucket_setting todo=admin
  elif grep -qiE "$unreachable" <<<"$details"; then
    pattern=$unreachable
    why="the storage could not be reached${where:+ ($where)}" setting=$endpoint_setting todo=retry
  elif grep -qiE 'open /dev/fuse: permission denied' <<<"$details"; then
    pattern='open /dev/fuse'
    why="the notebook user may not open the FUSE device /dev/fuse: on the host it must be readable and writable by everyone (mode 0666, as udev sets it)" todo=admin
  elif grep -qiE "$fuse" <<<"$details"; then
    pattern=$fuse
    why="this server is not allowed to mount a FUSE file system (it needs /dev/fuse and the SYS_ADMIN capability, and fusermount3 must be setuid)" todo=admin
  elif [ "$status" -eq 0 ]; then
    why="$tool finished without an error, yet the folder is not a working mount" todo=admin
  else
    why="$tool could not mount the bucket (exit status $status)" todo=admin
  fi
  said=$( { [ -n "$pattern" ] && grep -iE "$pattern" <<<"$details"; grep -v '^[[:space:]]*$' <<<"$details" | tail -n 1; } | head -n 1)
  said=${said:0:300}
}

# TEXT: without the credentials (and whatever looks like one), on printable characters.
openhexa_storage_redact() {
  local text=$1 secret
  for secret in "${secrets[@]}"; do
    [ -n "$secret" ] && text=${text//"$secret"/[hidden]}
  done
  printf '%s\n' "$text" | tr -c '[:print:]\n' ' ' |
    sed -E 's/((sig|signature|x-amz-security-token|x-amz-credential|awsaccesskeyid|access_token|sessiontoken|token)"?[[:space:]]*[=:][[:space:]]*"?)[^&[:space:]",<]+/\1[hidden]/Ig'
}

# URL: its host, without any user name or password in it.
openhexa_storage_host() {
  local rest=${1#*://}
  rest=${rest%%/*}
  printf '%s' "${rest##*@}"
}

openhexa_storage_note() {
  local kind todo_text
  case "$engine" in
    s3) kind="S3 storage" ;;
    gcp) kind="Google Cloud Storage" ;;
    azure) kind="Azure Blob Storage" ;;
    *) kind="storage" ;;
  esac
  case "$todo" in
    restart) todo_text="stop this notebook server and start it again from OpenHexa (the workspace's Notebooks page): it then gets new credentials. If this note comes back, tell your OpenHexa administrator and send them this note." ;;
    retry) todo_text="try again in a few minutes: stop this notebook server and start it again from OpenHexa (the workspace's Notebooks page). If this note comes back, tell your OpenHexa administrator and send them this note." ;;
    *) todo_text="tell your OpenHexa administrator and send them this note. Restarting the server will not help until the setting is fixed." ;;
  esac
  {
    echo "The workspace's files are not in this folder."
    echo
    # shellcheck disable=SC2016 # the quotes are the note's, inside a double-quoted string
    echo "When this notebook server started ($(date -u '+%Y-%m-%d %H:%M UTC')), it could not connect this folder to the workspace's $kind${shown_bucket:+ (bucket '$shown_bucket')}."
    echo
    echo "Why: $why."
    [ -z "$setting" ] || echo "Setting concerned (sent by the OpenHexa App): $setting"
    [ -z "$said" ] || echo "What $tool said: $said"
    echo
    echo "What to do: $todo_text"
    echo
    echo "Until then, anything saved in this folder is NOT saved in the workspace's storage:"
    echo "other members do not see it, and it is not there when the bucket is mounted again."
  } >"$target/$note_name"
}

openhexa_storage || true
unset -f openhexa_storage openhexa_storage_s3 openhexa_storage_gcp openhexa_storage_azure \
  openhexa_storage_require openhexa_storage_name openhexa_storage_ready openhexa_storage_check \
  openhexa_storage_mounted openhexa_storage_explain openhexa_storage_redact openhexa_storage_host \
  openhexa_storage_note
