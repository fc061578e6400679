"""`make release`'s publishing half, into a throwaway registry: push, verify, pull back by tag and digest.

Each registry is thrown away with everything it left in the local engine: the tags pushed to it,
the digests pulled from it and any container of them (``127.0.0.1:<port>/...``), pass or fail.
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from harness import ROOT
from harness.locks import HUB_LOCK, hashes, pins
from harness.net import free_port
from release import ReleaseError, sbom
from release.images import Image
from release.oci import RegistryAPI
from release.phases import read as read_phases
from release.registry import MANIFEST_TYPES, forget_local_copies, local_copies
from release.registry import Registry as ReleaseRegistry
from release.verify import check_sbom

# What `make build` made, named as the release reads them.
PREFIX, LOCAL_TAG = os.environ.get("IMAGE_PREFIX", "blsq/"), os.environ.get("TAG", "dev")
REPOSITORIES = (f"{PREFIX}openhexa-base-notebook", f"{PREFIX}openhexa-jupyterhub", f"{PREFIX}openhexa-proxy")


@dataclass(frozen=True)
class Registry:
    address: str
    data: Path

    def repository_storage(self, repository: str) -> Path:
        return self.data / "data" / "docker" / "registry" / "v2" / "repositories" / repository


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A throwaway registry on a free loopback port, started as `make release` starts its own.

    Shared by this module's releases, as one registry serves a project's releases: the later
    ones find the layers already there and push little more than manifests.
    """
    found = Registry(f"127.0.0.1:{free_port()}", tmp_path_factory.mktemp("registry"))
    try:
        subprocess.run([ROOT / "scripts" / "registry.sh", "start", found.address, found.data], check=True, timeout=120)
        yield found
    finally:
        try:
            subprocess.run([ROOT / "scripts" / "registry.sh", "stop", found.data], check=True, timeout=60)
        finally:
            left = forget_local_copies(found.address)
    assert not left, f"the release tests left these in the local engine: {left}"


def release(cwd, registry: Registry, records, values, *extra) -> subprocess.CompletedProcess:
    """`python -m release` of the checkout at ``cwd``, its gates skipped, into ``registry``;
    its phases in ``records``/phases.json."""
    return subprocess.run(
        [sys.executable, "-m", "release", "--skip-gates", "--registry", registry.address,
         "--records", str(records), "--values", str(values), "--phases", str(records / "phases.json"), *extra],
        cwd=cwd, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def tag_digest(registry: Registry, repository: str, tag: str) -> str | None:
    response = requests.head(
        f"http://{registry.address}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}, timeout=30
    )
    return response.headers["Docker-Content-Digest"] if response.status_code == 200 else None


@pytest.fixture(scope="module")
def built(docker_client):
    """The images the release publishes, as `make build` named them (IMAGE_PREFIX, TAG)."""
    import docker

    for repository in REPOSITORIES:
        try:
            docker_client.images.get(f"{repository}:{LOCAL_TAG}")
        except docker.errors.ImageNotFound:
            pytest.fail(f"{repository}:{LOCAL_TAG} is not built: run `make build`", pytrace=False)


@dataclass(frozen=True)
class Published:
    records: Path
    values: Path


@pytest.fixture(scope="module")
def published(registry, built, tmp_path_factory) -> Published:
    """One release of this work tree into the module's registry."""
    folder = tmp_path_factory.mktemp("published")
    records, values = folder / "releases", folder / "values.yaml"
    values.write_text((ROOT / "chart-values" / "values.yaml").read_text())
    result = release(ROOT, registry, records, values, "--allow-dirty")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Published(records, values)


def test_a_release_publishes_the_three_images_and_they_pull_back(registry, published, docker_client):
    records, values = published.records, published.values
    phases = read_phases(records / "phases.json")
    assert phases["outcome"] == "published"
    assert {p["kind"] for p in phases["phases"]} == {"inspect", "push", "sbom", "verify", "record"}
    assert {p["outcome"] for p in phases["phases"]} == {"passed"}
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
        by_tag = f"{registry.address}/{image['repository']}:{name}"
        by_digest = f"{registry.address}/{image['repository']}@{image['digest']}"
        docker_client.images.remove(by_tag)  # pull it back for real, not from the local copy of the tag
        pulled = docker_client.images.pull(by_tag)
        assert by_digest in pulled.attrs["RepoDigests"]
        assert docker_client.images.pull(by_digest).id == pulled.id
        if image["repository"].endswith("openhexa-proxy"):  # Node.js, no Python: its modules
            assert image["chp"] and image["node_packages"]["http-proxy-3"]
            assert [tag for tag in image["tags"] if tag.startswith("chp-")], "the proxy image has a chp- tag"
        else:
            assert image["python_packages"] and image["debian_packages"]

    again = release(ROOT, registry, records, values, "--allow-dirty")
    assert again.returncode != 0
    assert "already published, and immutable" in again.stderr
    assert read_phases(records / "phases.json")["outcome"] == "refused"
    assert local_copies(registry.address), "the release left local copies: the registry fixture must remove them"


@pytest.fixture
def checkout(tmp_path):
    """A clone of this repository with the work tree under test committed, to tag versions in."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    for setting in (("user.name", "release test"), ("user.email", "release-test@openhexa.test")):
        subprocess.run(["git", "config", *setting], cwd=clone, check=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, clone / name)
    subprocess.run(["git", "add", "--all"], cwd=clone, check=True)
    subprocess.run(["git", "commit", "--quiet", "--allow-empty", "-m", "under test"], cwd=clone, check=True)
    return clone


@contextlib.contextmanager
def refusing_writes(folder):
    """The registry's storage for one repository turns read-only (immutable), as a full or broken disk does."""
    subprocess.run(["chattr", "-R", "+i", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)


def test_a_registry_failing_mid_release_leaves_latest_where_it_was(registry, checkout, tmp_path, docker_client, built):
    records, values = tmp_path / "releases", tmp_path / "values.yaml"
    values.write_text((ROOT / "chart-values" / "values.yaml").read_text())
    subprocess.run(["git", "tag", "v1.0.0"], cwd=checkout, check=True)
    first = release(checkout, registry, records, values)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    latest = {repository: tag_digest(registry, repository, "latest") for repository in REPOSITORIES}
    assert all(latest.values()), latest
    values_after_first = values.read_text()

    # v1.0.1: new images (a label differs), a new commit.
    for repository in REPOSITORIES:
        dockerfile = f"FROM {repository}:{LOCAL_TAG}\nLABEL org.openhexa.test=v1.0.1\n".encode()
        docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=f"{repository}:release-fault", rm=True)
    subprocess.run(["git", "commit", "--quiet", "--allow-empty", "-m", "v1.0.1"], cwd=checkout, check=True)
    subprocess.run(["git", "tag", "v1.0.1"], cwd=checkout, check=True)
    try:
        with refusing_writes(registry.repository_storage(REPOSITORIES[1])):
            second = release(checkout, registry, records, values, "--local-tag", "release-fault")
    finally:
        for repository in REPOSITORIES:
            docker_client.images.remove(f"{repository}:release-fault", force=True)

    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-3000:]
    assert "release refused: pushing" in second.stderr and "Traceback" not in second.stderr
    assert "no moving tag (the date, latest) moved" in second.stderr
    phases = read_phases(records / "phases.json")
    assert phases["outcome"] == "refused" and phases["phases"][-1]["kind"] == "push"
    assert phases["phases"][-1]["outcome"] == "failed" and REPOSITORIES[1] in phases["phases"][-1]["name"]
    assert {repository: tag_digest(registry, repository, "latest") for repository in REPOSITORIES} == latest
    assert values.read_text() == values_after_first
    assert not (records / "1.0.1").exists()


def test_the_chart_workflow_deploys_the_images_it_pushed_by_their_digests(registry, built, tmp_path):
    """scripts/chart-images.sh, as .github/workflows/chart.yml runs it: push, then Helm values by digest."""
    import yaml

    values_file = tmp_path / "images.yaml"
    subprocess.run([ROOT / "scripts" / "chart-images.sh", registry.address, values_file], check=True, timeout=900)
    values = yaml.safe_load(values_file.read_text())
    notebook, hub, proxy = REPOSITORIES
    where = {"hub": (values["hub"], hub), "singleuser": (values["singleuser"], notebook)}
    where["proxy.chp"] = (values["proxy"]["chp"], proxy)
    for section, (place, repository) in where.items():
        image = place["image"]
        assert image["name"] == f"{registry.address}/{repository}"
        tag, _, digest = image["tag"].partition("@")
        assert tag == LOCAL_TAG and digest == tag_digest(registry, repository, LOCAL_TAG), section


def published_images(published: Published) -> dict:
    (manifest_path,) = published.records.glob("*/manifest.json")
    return json.loads(manifest_path.read_text())["images"]


def test_each_published_image_has_its_sbom_attached_to_its_digest(registry, published):
    api = RegistryAPI(registry.address)
    for key, image in published_images(published).items():
        document = sbom.fetch(api, image["repository"], image["digest"])
        assert document["bomFormat"] == "CycloneDX" and document["metadata"]["component"]["version"] == image["digest"]
        assert sbom.differences(document, image["digest"], image) == [], key
        by_purl = {c["purl"]: c for c in document["components"]}
        if key == "hub":
            jupyterhub = by_purl[f"pkg:pypi/jupyterhub@{pins(HUB_LOCK)['jupyterhub']}"]
            (reference,) = jupyterhub["externalReferences"]
            assert {h["content"] for h in reference["hashes"]} == hashes(HUB_LOCK)["jupyterhub"]
        assert any(purl.startswith(("pkg:deb/debian/", "pkg:apk/alpine/")) for purl in by_purl), "its system's packages"
        if key == "proxy":
            assert any(purl.startswith("pkg:npm/configurable-http-proxy@") for purl in by_purl), "the proxy itself"


def test_a_broken_sbom_fails_the_verify_step(registry, published):
    """An SBOM that lists a package the image does not have, or misses one, is refused by verify."""
    image = published_images(published)["hub"]
    document = json.loads(
        sbom.build("hub", image["repository"], image["digest"], {**image, "python_packages": {"left-pad": "1.0"}})
    )
    sbom.attach(RegistryAPI(registry.address), image["repository"], image["digest"], json.dumps(document))
    ref = f"{registry.address}/{image['repository']}@{image['digest']}"
    target = Image("hub", ref, image["repository"], digest=image["digest"])
    with pytest.raises(ReleaseError, match=r"is not the image's:\n  missing: pkg:pypi/"):
        check_sbom(ReleaseRegistry(registry.address), target, ref)
