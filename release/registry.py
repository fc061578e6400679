"""Where images go: which tags exist, pushing in order, digests, and local copies."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import requests

from release import ReleaseError, run
from release.images import Image
from release.oci import MANIFEST_TYPES

PINNED_STAGES = ("immutable", "described")
MOVING_STAGES = ("moving",)


@dataclass
class Registry:
    """REGISTRY, e.g. localhost:5000 or docker.io."""

    host: str

    @property
    def local(self) -> bool:
        return self.host.split(":")[0] in ("localhost", "127.0.0.1")

    def ref(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    def has_tag(self, repository: str, tag: str) -> bool:
        if self.local:
            url = f"http://{self.host}/v2/{repository}/manifests/{tag}"
            return requests.head(url, headers={"Accept": MANIFEST_TYPES}, timeout=30).status_code == 200
        probe = subprocess.run(["docker", "manifest", "inspect", self.ref(repository, tag)], capture_output=True)
        return probe.returncode == 0


def refuse_existing(registry: Registry, images: list[Image]) -> None:
    """Immutable tags are never overwritten: refuse before pushing anything."""
    taken = [
        registry.ref(image.repository, tag)
        for image in images
        for tag in image.tags.immutable
        if registry.has_tag(image.repository, tag)
    ]
    if taken:
        raise ReleaseError(
            "already published, and immutable: " + ", ".join(taken) + ". Tag a new version (vX.Y.Z) or commit."
        )


def publish(
    registry: Registry,
    images: list[Image],
    push: Callable[[str, str], None],
    stages: tuple[str, ...] = PINNED_STAGES + MOVING_STAGES,
    phases=None,
) -> list[str]:
    """Push every image's tags of ``stages``, in order; return the refs pushed.

    ``push(local, ref)`` tags and pushes one ref, a ``push`` phase of ``phases``
    (release.phases.Phases) when given. Moving tags wait until every immutable and
    descriptive tag of every image is published. A failed push stops the release,
    saying what was published and that nothing moved.
    """
    pushed = []
    for stage in stages:
        for image in images:
            for tag in getattr(image.tags, stage):
                ref = registry.ref(image.repository, tag)
                try:
                    if phases is None:
                        push(image.local, ref)
                    else:
                        with phases.phase("push", ref, f"pushing {ref}"):
                            push(image.local, ref)
                except ReleaseError as error:
                    raise ReleaseError(failed_push(ref, error, pushed, images)) from None
                pushed.append(ref)
    return pushed


def failed_push(ref: str, error: ReleaseError, pushed: list[str], images: list[Image]) -> str:
    """What a failed push leaves behind, for the person who runs the release."""
    moving = {tag for image in images for tag in image.tags.moving}
    moved = [r for r in pushed if r.rsplit(":", 1)[1] in moving]
    moved_line = f"moved before the failure: {', '.join(moved)}" if moved else "no moving tag (the date, latest) moved."
    return (
        f"pushing {ref} failed: {error}\npublished before the failure: {', '.join(pushed) or 'nothing'}\n{moved_line}"
    )


def docker_push(local: str, ref: str) -> None:
    run("docker", "tag", local, ref)
    run("docker", "push", ref, capture=False)


def digest_of(registry: Registry, image: Image, ref: str) -> str:
    """The digest ``ref`` has in ``registry``, as the local engine recorded it on pushing."""
    for repo_digest in json.loads(run("docker", "inspect", "--format", "{{json .RepoDigests}}", ref)):
        name, _, digest = repo_digest.partition("@")
        if name == f"{registry.host}/{image.repository}":
            return digest
    raise ReleaseError(f"no digest for {ref} after pushing it")


# -- local copies: what pushing and pulling leave in the engine ---------------------


def local_copies(host: str) -> list[str]:
    """Every reference in the local engine to an image of ``host`` (``host/...:tag`` or ``@digest``)."""
    ids = run("docker", "image", "ls", "--all", "--quiet", "--no-trunc").split()
    if not ids:
        return []
    found = []
    described = run(
        "docker", "image", "inspect", "--format", "{{json .RepoTags}}\t{{json .RepoDigests}}", *set(ids), check=False
    )
    for line in described.splitlines():
        tags, _, digests = line.partition("\t")
        for ref in (json.loads(tags) or []) + (json.loads(digests) or []):
            if ref.startswith(f"{host}/") and ref not in found:
                found.append(ref)
    return found


def forget_local_copies(host: str) -> list[str]:
    """Remove the containers of ``host``'s images and untag its references; return what is left."""
    containers = run("docker", "ps", "--all", "--format", "{{.ID}} {{.Image}}").splitlines()
    stale = [line.split()[0] for line in containers if line.split()[1:2] and line.split()[1].startswith(f"{host}/")]
    if stale:
        run("docker", "rm", "--force", *stale, check=False)
    for ref in local_copies(host):
        run("docker", "image", "rm", ref, check=False)
    return local_copies(host)
