#!/usr/bin/env bash
# Run another architecture's programs on this machine, for builds and tests of its images:
# Debian's qemu-user-static, and its interpreter registered with binfmt_misc as systemd-binfmt
# does at boot (from the package's /usr/lib/binfmt.d file, flag F included, so containers use
# it too), for machines where nothing did.
# Usage: scripts/ensure-qemu.sh ARCH (Debian's name: arm64); nothing to do for the host's.
set -euo pipefail

arch=${1:?usage: ensure-qemu.sh ARCH}
[ "$arch" = "$(dpkg --print-architecture)" ] && exit 0
qemu=qemu-${arch/arm64/aarch64}
binfmt=/proc/sys/fs/binfmt_misc
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

"$(dirname "$0")/ensure-packages.sh" qemu-user-static
[ -e "$binfmt/register" ] || $sudo mount -t binfmt_misc binfmt_misc "$binfmt"
if [ ! -e "$binfmt/$qemu" ]; then
  echo "Registering $qemu with binfmt_misc"
  $sudo tee "$binfmt/register" <"/usr/lib/binfmt.d/$qemu.conf" >/dev/null
fi
grep -qs '^enabled' "$binfmt/$qemu" || echo 1 | $sudo tee "$binfmt/$qemu" >/dev/null
grep -qs '^enabled' "$binfmt/$qemu" || {
  echo "ensure-qemu: $qemu is not enabled in $binfmt" >&2
  exit 1
}
