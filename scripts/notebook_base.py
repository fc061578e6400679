"""The notebook image's upstream base: which datascience-notebook date tag is newest.

Jupyter Docker Stacks publish `quay.io/jupyter/datascience-notebook:<YYYY-MM-DD>` each
week. `jupyter/Dockerfile` pins one (`ARG BASE_IMAGE=...`); the weekly base-update
workflow (.github/workflows/notebook-base.yml) runs

    python3 scripts/notebook_base.py update

which moves the pin to the newest date tag the registry lists (and prints it, or
nothing when the pin is already the newest); the workflow then builds and tests the
image on it before proposing the change as a pull request.
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
PIN = re.compile(r"^ARG BASE_IMAGE=(?P<repository>[^:\s]+):(?P<tag>\S+)$", re.MULTILINE)
DATE_TAG = re.compile(r"\d{4}-\d{2}-\d{2}")
QUAY_TAGS = "https://quay.io/api/v1/repository/{path}/tag/?onlyActiveTags=true&limit=100&page={page}"


def pinned(dockerfile: str) -> tuple[str, str]:
    """(repository, tag) of the `ARG BASE_IMAGE=` line."""
    match = PIN.search(dockerfile)
    if not match:
        raise ValueError("jupyter/Dockerfile has no `ARG BASE_IMAGE=<repository>:<tag>` line")
    return match["repository"], match["tag"]


def with_tag(dockerfile: str, tag: str) -> str:
    """The Dockerfile with its base moved to ``tag`` (a date tag), nothing else changed."""
    if not DATE_TAG.fullmatch(tag):
        raise ValueError(f"{tag!r} is not a date tag (YYYY-MM-DD)")
    repository, _ = pinned(dockerfile)
    return PIN.sub(f"ARG BASE_IMAGE={repository}:{tag}", dockerfile, count=1)


def newest_date_tag(tags) -> str | None:
    """The latest YYYY-MM-DD among ``tags`` (others, like `latest` or `python-3.13`, ignored)."""
    dates = [tag for tag in tags if DATE_TAG.fullmatch(tag)]
    return max(dates, default=None)


def registry_tags(repository: str) -> list[str]:
    """Every active tag of a quay.io repository, through quay's API."""
    host, _, path = repository.partition("/")
    if host != "quay.io":
        raise ValueError(f"{repository}: only quay.io repositories are listed")
    tags, page = [], 1
    while True:
        with urllib.request.urlopen(QUAY_TAGS.format(path=path, page=page), timeout=60) as answer:
            listing = json.load(answer)
        tags += [tag["name"] for tag in listing.get("tags", [])]
        if not listing.get("has_additional"):
            return tags
        page += 1


def update(dockerfile: Path = DOCKERFILE, tags=None) -> str | None:
    """Move the pin to the newest date tag; return it, or None if the pin is the newest."""
    text = dockerfile.read_text()
    repository, current = pinned(text)
    newest = newest_date_tag(registry_tags(repository) if tags is None else tags)
    if newest is None:
        raise SystemExit(f"{repository} lists no date tag: is the repository right?")
    if newest <= current:
        return None
    dockerfile.write_text(with_tag(text, newest))
    return newest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["show", "update"])
    args = parser.parse_args(argv)
    if args.command == "show":
        print(":".join(pinned(DOCKERFILE.read_text())))
        return 0
    newest = update()
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
