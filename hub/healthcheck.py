#!/usr/bin/env python3
"""Docker HEALTHCHECK of the hub images: the hub answers its /hub/health.

    openhexa-healthcheck [URL]

Exits 0 when URL answers with a success (redirects followed), else 1 saying why; the
mock App's service in docker-compose.yaml checks its own URL with it. URL defaults to
HUB_HEALTH_URL, else http://127.0.0.1:8081/hub/health: the hub's own port
(JupyterHub's default, the one the chart binds), not the proxy's, so a hub whose proxy is
elsewhere (a pod of its own under the chart) is still judged by itself. With a base URL
other than /, set HUB_HEALTH_URL. The request bypasses HTTP(S)_PROXY. Kubernetes ignores
this (the chart has its own probes); `docker ps` and docker-compose read it.
"""

import os
import sys
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUB_HEALTH_URL", "http://127.0.0.1:8081/hub/health")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(url, timeout=3) as response:
        print(f"{url}: {response.status}")
except OSError as error:  # URLError and HTTPError are OSErrors
    sys.exit(f"{url}: {error}")
