#!/bin/bash
# Install the FUSE tools for the storage engines asked for, and record them.
# Usage: install-storage-tools.sh ENGINE...   (local s3 gcp azure)
# gcp and azure come from their vendors' package repositories; leave them out
# where those cannot be reached. The host's CA bundle, when the build mounts
# one, is used for this step only.
set -euo pipefail

bundle=/run/secrets/ca_bundle
[ -s "$bundle" ] || bundle=/etc/ssl/certs/ca-certificates.crt
apt_get() { apt-get -o Acquire::https::CAInfo="$bundle" "$@"; }
. /etc/os-release

packages=(fuse3)
for engine in "$@"; do
  case "$engine" in
    local) ;;
    s3) packages+=(s3fs) ;;
    gcp)
      curl --fail --silent --show-error --cacert "$bundle" https://packages.cloud.google.com/apt/doc/apt-key.gpg \
        -o /usr/share/keyrings/cloud.google.asc
      echo "deb [signed-by=/usr/share/keyrings/cloud.google.asc] https://packages.cloud.google.com/apt gcsfuse-${VERSION_CODENAME} main" \
        >/etc/apt/sources.list.d/gcsfuse.list
      packages+=(gcsfuse)
      ;;
    azure)
      curl --fail --silent --show-error --cacert "$bundle" https://packages.microsoft.com/keys/microsoft.asc \
        -o /usr/share/keyrings/microsoft.asc
      echo "deb [signed-by=/usr/share/keyrings/microsoft.asc] https://packages.microsoft.com/${ID}/${VERSION_ID}/prod ${VERSION_CODENAME} main" \
        >/etc/apt/sources.list.d/microsoft-prod.list
      packages+=(blobfuse2)
      ;;
    *) echo "install-storage-tools: unknown storage engine '$engine'" >&2; exit 2 ;;
  esac
done

apt_get update -qq
DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${packages[@]}"
rm -rf /var/lib/apt/lists/*
# Let the notebook user's FUSE mounts be read by the server's processes.
grep -q '^user_allow_other' /etc/fuse.conf 2>/dev/null || echo user_allow_other >>/etc/fuse.conf
mkdir -p /etc/openhexa
echo "$*" >/etc/openhexa/storage-engines
