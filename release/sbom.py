"""A CycloneDX SBOM of each published image, made from the image itself, attached to it in the registry.

Its components are what ``inspect_image.py`` (the proxy image: ``images.PROXY_INSPECTOR``) finds
inside the image: every Python distribution, Debian or Alpine package and npm package, each with
its package URL and version, and, where the project's locks know the release
(``hub/requirements-local.lock``, ``jupyter/requirements.lock``, ``package-lock.json``), the sha256
(Python) or sha512 (npm) of its files. It is built and written with cyclonedx-python-lib, pushed as
an OCI artifact (``application/vnd.cyclonedx+json``) whose subject is the image's digest
(release/oci.py), and the verify step pulls it back and checks it against the image pulled by that
digest.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from harness.locks import canonical, hashes, pins
from release import ROOT, ReleaseError
from release.oci import RegistryAPI, digest_of

MEDIA_TYPE = "application/vnd.cyclonedx+json"
PYTHON_LOCKS = {  # the locks whose files an image's Python packages come from, by image key
    "hub": (ROOT / "hub" / "requirements-local.lock",),
    "notebook": (ROOT / "jupyter" / "requirements.lock",),
}
NPM_LOCK = ROOT / "package-lock.json"


def python_hashes(key: str) -> dict[tuple[str, str], set[str]]:
    """(name, version) -> sha256 digests the image's locks allow."""
    found: dict[tuple[str, str], set[str]] = {}
    for lock in PYTHON_LOCKS.get(key, ()):
        if lock.exists():
            versions, digests = pins(lock), hashes(lock)
            for name, version in versions.items():
                found.setdefault((name, version), set()).update(digests.get(name, ()))
    return found


def npm_hashes(lock: Path = NPM_LOCK) -> dict[tuple[str, str], str]:
    """(name, version) -> the hex sha512 package-lock.json's integrity gives."""
    found = {}
    for path, package in json.loads(lock.read_text()).get("packages", {}).items():
        integrity = package.get("integrity", "")
        if path and integrity.startswith("sha512-") and "version" in package:
            name = path.rsplit("node_modules/", 1)[-1]
            found[(name, package["version"])] = base64.b64decode(integrity[len("sha512-") :]).hex()
    return found


def expected_purls(inside: dict) -> set[str]:
    """The package URLs an image's SBOM must list: one per package found inside it (the proxy image
    has no Python, and Alpine's packages where the chart's image is Alpine)."""
    arch = inside.get("debian_architecture")
    python = inside.get("python_packages", {})
    purls = {str(PackageURL("pypi", name=canonical(n), version=v)) for n, v in python.items()}
    purls |= {
        str(PackageURL("deb", "debian", n, v, qualifiers={"arch": arch} if arch else None))
        for n, v in inside.get("debian_packages", {}).items()
    }
    purls |= {str(PackageURL("apk", "alpine", n, v)) for n, v in inside.get("alpine_packages", {}).items()}
    if inside.get("chp"):  # the proxy image's configurable-http-proxy itself, beside its modules
        purls.add(str(PackageURL("npm", None, "configurable-http-proxy", inside["chp"])))
    for name, version in [*inside.get("npm_packages", []), *inside.get("node_packages", {}).items()]:
        namespace, _, short = name.rpartition("/")
        purls.add(str(PackageURL("npm", namespace or None, short, version)))
    return purls


def build(key: str, repository: str, digest: str, inside: dict) -> str:
    """The image's SBOM (CycloneDX 1.6 JSON) from what ``inspect_image.py`` found inside it."""
    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"{repository}@{digest}"))
    bom.metadata.component = Component(
        type=ComponentType.CONTAINER,
        name=repository,
        version=digest,
        bom_ref=f"{repository}@{digest}",
        purl=PackageURL("oci", name=repository.rsplit("/", 1)[-1], version=digest),
    )
    py_hashes, js_hashes, components = python_hashes(key), npm_hashes(), []
    for purl in sorted(expected_purls(inside)):
        parsed = PackageURL.from_string(purl)
        name = f"{parsed.namespace}/{parsed.name}" if parsed.type == "npm" and parsed.namespace else parsed.name
        references = []
        if parsed.type == "pypi" and py_hashes.get((parsed.name, parsed.version)):
            digests = sorted(py_hashes[(parsed.name, parsed.version)])
            references.append(ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION,
                url=XsUri(f"https://pypi.org/project/{parsed.name}/{parsed.version}/"),
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=d) for d in digests],
            ))  # fmt: skip
        component_hashes = []
        if parsed.type == "npm" and (name, parsed.version) in js_hashes:
            component_hashes.append(HashType(alg=HashAlgorithm.SHA_512, content=js_hashes[(name, parsed.version)]))
        components.append(Component(
            type=ComponentType.LIBRARY, name=name, version=parsed.version, purl=parsed, bom_ref=purl,
            hashes=component_hashes, external_references=references,
        ))  # fmt: skip
    bom.components.update(components)
    bom.register_dependency(bom.metadata.component, components)  # what the image holds, not what needs what
    return JsonV1Dot6(bom).output_as_string(indent=1)


def differences(document: dict, digest: str, inside: dict) -> list[str]:
    """How an SBOM differs from the image at ``digest`` whose contents are ``inside``; empty when it is its SBOM."""
    found = []
    subject = document.get("metadata", {}).get("component", {})
    if subject.get("version") != digest:
        found.append(f"it describes {subject.get('version')!r}, not {digest}")
    listed = {component.get("purl") for component in document.get("components", [])}
    wanted = expected_purls(inside)
    found += [f"missing: {purl}" for purl in sorted(wanted - listed)]
    found += [f"not in the image: {purl}" for purl in sorted(listed - wanted)]
    return found


def attach(api: RegistryAPI, repository: str, reference: str, sbom: str) -> str:
    """Push ``sbom`` as an artifact referring to the manifest at ``reference``; its digest."""
    subject = api.descriptor(repository, reference)
    annotations = {"title": "sbom.cdx.json", "org.opencontainers.image.description": "CycloneDX SBOM"}
    return api.push_referrer(repository, subject, MEDIA_TYPE, sbom.encode(), annotations)


def fetch(api: RegistryAPI, repository: str, digest: str) -> dict:
    """The SBOM that refers to ``digest`` in the registry, checked to be what its manifest says."""
    listed = [m for m in api.referrers(repository, digest) if m.get("artifactType") == MEDIA_TYPE]
    if not listed:
        raise ReleaseError(f"{api.host}/{repository}@{digest} has no SBOM attached")
    found = api.manifest(repository, listed[-1]["digest"])
    if found is None:
        raise ReleaseError(f"the SBOM {listed[-1]['digest']} of {repository}@{digest} is gone")
    manifest = json.loads(found[0])
    if manifest.get("subject", {}).get("digest") != digest:
        raise ReleaseError(f"the SBOM {listed[-1]['digest']} does not refer to {digest}")
    (layer,) = manifest["layers"]
    data = api.blob(repository, layer["digest"])
    if digest_of(data) != layer["digest"]:
        raise ReleaseError(f"the SBOM of {repository}@{digest} does not match its digest")
    return json.loads(data)


def check(api: RegistryAPI, repository: str, digest: str, inside: dict) -> None:
    """The SBOM attached to ``digest`` lists exactly what is inside that image; else ReleaseError."""
    found = differences(fetch(api, repository, digest), digest, inside)
    if found:
        raise ReleaseError(f"the SBOM of {repository}@{digest} is not the image's:\n  " + "\n  ".join(found[:20]))
