#!/bin/bash
# Check a vendor's apt key file before apt trusts it: it must hold exactly the keys pinned for it.
# Usage: vendor-key.sh FILE FINGERPRINT...   (40 hex digits each, the primary keys')
# A file that holds another key, or misses one, stops the build, naming what it found: a vendor
# that rotates its key is a change to review and pin (jupyter/Dockerfile), not one to take silently.
set -euo pipefail
file=${1:?usage: vendor-key.sh FILE FINGERPRINT...}
shift
[ $# -gt 0 ] || { echo "vendor-key.sh: no fingerprint pinned for $file" >&2; exit 2; }
found=$(gpg --batch --show-keys --with-colons "$file" 2>/dev/null |
  awk -F: '$1 == "pub" { primary = 1; next } $1 == "fpr" && primary { print $10; primary = 0 } $1 == "sub" { primary = 0 }' |
  sort -u || true) # a file gpg cannot read holds no key
wanted=$(printf '%s\n' "$@" | tr '[:lower:]' '[:upper:]' | sort -u)
if [ "$found" != "$wanted" ]; then
  echo "vendor-key.sh: $file holds the keys [$(echo "$found" | xargs)], not the pinned [$(echo "$wanted" | xargs)]." >&2
  echo "A vendor's signing key changed (or the download is not theirs): check it, then update its pin in jupyter/Dockerfile." >&2
  exit 3
fi
