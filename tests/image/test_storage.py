"""Workspace storage: `local` mounts nothing; an engine that cannot mount says so once and still serves."""

import pytest
import requests

from tests.support import free_port, wait_until


def start_and_wait_for_api(notebook, environment):
    port = free_port()
    container = notebook.run_detached(command=["notebook", f"--ServerApp.port={port}"], environment=environment)

    def serving():
        try:
            return requests.get(f"http://127.0.0.1:{port}/api", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(serving, "the notebook server's /api")
    return container


def test_local_mounts_nothing_and_starts(notebook):
    container = start_and_wait_for_api(notebook, {"WORKSPACE_STORAGE_ENGINE": "local"})
    _, mounts = notebook.exec(container, ["cat", "/proc/mounts"])
    assert "fuse" not in mounts
    assert "openhexa: storage" not in container.logs().decode()


@pytest.mark.parametrize(
    ("engine", "names_what_is_missing"),
    [
        ("s3", "WORKSPACE_STORAGE_ENGINE_AWS_ACCESS_KEY_ID"),
        ("gcp", "gcsfuse"),  # a tool this image may not carry, or the missing key
        ("azure", "blobfuse2"),
        ("ftp", "unknown engine"),
    ],
)
def test_an_engine_that_cannot_mount_logs_one_clear_line_and_serves(notebook, engine, names_what_is_missing):
    container = start_and_wait_for_api(
        notebook, {"WORKSPACE_STORAGE_ENGINE": engine, "WORKSPACE_BUCKET_NAME": "hexa-demo"}
    )
    lines = [line for line in container.logs().decode().splitlines() if "openhexa: storage" in line]
    assert len(lines) == 1, lines
    assert "the workspace bucket is not mounted" in lines[0]
    if engine in ("gcp", "azure") and "not installed" not in lines[0]:
        names_what_is_missing = "WORKSPACE_STORAGE_ENGINE_"
    assert names_what_is_missing in lines[0]
