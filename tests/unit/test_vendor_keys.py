"""The vendors' apt repositories (gcsfuse, blobfuse2) are trusted with pinned keys only, for pinned versions.

jupyter/vendor-key.sh runs here on keys made for the test: the same gpg listing the image build runs.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from harness import ROOT

CHECK = ROOT / "jupyter" / "vendor-key.sh"
DOCKERFILE = (ROOT / "jupyter" / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[str, list[str]]:
    """An armoured key file with two keys, as Google's apt-key.gpg is, and their fingerprints."""
    home = tmp_path_factory.mktemp("gnupg")
    env = {**os.environ, "GNUPGHOME": str(home)}
    gpg = ["gpg", "--batch", "--passphrase", "", "--quiet"]
    for name in ("Vendor Signing Key <one@vendor.test>", "Vendor Second Key <two@vendor.test>"):
        subprocess.run([*gpg, "--quick-gen-key", name, "ed25519", "sign", "never"], env=env, check=True)
    listing = subprocess.run(["gpg", "--with-colons", "--list-keys"], env=env, check=True, capture_output=True)
    listing = listing.stdout.decode()
    fingerprints = re.findall(r"^pub:.*\nfpr:+([0-9A-F]{40}):", listing, re.MULTILINE)
    keyring = home / "vendor.asc"
    keyring.write_bytes(subprocess.run([*gpg, "--armor", "--export"], env=env, check=True, capture_output=True).stdout)
    assert len(fingerprints) == 2
    return str(keyring), fingerprints


def check(keyring: str, *fingerprints: str) -> subprocess.CompletedProcess:
    home = {"GNUPGHOME": os.path.dirname(keyring)}
    return subprocess.run([CHECK, keyring, *fingerprints], capture_output=True, text=True, env={**os.environ, **home})


def test_a_key_file_with_exactly_the_pinned_keys_is_trusted(keys):
    keyring, fingerprints = keys
    assert check(keyring, *fingerprints).returncode == 0
    assert check(keyring, *reversed([f.lower() for f in fingerprints])).returncode == 0, "order and case"


def test_a_key_file_with_another_key_stops_the_build_naming_it(keys):
    keyring, (first, second) = keys
    result = check(keyring, first, "0" * 40)
    assert result.returncode == 3
    assert second in result.stderr and "0" * 40 in result.stderr and "jupyter/Dockerfile" in result.stderr


def test_a_key_file_missing_a_pinned_key_or_not_a_key_stops_the_build(keys, tmp_path):
    keyring, fingerprints = keys
    assert check(keyring, fingerprints[0]).returncode == 3, "a key the pin does not name"
    (tmp_path / "page.html").write_text("<html>not a key</html>")
    assert check(str(tmp_path / "page.html"), *fingerprints).returncode == 3
    assert check(keyring).returncode == 2, "no pin at all"


@pytest.mark.parametrize("arg", ["GOOGLE_KEYS", "MICROSOFT_KEYS"])
def test_each_vendor_key_is_pinned_by_full_fingerprint(arg):
    value = re.search(rf'^ARG {arg}="([^"]*)"$', DOCKERFILE, re.MULTILINE)
    assert value, f"jupyter/Dockerfile pins no {arg}"
    assert all(re.fullmatch(r"[0-9A-F]{40}", f) for f in value.group(1).split()), value.group(1)


@pytest.mark.parametrize("arg", ["GCSFUSE_VERSION", "BLOBFUSE2_VERSION"])
def test_each_vendor_package_is_pinned_by_version(arg):
    assert re.search(rf"^ARG {arg}=\d+\.\d+\.\d+$", DOCKERFILE, re.MULTILINE), f"jupyter/Dockerfile pins no {arg}"
    assert f'{arg}="${{{arg}}}"' in DOCKERFILE, f"{arg} does not reach install-storage-tools.sh"


def test_the_vendor_packages_are_installed_only_at_their_pins():
    script = (ROOT / "jupyter" / "install-storage-tools.sh").read_text()
    assert not re.search(r"packages\+=\((gcsfuse|blobfuse2)\)", script), "a vendor package without its version"
    assert script.count('"$here/vendor-key.sh"') == 1 and len(re.findall(r"^ +vendor_repo ", script, re.M)) == 2
