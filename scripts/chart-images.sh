#!/usr/bin/env bash
# Push this commit's three images (`make build`) to a registry the cluster pulls from, and write the
# Helm values that deploy exactly them, by digest.
#   scripts/chart-images.sh REGISTRY VALUES_FILE     e.g. localhost:5000 "$RUNNER_TEMP/images.yaml"
# The chart renders an image as <name>:<tag>, so the tag is "<tag>@sha256:<digest>": what runs is
# that digest, whatever the tag names later.
set -euo pipefail
registry=${1:?usage: chart-images.sh REGISTRY VALUES_FILE}
out=${2:?usage: chart-images.sh REGISTRY VALUES_FILE}
prefix=${IMAGE_PREFIX:-blsq/}
tag=${TAG:-dev}

# push IMAGE: push $prefix$IMAGE:$tag to the registry; print "<registry>/<repository> <digest>".
push() {
  local source=$prefix$1:$tag target=$registry/$prefix$1:$tag digest
  docker tag "$source" "$target"
  docker push -q "$target" >/dev/null
  digest=$(docker inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$target" \
    | sed -n "s#^$registry/$prefix$1@##p" | head -1)
  [ -n "$digest" ] || { echo "no digest for $target after the push" >&2; exit 1; }
  echo "$registry/$prefix$1 $digest"
}

read -r hub_name hub_digest < <(push openhexa-jupyterhub)
read -r notebook_name notebook_digest < <(push openhexa-base-notebook)
read -r proxy_name proxy_digest < <(push openhexa-proxy)
cat >"$out" <<YAML
# This commit's images, by digest (scripts/chart-images.sh).
hub:
  image:
    name: $hub_name
    tag: "$tag@$hub_digest"
singleuser:
  image:
    name: $notebook_name
    tag: "$tag@$notebook_digest"
proxy:
  chp:
    image:
      name: $proxy_name
      tag: "$tag@$proxy_digest"
YAML
echo "wrote $out: $hub_name@$hub_digest, $notebook_name@$notebook_digest, $proxy_name@$proxy_digest"
