#!/usr/bin/env bash
# Install the Debian packages that are missing, and only those.
# Usage: scripts/ensure-packages.sh ITEM...
#   COMMAND:PACKAGE  install PACKAGE when COMMAND is not on the PATH
#   PACKAGE          install PACKAGE when dpkg does not have it
# Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
for item in "$@"; do
  if [[ $item == *:* ]]; then
    command -v "${item%%:*}" >/dev/null 2>&1 || missing+=("${item#*:}")
  else
    dpkg-query -W -f='${Status}' "$item" 2>/dev/null | grep -q "install ok installed" || missing+=("$item")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
