"""The chart-config tier's fixtures: hubs configured exactly as the chart's hub pod, and the mock App.

The chart's files come from Z2JH_CHART_DIR (CI and the release `helm pull` the pinned chart);
without them every test here skips, saying how to get them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from harness.app import MockApp
from harness.chart import chart_dir_from_env
from harness.chart_hub import ChartHub
from harness.containers import HUB_IMAGE, NOTEBOOK_IMAGE, PROXY_IMAGE, remove_spawned
from harness.net import free_port

OVERLAY = yaml.safe_load((Path(__file__).parent / "outside_kubernetes.yaml").read_text())
STACK = OVERLAY["hub"]["extraEnv"]["OPENHEXA_STACK"]


@pytest.fixture(scope="session")
def chart_dir():
    path, missing = chart_dir_from_env()
    if path is None:
        pytest.skip(f"{missing}, to run hubs configured exactly as the chart's hub pod")
    return path


@pytest.fixture(scope="module")
def chart_hub(chart_dir, docker_client, notebook_image, tmp_path_factory):
    """The chart-configured hub behind the chart's proxy, and the mock App pointed at it."""
    port, token = free_port(), os.urandom(32).hex()
    app = MockApp.start(tmp_path_factory.mktemp("mockapp"), hub_url=f"http://127.0.0.1:{port}", hub_api_token=token)
    hub = None
    try:
        hub = ChartHub.start(
            docker_client, chart_dir, f"{HUB_IMAGE}-local", PROXY_IMAGE, OVERLAY, tmp_path_factory.mktemp("chart-hub"),
            app.url, app.frontend_url, port, token, NOTEBOOK_IMAGE,
        )  # fmt: skip
        yield hub, app
    finally:
        if hub is not None:
            hub.stop()
        remove_spawned(docker_client, STACK)
        app.stop()
