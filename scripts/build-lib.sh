# shellcheck shell=bash
# Shared by the image build scripts (source it). Needs bash.

# The host's CA bundle (with this machine's extra CAs), mounted into build steps
# as the `ca_bundle` secret so downloads through an intercepting proxy work
# without any certificate landing in a layer.
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# PLATFORMS=linux/amd64,linux/arm64: the script that sources this runs once per platform, each
# run with PLATFORM set to one of them.
if [ -n "${PLATFORMS:-}" ] && [ -z "${PLATFORM:-}" ]; then
  for platform in ${PLATFORMS//,/ }; do
    PLATFORM=$platform "scripts/${0##*/}" "$@" || exit
  done
  exit 0
fi
# PLATFORM: the platform built for (linux/amd64, linux/arm64), by default the host's. Another
# architecture than the host's runs its build steps under QEMU (Debian's qemu-user-static,
# registered with binfmt_misc), and its images, offline bases included, have the architecture
# appended to their tags (openhexa/offline-rootfs:bookworm-arm64, ...:dev-arm64), renamed ones too
# (OFFLINE_ROOTFS=x:y gives x:y-arm64); the host's keep their names.
HOST_ARCH=$(dpkg --print-architecture 2>/dev/null || docker version --format '{{.Server.Arch}}')
PLATFORM=${PLATFORM:-linux/$HOST_ARCH}
ARCH=${PLATFORM#linux/}
case "$ARCH" in
  amd64 | arm64) ;;
  *)
    echo "PLATFORM=$PLATFORM: use linux/amd64 or linux/arm64" >&2
    exit 2
    ;;
esac
ARCH_SUFFIX=
[ "$ARCH" = "$HOST_ARCH" ] || ARCH_SUFFIX=-$ARCH
OFFLINE_ROOTFS=${OFFLINE_ROOTFS:-openhexa/offline-rootfs:bookworm}$ARCH_SUFFIX
OFFLINE_BASE=${OFFLINE_BASE:-openhexa/offline-docker-stacks:bookworm}$ARCH_SUFFIX
OFFLINE_HUB_BASE=${OFFLINE_HUB_BASE:-openhexa/offline-k8s-hub:bookworm}$ARCH_SUFFIX
OFFLINE_PROXY_BASE=${OFFLINE_PROXY_BASE:-openhexa/offline-chp:bookworm}$ARCH_SUFFIX

# buildkit_build ARGS...: `docker build` with BuildKit, on the host network.
# Uses buildx when the client has it; otherwise Debian's docker 20.10 client,
# whose builder is BuildKit when DOCKER_BUILDKIT=1.
# NO_CACHE=1 rebuilds every step (the weekly rebuild, so security updates land).
buildkit_build() {
  local options=()
  [ -s "$CA_BUNDLE" ] && options=(--secret "id=ca_bundle,src=$CA_BUNDLE")
  [ "${NO_CACHE:-}" = 1 ] && options+=(--no-cache)
  [ -z "$ARCH_SUFFIX" ] || options+=(--platform "$PLATFORM")
  if docker buildx version >/dev/null 2>&1; then
    docker buildx build --load --network host "${options[@]}" "$@"
  elif [ -x /usr/bin/docker ]; then
    DOCKER_BUILDKIT=1 /usr/bin/docker build --network host "${options[@]}" "$@"
  else
    echo "No BuildKit-capable docker client: install docker-buildx or Debian's docker.io" >&2
    return 1
  fi
}

# base_image UPSTREAM_IMAGE [OFFLINE_BUILDER]: print the base to build on, building the
# offline one if needed. BASE=upstream insists on UPSTREAM_IMAGE, BASE=offline on the
# offline base, and BASE=auto (the default) uses UPSTREAM_IMAGE when it is present or can
# be pulled. OFFLINE_BUILDER is the function that builds the offline twin and prints its
# name: offline_notebook_base (the default), offline_hub_base or offline_proxy_base.
base_image() {
  local upstream=$1 builder=${2:-offline_notebook_base} choice=${BASE:-auto}
  case "$choice" in
    upstream | auto)
      if [ "$(docker image inspect --format '{{.Architecture}}' "$upstream" 2>/dev/null)" = "$ARCH" ] \
        || docker pull -q --platform "$PLATFORM" "$upstream" >/dev/null 2>&1; then
        echo "$upstream"
        return 0
      fi
      if [ "$choice" = upstream ]; then
        echo "BASE=upstream but $upstream cannot be pulled" >&2
        return 1
      fi
      say "$upstream cannot be pulled here: building on its offline twin (Debian packages + PyPI)"
      ;;
    offline) say "BASE=offline: building on the offline twin of $upstream" ;;
    *)
      echo "BASE=$choice: use auto, upstream or offline" >&2
      return 1
      ;;
  esac
  jupyter/offline-base/build-rootfs.sh "$OFFLINE_ROOTFS" "$ARCH" >&2
  "$builder"
}

# base_of DOCKERFILE ARG [OFFLINE_BUILDER]: the base to build DOCKERFILE on: the upstream image its
# `ARG ARG=...` names, or its offline twin (base_image above).
base_of() {
  base_image "$(sed -n "s/^ARG $2=//p" "$1")" "${3:-offline_notebook_base}"
}

# The Docker Stacks-compatible base of the notebook image (jupyter/offline-base/).
offline_notebook_base() {
  buildkit_build --quiet --build-arg "ROOTFS_IMAGE=$OFFLINE_ROOTFS" -t "$OFFLINE_BASE" \
    -f jupyter/offline-base/Dockerfile jupyter >&2
  echo "$OFFLINE_BASE"
}

# The twin of the chart's hub image (hub/offline-base/): its contract, hub/requirements.lock.
offline_hub_base() {
  buildkit_build --quiet --build-arg "ROOTFS_IMAGE=$OFFLINE_ROOTFS" -t "$OFFLINE_HUB_BASE" \
    -f hub/offline-base/Dockerfile hub >&2
  echo "$OFFLINE_HUB_BASE"
}

# The twin of the chart's proxy image (proxy/offline-base/): configurable-http-proxy and Node.js
# as package-lock.json pins them, in upstream's layout.
offline_proxy_base() {
  buildkit_build --quiet --build-arg "ROOTFS_IMAGE=$OFFLINE_ROOTFS" -t "$OFFLINE_PROXY_BASE" \
    -f proxy/offline-base/Dockerfile . >&2
  echo "$OFFLINE_PROXY_BASE"
}
