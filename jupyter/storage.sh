# OpenHexa hook (sourced by start.sh before the server starts): mount the
# workspace bucket on ~/workspace according to WORKSPACE_STORAGE_ENGINE.
# Never fails the start: a missing tool or credential is one log line.

openhexa_storage() {
  local engine=${WORKSPACE_STORAGE_ENGINE:-local}
  local target=${OPENHEXA_WORKSPACE_DIR:-$HOME/workspace}
  local bucket=${WORKSPACE_BUCKET_NAME:-}
  local carried
  carried=$(cat /etc/openhexa/storage-engines 2>/dev/null || echo local)
  local say="openhexa: storage engine '$engine':"
  local tool missing=() var

  mkdir -p "$target"
  case "$engine" in
    local) return 0 ;;
    s3) tool=s3fs; vars=(WORKSPACE_BUCKET_NAME WORKSPACE_STORAGE_ENGINE_AWS_ACCESS_KEY_ID WORKSPACE_STORAGE_ENGINE_AWS_SECRET_ACCESS_KEY) ;;
    gcp) tool=gcsfuse; vars=(WORKSPACE_BUCKET_NAME WORKSPACE_STORAGE_ENGINE_GCP_SERVICE_ACCOUNT_KEY) ;;
    azure) tool=blobfuse2; vars=(WORKSPACE_BUCKET_NAME WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_KEY) ;;
    *) echo "$say unknown engine (use local, s3, gcp or azure); the workspace bucket is not mounted" >&2; return 0 ;;
  esac
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$say $tool is not installed in this image (it carries: $carried); the workspace bucket is not mounted" >&2
    return 0
  fi
  for var in "${vars[@]}"; do [ -n "${!var:-}" ] || missing+=("$var"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$say missing ${missing[*]}; the workspace bucket is not mounted" >&2
    return 0
  fi
  local output
  case "$engine" in
    s3)
      output=$(AWSACCESSKEYID=$WORKSPACE_STORAGE_ENGINE_AWS_ACCESS_KEY_ID \
        AWSSECRETACCESSKEY=$WORKSPACE_STORAGE_ENGINE_AWS_SECRET_ACCESS_KEY \
        s3fs "$bucket" "$target" -o allow_other \
        ${WORKSPACE_STORAGE_ENGINE_AWS_ENDPOINT_URL:+-o url=$WORKSPACE_STORAGE_ENGINE_AWS_ENDPOINT_URL -o use_path_request_style} 2>&1) ;;
    gcp)
      local key
      key=$(mktemp /tmp/gcs-key.XXXXXX) # mktemp makes it 0600
      printf '%s' "$WORKSPACE_STORAGE_ENGINE_GCP_SERVICE_ACCOUNT_KEY" >"$key"
      output=$(gcsfuse --key-file "$key" --implicit-dirs "$bucket" "$target" 2>&1) ;;
    azure)
      output=$(AZURE_STORAGE_ACCOUNT=$WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME \
        AZURE_STORAGE_ACCESS_KEY=$WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_KEY \
        blobfuse2 mount "$target" --container-name="$bucket" --tmp-path=/tmp/blobfuse2 2>&1) ;;
  esac || { echo "$say mounting $bucket on $target failed: ${output//$'\n'/ }" >&2; return 0; }
  echo "openhexa: mounted $engine bucket $bucket on $target" >&2
}

openhexa_storage
unset -f openhexa_storage
