#!/bin/bash
# Install the FUSE tools for the storage engines asked for, and record them.
# Usage: install-storage-tools.sh ENGINE...   (local s3 gcp azure)
# gcp and azure come from their vendors' package repositories; leave them out
# where those cannot be reached. Their keys must be the ones pinned (vendor-key.sh,
# GOOGLE_KEYS and MICROSOFT_KEYS: fingerprints) and their packages the versions pinned
# (GCSFUSE_VERSION, BLOBFUSE2_VERSION), all set by jupyter/Dockerfile; anything else stops
# the build saying what it found. The host's CA bundle, when the build mounts one, is used
# for this step only.
set -euo pipefail
here=$(dirname "$0")

bundle=/run/secrets/ca_bundle
[ -s "$bundle" ] || bundle=/etc/ssl/certs/ca-certificates.crt
apt_get() { apt-get -o Acquire::https::CAInfo="$bundle" "$@"; }
. /etc/os-release

# vendor_repo NAME KEY_URL REPO_LINE FINGERPRINTS: trust a vendor's repository with its pinned key only.
vendor_repo() {
  local keyring=/usr/share/keyrings/$1.asc
  curl --fail --silent --show-error --cacert "$bundle" "$2" -o "$keyring"
  # shellcheck disable=SC2086 # the fingerprints are words
  "$here/vendor-key.sh" "$keyring" ${4:?no pinned fingerprints for $1}
  echo "deb [signed-by=$keyring] $3" >"/etc/apt/sources.list.d/$1.list"
}

# pinned PACKAGE VERSION: the package at the pinned version, or stop naming what the repository has.
pinned() {
  if ! apt-cache madison "$1" | awk -v v="$2" '$3 == v { found = 1 } END { exit !found }'; then
    echo "install-storage-tools: $1 $2 (pinned in jupyter/Dockerfile) is not in its repository, which has:" >&2
    apt-cache madison "$1" | awk '{ print "  " $3 }' | head -5 >&2
    exit 3
  fi
  echo "$1=$2"
}

# gpg checks the vendors' keys; Docker Stacks' Ubuntu may lack it: installed for this step only.
gnupg_added=
if [[ " $* " == *" gcp "* || " $* " == *" azure "* ]] && ! command -v gpg >/dev/null; then
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends gnupg
  gnupg_added=1
fi

packages=(fuse3)
vendor=()
for engine in "$@"; do
  case "$engine" in
    local) ;;
    s3) packages+=(s3fs) ;;
    gcp)
      vendor_repo gcsfuse https://packages.cloud.google.com/apt/doc/apt-key.gpg \
        "https://packages.cloud.google.com/apt gcsfuse-${VERSION_CODENAME} main" "${GOOGLE_KEYS:-}"
      vendor+=("gcsfuse ${GCSFUSE_VERSION:?the version of gcsfuse is not pinned}")
      ;;
    azure)
      vendor_repo microsoft-prod https://packages.microsoft.com/keys/microsoft.asc \
        "https://packages.microsoft.com/${ID}/${VERSION_ID}/prod ${VERSION_CODENAME} main" "${MICROSOFT_KEYS:-}"
      vendor+=("blobfuse2 ${BLOBFUSE2_VERSION:?the version of blobfuse2 is not pinned}")
      ;;
    *) echo "install-storage-tools: unknown storage engine '$engine'" >&2; exit 2 ;;
  esac
done

apt_get update -qq
for entry in "${vendor[@]}"; do
  # shellcheck disable=SC2086 # "name version"
  packages+=("$(pinned $entry)")
done
DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${packages[@]}"
[ -z "$gnupg_added" ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --auto-remove gnupg
rm -rf /var/lib/apt/lists/*
# Let the notebook user's FUSE mounts be read by the server's processes.
grep -q '^user_allow_other' /etc/fuse.conf 2>/dev/null || echo user_allow_other >>/etc/fuse.conf
mkdir -p /etc/openhexa
echo "$*" >/etc/openhexa/storage-engines
