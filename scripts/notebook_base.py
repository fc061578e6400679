"""The images' upstream bases, by tag and digest: the newest datascience-notebook date tag, the chart's hub and proxy.

Jupyter Docker Stacks publish `quay.io/jupyter/datascience-notebook:<YYYY-MM-DD>` each
week. `jupyter/Dockerfile` pins one (`ARG BASE_IMAGE=<repository>:<tag>@<digest>`), and
`hub/Dockerfile` the chart's hub image (`ARG HUB_BASE_IMAGE=quay.io/jupyterhub/k8s-hub:<chart
version>@<digest>`), `proxy/Dockerfile` the chart's proxy image (`ARG
PROXY_BASE_IMAGE=quay.io/jupyterhub/configurable-http-proxy:<version>@<digest>`): a tag that
moves cannot change what we ship without a commit. The weekly
base-update workflow (.github/workflows/notebook-base.yml) runs

    python3 scripts/notebook_base.py update

which moves the notebook pin to the newest date tag the registry lists and every pin to the
digests the registry gives their tags (printing the notebook's tag, or nothing when nothing
moved); the workflow then builds and tests the images on them before proposing the change as
a pull request. Only quay.io's API is asked (this project's machine cannot reach it: CI can).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "jupyter" / "Dockerfile"
HUB_DOCKERFILE = Path(__file__).resolve().parents[1] / "hub" / "Dockerfile"
PROXY_DOCKERFILE = Path(__file__).resolve().parents[1] / "proxy" / "Dockerfile"
PIN = re.compile(
    r"^ARG (?P<arg>BASE_IMAGE|HUB_BASE_IMAGE|PROXY_BASE_IMAGE)=(?P<repository>[^:\s]+):(?P<tag>[^@\s]+)"
    r"(@(?P<digest>sha256:[0-9a-f]{64}))?$",
    re.MULTILINE,
)
DATE_TAG = re.compile(r"\d{4}-\d{2}-\d{2}")
QUAY_TAGS = "https://quay.io/api/v1/repository/{path}/tag/?onlyActiveTags=true&limit=100&page={page}"


def pinned(dockerfile: str) -> tuple[str, str]:
    """(repository, tag) of the base's `ARG ...=` line."""
    match = PIN.search(dockerfile)
    if not match:
        raise ValueError("no `ARG BASE_IMAGE=<repository>:<tag>[@<digest>]` line")
    return match["repository"], match["tag"]


def pinned_digest(dockerfile: str) -> str | None:
    """The digest of the base's `ARG ...=` line, or None when it has none."""
    match = PIN.search(dockerfile)
    return match["digest"] if match else None


def with_pin(dockerfile: str, tag: str, digest: str | None) -> str:
    """The Dockerfile with its base moved to ``tag`` at ``digest``, nothing else changed."""
    match = PIN.search(dockerfile)
    if match is None:
        raise ValueError("no `ARG BASE_IMAGE=<repository>:<tag>[@<digest>]` line")
    if digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ValueError(f"{digest!r} is not a sha256 digest")
    pin = f"ARG {match['arg']}={match['repository']}:{tag}" + (f"@{digest}" if digest else "")
    return PIN.sub(pin, dockerfile, count=1)


def with_tag(dockerfile: str, tag: str, digest: str | None = None) -> str:
    """The notebook Dockerfile with its base moved to ``tag`` (a date tag) at ``digest``."""
    if not DATE_TAG.fullmatch(tag):
        raise ValueError(f"{tag!r} is not a date tag (YYYY-MM-DD)")
    return with_pin(dockerfile, tag, digest)


def newest_date_tag(tags) -> str | None:
    """The latest YYYY-MM-DD among ``tags`` (others, like `latest` or `python-3.13`, ignored)."""
    dates = [tag for tag in tags if DATE_TAG.fullmatch(tag)]
    return max(dates, default=None)


def registry_tags(repository: str) -> dict[str, str]:
    """Every active tag of a quay.io repository and the digest of its manifest, through quay's API."""
    host, _, path = repository.partition("/")
    if host != "quay.io":
        raise ValueError(f"{repository}: only quay.io repositories are listed")
    tags, page = {}, 1
    while True:
        with urllib.request.urlopen(QUAY_TAGS.format(path=path, page=page), timeout=60) as answer:
            listing = json.load(answer)
        tags |= {tag["name"]: tag.get("manifest_digest") for tag in listing.get("tags", [])}
        if not listing.get("has_additional"):
            return tags
        page += 1


def update(dockerfile: Path = DOCKERFILE, tags: dict[str, str] | None = None) -> str | None:
    """Move the pin to the newest date tag at its digest; return the tag, or None when neither moved."""
    text = dockerfile.read_text()
    repository, current = pinned(text)
    tags = registry_tags(repository) if tags is None else tags
    newest = max(newest_date_tag(tags) or "", current) if current in tags else newest_date_tag(tags)
    if not newest:
        raise SystemExit(f"{repository} lists no date tag: is the repository right?")
    if newest < current or (newest == current and pinned_digest(text) == tags.get(current)):
        return None
    dockerfile.write_text(with_tag(text, newest, tags.get(newest)))
    return newest


def pin_digest(dockerfile: Path = HUB_DOCKERFILE, tags: dict[str, str] | None = None) -> str | None:
    """Pin the base's own tag to the digest the registry gives it; return the digest if it changed."""
    text = dockerfile.read_text()
    repository, tag = pinned(text)
    digest = (registry_tags(repository) if tags is None else tags).get(tag)
    if digest is None:
        raise SystemExit(f"{repository} has no tag {tag}")
    if digest == pinned_digest(text):
        return None
    dockerfile.write_text(with_pin(text, tag, digest))
    return digest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["show", "update"])
    args = parser.parse_args(argv)
    if args.command == "show":
        print(":".join(pinned(DOCKERFILE.read_text())))
        return 0
    moved = False
    for dockerfile in (HUB_DOCKERFILE, PROXY_DOCKERFILE):  # the chart's images: their tags, at new digests
        digest = pin_digest(dockerfile)
        if digest:
            print(f"{':'.join(pinned(dockerfile.read_text()))} is at {digest}", file=sys.stderr)
            moved = True
    newest = update() or (pinned(DOCKERFILE.read_text())[1] if moved else None)
    if newest:
        print(newest)
        if os.environ.get("GITHUB_OUTPUT"):
            with open(os.environ["GITHUB_OUTPUT"], "a") as output:
                output.write(f"tag={newest}\n")
    else:
        print(f"{':'.join(pinned(DOCKERFILE.read_text()))} is the newest date tag", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
