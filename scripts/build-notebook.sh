#!/usr/bin/env bash
# Build the single-user image ${IMAGE_PREFIX}openhexa-base-notebook:${TAG}.
# BASE=auto|upstream|offline picks the base (see scripts/build-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-lib.sh

image=${IMAGE_PREFIX:-blsq/}openhexa-base-notebook:${TAG:-dev}$ARCH_SUFFIX
base=$(base_of jupyter/Dockerfile BASE_IMAGE)
engines=${STORAGE_ENGINES:-}
if [ -z "$engines" ]; then
  engines="local s3 gcp azure"
  # The offline base is for machines whose only registries are PyPI, npm and
  # Debian: the gcsfuse and blobfuse2 vendor repositories are out of reach there.
  [ "$base" = "$OFFLINE_BASE" ] && engines="local s3"
fi
say "building $image on $base (storage engines: $engines)"
buildkit_build --build-arg "BASE_IMAGE=$base" --build-arg "STORAGE_ENGINES=$engines" \
  --label "org.openhexa.base=$base" -t "$image" jupyter
say "built $image"
