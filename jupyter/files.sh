# shellcheck shell=bash
# OpenHexa hook (sourced by start.sh): write the files the App sent with the default
# credentials (OPENHEXA_FILES, a JSON object of path -> base64) under $HOME. The App names
# them from the home folder ("~/.pgpass"). Never in a hidden file or folder but ~/.pgpass
# (~/.jupyter, ~/.ipython, ~/.bashrc, ... run code): the hub refuses such a spawn already.
if [ -n "${OPENHEXA_FILES:-}" ]; then
  python - <<'PY' || echo "openhexa: could not write OPENHEXA_FILES" >&2
import base64, json, os, pathlib
home = pathlib.Path.home().resolve()
for name, content in json.loads(os.environ["OPENHEXA_FILES"]).items():
    relative = name[2:] if name.startswith("~/") else name
    parts = pathlib.PurePosixPath(relative).parts
    hidden = any(part.startswith(".") for part in parts) and relative != ".pgpass"
    path = (home / relative).resolve()
    if hidden or home not in path.parents:
        print(f"openhexa: skipping a file the App may not write: {name[:64]}", flush=True)
        continue
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(content))
    path.chmod(0o600)
PY
fi
