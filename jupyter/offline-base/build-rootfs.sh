#!/usr/bin/env bash
# Make the Debian root filesystem of the offline base and load it with `docker import`.
# Usage: jupyter/offline-base/build-rootfs.sh IMAGE_TAG
# Rebuilds only when this script changes (the package list is part of it): the
# image carries a label with the script's checksum.
set -euo pipefail

tag=${1:?usage: build-rootfs.sh IMAGE_TAG}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What Docker Stacks' base has from the OS, and what the OpenHexa layer relies on.
packages=ca-certificates,python3,python3-venv,tini,sudo,git,bzip2,tzdata,locales,less,curl,procps

here=$(cd "$(dirname "$0")" && pwd)
checksum=$(sha256sum "$here/build-rootfs.sh" | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "org.openhexa.rootfs"}}' "$tag" 2>/dev/null)" = "$checksum" ]; then
  echo "rootfs $tag is up to date"
  exit 0
fi

"$here/../../scripts/ensure-packages.sh" debootstrap:debootstrap
work=$(mktemp -d /var/tmp/openhexa-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "debootstrap $suite ($packages) into $work"
debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log"; exit 1; }
# No package caches or lists in the image; apt in later layers runs `apt-get update`.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar --numeric-owner -C "$work/root" -c . | docker import \
  --change "LABEL org.openhexa.rootfs=$checksum" \
  --change 'CMD ["/bin/bash"]' - "$tag"
echo "imported $tag"
