"""Nothing from the build host stays in the image: no CA certificate, no secret, in any layer or its history."""

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.containers import NOTEBOOK_IMAGE

HOST_CA_FOLDER = Path("/usr/local/share/ca-certificates")  # the host's extra CAs (Debian's local folder)


def host_ca_markers() -> dict[str, bytes]:
    """For each extra CA of the host, a line of its PEM body that identifies it."""
    markers = {}
    for path in sorted(HOST_CA_FOLDER.glob("**/*.crt")):
        body = [line for line in path.read_bytes().splitlines() if line and not line.startswith(b"-----")]
        if len(body) > 3:
            markers[path.name] = body[len(body) // 2]
    return markers


@pytest.fixture(scope="module")
def layer_files(tmp_path_factory, notebook_image):
    """(layer, path, content) of every regular file in every layer of the image."""
    archive = tmp_path_factory.mktemp("image") / "image.tar"
    subprocess.run(["docker", "save", "-o", str(archive), NOTEBOOK_IMAGE], check=True)

    def files():
        with tarfile.open(archive) as image:
            for member in image:
                if not member.name.endswith(".tar"):
                    continue
                with tarfile.open(fileobj=image.extractfile(member)) as layer:
                    for entry in layer:
                        if entry.isfile():
                            yield member.name, entry.name, layer.extractfile(entry).read()

    return files


def test_no_host_ca_certificate_in_any_layer(layer_files):
    markers = host_ca_markers()
    if not markers:
        pytest.skip(f"this build host has no extra CA certificates in {HOST_CA_FOLDER}")
    found = [
        f"{name} in {layer}:{path}"
        for layer, path, content in layer_files()
        for name, marker in markers.items()
        if marker in content
    ]
    assert not found, found


def test_no_secret_mount_or_proxy_setting_left_behind(notebook_host, notebook_image):
    assert not notebook_host.file("/run/secrets/ca_bundle").exists
    environment = notebook_image.attrs["Config"]["Env"]
    assert not [e for e in environment if e.split("=")[0] in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")]


def test_history_holds_no_certificate_or_secret(notebook_image):
    history = json.dumps(notebook_image.history())
    assert "BEGIN CERTIFICATE" not in history
    for marker in host_ca_markers().values():
        assert marker.decode() not in history
    for word in ("password=", "token=", "api_key"):
        assert word not in history.lower()
