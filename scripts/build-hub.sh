#!/usr/bin/env bash
# Build the hub images: ${IMAGE_PREFIX}openhexa-jupyterhub:${TAG} (production,
# on the Zero to JupyterHub hub image) and :${TAG}-local (plus DockerSpawner and
# the proxy, for docker-compose and the end-to-end tests).
# BASE=auto|upstream|offline picks the base (see scripts/build-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-lib.sh

image=${IMAGE_PREFIX:-blsq/}openhexa-jupyterhub:${TAG:-dev}$ARCH_SUFFIX
base=$(base_of hub/Dockerfile HUB_BASE_IMAGE offline_hub_base)
for target in production local; do
  tag=$image
  [ "$target" = local ] && tag=$image-local
  say "building $tag (target $target) on $base"
  buildkit_build --build-arg "HUB_BASE_IMAGE=$base" --target "$target" \
    --label "org.openhexa.base=$base" -t "$tag" -f hub/Dockerfile .
done
say "built $image and $image-local"
