"""A real hub process with the project's config refuses to start without its required settings."""

import subprocess
import sys

from harness import ROOT
from harness.hub import app_settings

APP = "http://app.test:8000"


def run_hub_config_check(env: dict) -> subprocess.CompletedProcess:
    """Start a hub with the project's config far enough to load settings, then stop."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterhub",
            "-f",
            str(ROOT / "hub" / "jupyterhub_config.py"),
            "--JupyterHub.db_url=sqlite:///:memory:",
            "--ip=127.0.0.1",
            "--port=1",
        ],  # fmt: skip
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
    )


def test_the_hub_refuses_to_start_without_app_settings():
    result = run_hub_config_check({"HUB_API_TOKEN": "x" * 32})
    assert result.returncode != 0
    for name in ("AUTHENTICATION_URL", "CONTENT_SECURITY_POLICY", "HEXA_SERVER_URL"):
        assert name in result.stderr + result.stdout


def test_the_hub_refuses_to_start_without_its_api_token():
    result = run_hub_config_check(app_settings(APP))
    assert result.returncode != 0
    assert "HUB_API_TOKEN" in result.stderr + result.stdout
