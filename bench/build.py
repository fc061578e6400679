"""Image builds: cold and warm build time of each image, image sizes, the OpenHexa layer's size.

Cold is ``NO_CACHE=1`` (every Dockerfile step runs again, as the weekly rebuild does). The next
plain build is timed apart as "after cold": BuildKit does not reuse what a ``--no-cache`` build
copied (moby/buildkit#4437), so it runs the ``COPY`` steps and all after them again. Warm is the
build after that, every step cached: a developer's usual rebuild. All build under ``TAG=bench``,
so the ``dev`` images the tests use are never touched; the offline base they share is rebuilt.
The Debian root filesystem of the offline base is made once and kept (it is rebuilt only when its
script changes), so a cold build here does not include debootstrap. Sizes come from the Docker
engine; the OpenHexa layer is an image's size minus that of the base it was built on (its
``org.openhexa.base`` label: upstream or the offline base).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import docker

from bench.commands import dry_run, run_timed, stand_in
from harness import ROOT

IMAGES = {
    "notebook": ("scripts/build-notebook.sh", "openhexa-base-notebook"),
    "hub": ("scripts/build-hub.sh", "openhexa-jupyterhub"),
}
TAG = "bench"
KINDS = (("cold", True), ("after_cold", False), ("warm", False))  # (kind, NO_CACHE)


def build_env(no_cache: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "NO_CACHE")}
    env["TAG"] = TAG
    if no_cache:
        env["NO_CACHE"] = "1"
    return env


def build_once(key: str, kind: str, no_cache: bool, logs: Path) -> dict:
    script, name = IMAGES[key]
    command = [str(ROOT / script)]
    if dry_run():
        command = stand_in(f"building {name}:{TAG}", f"built {name}:{TAG}")
    return run_timed(command, logs / f"build-{key}-{kind}.log", ROOT, build_env(no_cache)).to_json()


def sizes(prefix: str, tag: str) -> dict:
    """Each image's size and its base's; the hub's ``-local`` variant too."""
    client = docker.from_env()
    found = {}
    refs = {
        "notebook": f"{prefix}openhexa-base-notebook:{tag}",
        "hub": f"{prefix}openhexa-jupyterhub:{tag}",
        "hub-local": f"{prefix}openhexa-jupyterhub:{tag}-local",
    }
    for key, ref in refs.items():
        with contextlib.suppress(docker.errors.ImageNotFound):
            image = client.images.get(ref)
            base = (image.labels or {}).get("org.openhexa.base", "")
            entry = {"image": ref, "size_mb": round(image.attrs["Size"] / 1e6), "base": base}
            with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                base_size = client.images.get(base).attrs["Size"] if base else None
                if base_size:
                    entry["base_size_mb"] = round(base_size / 1e6)
                    entry["openhexa_layer_mb"] = round((image.attrs["Size"] - base_size) / 1e6)
            found[key] = entry
    return found


def run(logs: Path, log) -> dict:
    """The `build` part: each image cold, after cold, then warm, and the sizes of what was built."""
    prefix = os.environ.get("IMAGE_PREFIX", "blsq/")
    result: dict = {"tag": TAG, "dry_run": dry_run(), "builds": {}}
    for kind, no_cache in KINDS:
        for key in IMAGES:
            timed = build_once(key, kind, no_cache, logs)
            result["builds"].setdefault(key, {})[kind] = timed
            log(f"  {key} {kind}: {timed['seconds']}s (exit {timed['status']})")
    result["total"] = {
        kind: round(sum(result["builds"][key][kind]["seconds"] for key in IMAGES), 1) for kind, _ in KINDS
    }
    # In a dry run nothing was built under TAG=bench: the sizes are those of the dev images.
    result["sizes"] = sizes(prefix, os.environ.get("TAG", "dev") if dry_run() else TAG)
    return result
