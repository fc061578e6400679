"""release/sbom.py: an image's CycloneDX SBOM from what is inside it, and what makes one not the image's."""

import json

from harness.locks import HUB_LOCAL_LOCK, hashes, pins
from release import sbom

DIGEST = "sha256:" + "ab" * 32
INSIDE = {
    "python_packages": {"JupyterHub": pins(HUB_LOCAL_LOCK)["jupyterhub"], "ruamel.yaml": "0.19.1", "Left_Pad": "1.0"},
    "debian_packages": {"libc6": "2.36-9+deb12u14"},
    "debian_architecture": "amd64",
    "npm_packages": [["configurable-http-proxy", "5.2.0"], ["@colors/colors", "1.6.0"]],
}


def test_the_sbom_lists_every_package_inside_with_its_url_and_known_hashes():
    document = json.loads(sbom.build("hub", "blsq/openhexa-jupyterhub", DIGEST, INSIDE))
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    assert document["metadata"]["component"]["version"] == DIGEST
    by_purl = {c["purl"]: c for c in document["components"]}
    version = INSIDE["python_packages"]["JupyterHub"]
    assert set(by_purl) == {
        f"pkg:pypi/jupyterhub@{version}", "pkg:pypi/ruamel-yaml@0.19.1", "pkg:pypi/left-pad@1.0",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64",
        "pkg:npm/configurable-http-proxy@5.2.0", "pkg:npm/%40colors/colors@1.6.0",
    }  # fmt: skip
    (reference,) = by_purl[f"pkg:pypi/jupyterhub@{version}"]["externalReferences"]
    assert {h["content"] for h in reference["hashes"]} == hashes(HUB_LOCAL_LOCK)["jupyterhub"]
    assert by_purl["pkg:npm/configurable-http-proxy@5.2.0"]["hashes"][0]["alg"] == "SHA-512"
    assert by_purl["pkg:pypi/ruamel-yaml@0.19.1"]["externalReferences"], "names are compared canonically"
    assert "externalReferences" not in by_purl["pkg:pypi/left-pad@1.0"], "no hash the locks do not know"


def test_an_sbom_of_another_image_or_contents_is_told_apart():
    document = json.loads(sbom.build("hub", "blsq/openhexa-jupyterhub", DIGEST, INSIDE))
    assert sbom.differences(document, DIGEST, INSIDE) == []
    assert sbom.differences(document, "sha256:" + "cd" * 32, INSIDE) == [
        f"it describes {DIGEST!r}, not sha256:{'cd' * 32}"
    ]
    more = {**INSIDE, "debian_packages": {"libc6": "2.36-9+deb12u14", "openssl": "3.0.19-1~deb12u1"}}
    assert sbom.differences(document, DIGEST, more) == ["missing: pkg:deb/debian/openssl@3.0.19-1~deb12u1?arch=amd64"]
    fewer = {**INSIDE, "npm_packages": []}
    assert sbom.differences(document, DIGEST, fewer) == [
        "not in the image: pkg:npm/%40colors/colors@1.6.0",
        "not in the image: pkg:npm/configurable-http-proxy@5.2.0",
    ]


def test_npm_hashes_come_from_package_lock_integrity():
    found = sbom.npm_hashes()
    assert len(found[("configurable-http-proxy", "5.2.0")]) == 128  # sha512, hex
