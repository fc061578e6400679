#!/usr/bin/env bash
# Make the Debian root filesystem of the offline base and load it into the Docker engine.
# Usage: jupyter/offline-base/build-rootfs.sh IMAGE_TAG [ARCH]
# ARCH is Debian's name of the architecture (amd64, arm64), by default the host's. Another
# architecture than the host's needs its QEMU registered with binfmt_misc (Debian's
# qemu-user-static): debootstrap runs the second stage in the chroot under it.
# Rebuilds only when this script changes (the package list is part of it) or the architecture
# differs: the image carries a label with the script's checksum and the architecture.
set -euo pipefail

tag=${1:?usage: build-rootfs.sh IMAGE_TAG [ARCH]}
arch=${2:-$(dpkg --print-architecture)}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What Docker Stacks' base has from the OS, and what the OpenHexa layer relies on.
packages=ca-certificates,python3,python3-venv,tini,sudo,git,bzip2,tzdata,locales,less,curl,procps

here=$(cd "$(dirname "$0")" && pwd)
checksum=$(sha256sum "$here/build-rootfs.sh" | cut -c1-16)-$arch
if [ "$(docker image inspect -f '{{index .Config.Labels "org.openhexa.rootfs"}}' "$tag" 2>/dev/null)" = "$checksum" ]; then
  echo "rootfs $tag is up to date"
  exit 0
fi

"$here/../../scripts/ensure-packages.sh" debootstrap:debootstrap
if [ "$arch" != "$(dpkg --print-architecture)" ] && ! grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/qemu-${arch/arm64/aarch64}"; then
  echo "build-rootfs: $arch programs cannot run here: install qemu-user-static (binfmt_misc qemu-${arch/arm64/aarch64})" >&2
  exit 1
fi
work=$(mktemp -d /var/tmp/openhexa-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "debootstrap $suite for $arch ($packages) into $work"
debootstrap --arch="$arch" --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; exit 1; }
# No package caches or lists in the image; apt in later layers runs `apt-get update`.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*

# One layer and a config naming its architecture, loaded with `docker load`: the engine's
# `docker import` (20.10) records the host's architecture whatever --platform says, and
# BuildKit would then not take the image as the base of another platform's build.
mkdir "$work/image"
tar --numeric-owner -C "$work/root" -cf "$work/image/layer.tar" .
layer=$(sha256sum "$work/image/layer.tar" | cut -d' ' -f1)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '{"architecture":"%s","os":"linux","created":"%s","config":{"Cmd":["/bin/bash"],"Labels":{"org.openhexa.rootfs":"%s"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"jupyter/offline-base/build-rootfs.sh (debootstrap %s)"}]}' \
  "$arch" "$created" "$checksum" "$layer" "$created" "$suite" >"$work/image/config.json"
config=$(sha256sum "$work/image/config.json" | cut -d' ' -f1)
mv "$work/image/config.json" "$work/image/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config" "$tag" >"$work/image/manifest.json"
tar -C "$work/image" -c . | docker load
echo "loaded $tag ($arch)"
