#!/usr/bin/env bash
# Re-resolve jupyter/requirements.txt into jupyter/requirements.lock, inside the
# offline base (its Python is the one the lock must fit: Debian's 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-lib.sh
BASE=offline base_image unused >/dev/null
say "resolving jupyter/requirements.txt in $OFFLINE_BASE"
{
  echo "# The resolved environment of jupyter/requirements.txt on the offline base (Debian's Python 3.11),"
  echo "# used as pip constraints on either base. Regenerate with 'make lock-notebook'."
  docker run --rm --network host --user 1000 -e PIP_CERT=/run/ca.crt -v "$CA_BUNDLE:/run/ca.crt:ro" \
    -v "$PWD/jupyter/requirements.txt:/tmp/requirements.txt:ro" --entrypoint "" "$OFFLINE_BASE" \
    bash -c 'pip install -q --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt >&2 && pip freeze'
} >jupyter/requirements.lock.new
mv jupyter/requirements.lock.new jupyter/requirements.lock
say "wrote jupyter/requirements.lock ($(grep -c '==' jupyter/requirements.lock) pins)"
