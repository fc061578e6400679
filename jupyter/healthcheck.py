#!/opt/conda/bin/python
"""Docker HEALTHCHECK: the Jupyter server in this container answers its /api.

Finds the server's runtime file (as Docker Stacks' healthcheck does), so it
works for any port and base URL, under a hub or standalone.
"""

import json
import sys
from pathlib import Path

import requests

runtime = Path.home() / ".local" / "share" / "jupyter" / "runtime"
servers = sorted(runtime.glob("jpserver-*.json"), key=lambda p: p.stat().st_mtime)
if not servers:
    sys.exit("no Jupyter server runtime file yet")
url = json.loads(servers[-1].read_text())["url"]
response = requests.get(f"{url.rstrip('/')}/api", timeout=2, verify=False)
sys.exit(0 if response.ok else f"{url}api answered {response.status_code}")
