"""An image's tags, one small function per tag, as Jupyter Docker Stacks' taggers.

Each tagger takes what is known of the release (``Context``) and returns its tag, or None
when it does not apply (``latest`` without a version, ``lab-x.y.z`` without JupyterLab).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

VERSION_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def version_of(git_tags: Iterable[str]) -> str | None:
    """The release version from the vX.Y.Z tags on HEAD (the highest), or None."""
    versions = [tuple(int(n) for n in m.groups()) for m in map(VERSION_TAG.match, git_tags) if m]
    return ".".join(map(str, max(versions))) if versions else None


@dataclass(frozen=True)
class Context:
    """What the tags are made of: the release and what one image carries."""

    version: str | None  # from a vX.Y.Z git tag on HEAD
    date: dt.date
    commit: str
    inside: dict  # python, lab, hub, chp: the versions the image carries (release/images.py)


def version_tag(c: Context) -> str | None:
    return c.version


def commit_tag(c: Context) -> str:
    return c.commit[:12]


def python_tag(c: Context) -> str | None:
    python = c.inside.get("python")
    return f"python-{'.'.join(python.split('.')[:2])}" if python else None


def lab_tag(c: Context) -> str | None:
    return f"lab-{c.inside['lab']}" if c.inside.get("lab") else None


def hub_tag(c: Context) -> str | None:
    return f"hub-{c.inside['hub']}" if c.inside.get("hub") else None


def chp_tag(c: Context) -> str | None:
    return f"chp-{c.inside['chp']}" if c.inside.get("chp") else None


def date_tag(c: Context) -> str:
    return c.date.isoformat()


def latest_tag(c: Context) -> str | None:
    return "latest" if c.version else None


Tagger = Callable[[Context], "str | None"]
IMMUTABLE: tuple[Tagger, ...] = (version_tag, commit_tag)  # never overwritten
DESCRIBED: dict[str, Tagger] = {"python": python_tag, "lab": lab_tag, "hub": hub_tag, "chp": chp_tag}  # what is inside
MOVING: tuple[Tagger, ...] = (date_tag, latest_tag)  # point at the newest


@dataclass(frozen=True)
class Tags:
    """An image's tags, in the order they are pushed."""

    immutable: tuple[str, ...]  # never overwritten: the version, the commit
    described: tuple[str, ...]  # what is inside: python-3.x, lab-x.y.z, hub-x.y.z, chp-x.y.z
    moving: tuple[str, ...]  # point at the newest: the date, latest

    def in_push_order(self) -> list[str]:
        return [*self.immutable, *self.described, *self.moving]


def applied(taggers: Iterable[Tagger], context: Context) -> tuple[str, ...]:
    return tuple(tag for tag in (tagger(context) for tagger in taggers) if tag)


def compute_tags(
    version: str | None, date: dt.date, commit: str, inside: dict, describes=("python", "lab", "hub")
) -> Tags:
    """Docker Stacks' tags for one image; ``inside`` maps python/lab/hub/chp to the versions it carries.

    ``describes`` says which of them name the image: the hub image carries no
    JupyterLab of its own in production, so it is not tagged lab-x.y.z; the proxy
    image is tagged with its configurable-http-proxy only (chp-x.y.z).
    """
    context = Context(version, date, commit, inside)
    return Tags(
        applied(IMMUTABLE, context),
        applied((DESCRIBED[key] for key in describes), context),
        applied(MOVING, context),
    )
