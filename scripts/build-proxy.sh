#!/usr/bin/env bash
# Build the proxy image: ${IMAGE_PREFIX}openhexa-proxy:${TAG}, the chart's proxy
# (configurable-http-proxy) with proxy/openhexa-proxy.mjs in front of it, which keeps the
# OpenHexa App's cookies from notebook servers (chart-values/values.yaml: proxy.chp.image).
# BASE=auto|upstream|offline picks the base (see scripts/build-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-lib.sh

image=${IMAGE_PREFIX:-blsq/}openhexa-proxy:${TAG:-dev}$ARCH_SUFFIX
base=$(base_of proxy/Dockerfile PROXY_BASE_IMAGE offline_proxy_base)
say "building $image on $base"
buildkit_build --build-arg "PROXY_BASE_IMAGE=$base" --label "org.openhexa.base=$base" -t "$image" -f proxy/Dockerfile .
say "built $image"
