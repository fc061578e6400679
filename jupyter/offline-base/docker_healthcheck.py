#!/opt/conda/bin/python
"""Docker HEALTHCHECK: the Jupyter server of this container answers on its /api.

Docker runs this as the image's user (root when NB_USER was changed), so the server is
found from the notebook user's runtime folder: JUPYTER_RUNTIME_DIR when set, else
/home/$NB_USER/.local/share/jupyter/runtime. The request bypasses HTTP(S)_PROXY and
accepts the self-signed certificate of GEN_CERT. A server on a UNIX socket counts as healthy.
"""

import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path


def runtime_dir() -> Path:
    if os.environ.get("JUPYTER_RUNTIME_DIR"):
        return Path(os.environ["JUPYTER_RUNTIME_DIR"])
    home = Path("/home") / os.environ.get("NB_USER", "jovyan")
    data = os.environ.get("JUPYTER_DATA_DIR") or home / ".local" / "share" / "jupyter"
    return Path(data) / "runtime"


servers = sorted(runtime_dir().glob("*server-*.json"), key=lambda path: path.stat().st_mtime)
if not servers:
    sys.exit(f"no Jupyter server runtime file in {runtime_dir()} yet")
url = json.loads(servers[-1].read_text())["url"]
if not url.startswith(("http://", "https://")):
    print(f"Skipping the check for the non-HTTP(S) server URL: {url}")
    sys.exit(0)
unverified = ssl.create_default_context()
unverified.check_hostname = False
unverified.verify_mode = ssl.CERT_NONE
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=unverified))
try:
    with opener.open(url.rstrip("/") + "/api", timeout=2) as response:
        print(response.read().decode(errors="replace"))
except OSError as error:  # URLError and HTTPError are OSErrors
    sys.exit(f"{url}api: {error}")
