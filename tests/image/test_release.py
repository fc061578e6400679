"""`make release`'s publishing half, into a throwaway registry: push, verify, pull back by tag and digest."""

import json
import subprocess
import sys

import pytest

from tests.support import ROOT, free_port


@pytest.fixture
def registry(tmp_path):
    """A throwaway registry on a free loopback port, started as `make release` starts its own."""
    address, data = f"127.0.0.1:{free_port()}", tmp_path / "registry"
    subprocess.run([ROOT / "scripts" / "registry.sh", "start", address, data], check=True, timeout=120)
    yield address
    subprocess.run([ROOT / "scripts" / "registry.sh", "stop", data], check=True, timeout=60)


def test_a_release_publishes_both_images_and_they_pull_back(registry, tmp_path, notebook_image, docker_client):
    records, values = tmp_path / "releases", tmp_path / "values.yaml"
    values.write_text((ROOT / "chart-values" / "values.yaml").read_text())
    result = subprocess.run(
        [sys.executable, "scripts/release.py", "--skip-gates", "--allow-dirty", "--registry", registry,
         "--records", str(records), "--values", str(values)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    (manifest_path,) = records.glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    name = manifest["release"]["name"]
    assert f'tag: "{name}"' in values.read_text()
    assert (manifest_path.parent / "manifest.md").exists()
    for image in manifest["images"].values():
        assert name in image["tags"]
        assert ("latest" in image["tags"]) == bool(manifest["release"]["version"])
        if image["repository"].endswith("openhexa-jupyterhub"):
            assert not [tag for tag in image["tags"] if tag.startswith("lab-")], "the hub image has no lab- tag"
        by_tag = f"{registry}/{image['repository']}:{name}"
        by_digest = f"{registry}/{image['repository']}@{image['digest']}"
        docker_client.images.remove(by_tag)  # pull it back for real, not from the local copy of the tag
        pulled = docker_client.images.pull(by_tag)
        assert by_digest in pulled.attrs["RepoDigests"]
        assert docker_client.images.pull(by_digest).id == pulled.id
        assert image["python_packages"] and image["debian_packages"]

    again = subprocess.run(
        [sys.executable, "scripts/release.py", "--skip-gates", "--allow-dirty", "--registry", registry,
         "--records", str(records), "--values", str(values)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert again.returncode != 0
    assert "already published, and immutable" in again.stderr
