#!/opt/conda/bin/python
"""Docker HEALTHCHECK: the Jupyter server in this container answers its /api.

Finds the server's runtime file as Docker Stacks' healthcheck does, so it works for
any port and base URL, under a hub or standalone: in JUPYTER_RUNTIME_DIR when set,
else in /home/$NB_USER/.local/share/jupyter/runtime (Docker runs the check as the
image's user, root when NB_USER was changed). Bypasses HTTP(S)_PROXY, accepts the
self-signed certificate of GEN_CERT; a server on a UNIX socket counts as healthy.
Only the standard library: Docker runs this in every server, every interval, and
importing requests would cost each idle server about 5% of a core.
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
    data = os.environ.get("JUPYTER_DATA_DIR")
    if not data:
        data = Path("/home") / os.environ.get("NB_USER", "jovyan") / ".local" / "share" / "jupyter"
    return Path(data) / "runtime"


servers = sorted(runtime_dir().glob("*server-*.json"), key=lambda path: path.stat().st_mtime)
if not servers:
    sys.exit(f"no Jupyter server runtime file in {runtime_dir()} yet")
url = json.loads(servers[-1].read_text())["url"]
if not url.startswith(("http://", "https://")):
    sys.exit(0)  # a UNIX socket: nothing to ask over TCP
url = url.rstrip("/") + "/api"
unverified = ssl.create_default_context()
unverified.check_hostname = False
unverified.verify_mode = ssl.CERT_NONE
no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=unverified))
try:
    with no_proxy.open(url, timeout=2):
        sys.exit(0)
except OSError as error:  # URLError and HTTPError are OSErrors
    sys.exit(f"{url}: {error}")
