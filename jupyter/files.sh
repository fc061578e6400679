# shellcheck shell=bash
# OpenHexa hook (sourced by start.sh): write the files the App sent with the
# default credentials (OPENHEXA_FILES, a JSON object of path -> base64) under $HOME.
if [ -n "${OPENHEXA_FILES:-}" ]; then
  python - <<'PY' || echo "openhexa: could not write OPENHEXA_FILES" >&2
import base64, json, os, pathlib
home = pathlib.Path.home().resolve()
for name, content in json.loads(os.environ["OPENHEXA_FILES"]).items():
    path = (home / name).resolve()
    if home not in path.parents:
        print(f"openhexa: skipping file outside the home folder: {name}", flush=True)
        continue
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(content))
    path.chmod(0o600)
PY
fi
