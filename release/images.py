"""The release's two images: what they are locally, and what is inside them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from release import run
from release.tags import Tags

INSPECTOR = Path(__file__).with_name("inspect_image.py")


@dataclass
class Image:
    """One image of the release."""

    key: str  # notebook | hub
    local: str  # the built image, e.g. blsq/openhexa-base-notebook:dev
    repository: str  # e.g. blsq/openhexa-base-notebook
    describes: tuple[str, ...] = ("python", "lab", "hub")  # the versions its tags name
    tags: Tags | None = None
    digest: str = ""
    sbom: str = ""  # the digest of its SBOM artifact in the registry
    info: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The repository without its prefix: openhexa-base-notebook."""
        return self.repository.rsplit("/", 1)[-1]


def release_images(prefix: str, local_tag: str) -> list[Image]:
    """The notebook image and the hub image, as `make build` names them."""
    notebook, hub = f"{prefix}openhexa-base-notebook", f"{prefix}openhexa-jupyterhub"
    return [
        Image("notebook", f"{notebook}:{local_tag}", notebook),
        Image("hub", f"{hub}:{local_tag}", hub, describes=("python", "hub")),
    ]


def look_inside(local: str) -> dict:
    """inspect_image.py run in the image (no network, on its own Python): what it carries."""
    output = run(
        "docker", "run", "--rm", "-i", "--network", "none", "--entrypoint", "python3", local, "-",
        stdin=INSPECTOR.read_text(),
    )  # fmt: skip
    return json.loads(output.splitlines()[-1])


def image_id(local: str) -> str:
    return run("docker", "image", "inspect", "--format", "{{.Id}}", local)


def described(local: str, inside: dict) -> dict:
    """An image's facts for the manifest: its size, its base, what is inside."""
    base_label = '{{index .Config.Labels "org.openhexa.base"}}'
    return {
        "size_bytes": int(run("docker", "image", "inspect", "--format", "{{.Size}}", local)),
        "base": run("docker", "image", "inspect", "--format", base_label, local),
        **inside,
    }
