"""The release gate: wall time of `make release` from a fresh clone (cold) and again (warm).

The clone is of HEAD (what is committed), in a temporary folder: a fresh ``.venv`` and
``node_modules`` (``make setup``), then ``scripts/release.py`` into a throwaway registry on a free
port, with the images built ``NO_CACHE=1`` under ``TAG=bench``. The warm release is the same
again in the same clone, into a second throwaway registry (the commit's tags are immutable), with
the caches now warm: between the two, a plain ``make build`` (timed apart) makes BuildKit's cache
whole again, as a developer's next build does, since BuildKit does not reuse what a ``--no-cache``
build copied (moby/buildkit#4437). Manifests and chart values go to temporary files, so the clone stays clean.
Per-tier times come from release.py's own ``==>`` lines: building, each tier, pushing, verifying.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from pathlib import Path

import docker

from bench.build import TAG, build_env
from bench.commands import dry_run, phases_of, run_timed, stand_in
from harness import ROOT
from harness.net import free_port

DRY_MARKERS = (
    "releasing 0123456789ab to 127.0.0.1:5999",
    "building the images",
    "tier lint",
    "tier test-unit",
    "tier test-image",
    "tier test-e2e",
    "pushing 127.0.0.1:5999/blsq/openhexa-base-notebook:0123456789ab",
    "pushing 127.0.0.1:5999/blsq/openhexa-jupyterhub:0123456789ab",
    "verifying 127.0.0.1:5999/blsq/openhexa-base-notebook@sha256:00",
    "published",
)
# The markers scripts/release.py prints itself (its say()), by kind; a tier's kind is its name.
RELEASE_MARKER = re.compile(
    r"(?P<start>releasing \S+ to .+)|(?P<build>building the images)|tier (?P<tier>\S+)"
    r"|(?P<push>pushing \S+)|(?P<verify>verifying \S+)|(?P<end>published)"
)


def group_phases(phases: list[dict]) -> dict[str, float]:
    """release.py's phases by kind: build, each tier, push, verify; and the gate (build + tiers).

    A phase runs from one of release.py's own markers to its next one. The build scripts' markers
    printed in between (``make build``, and each tier's ``make <tier>`` builds first) are nested in
    that phase: they neither end it nor start one of their own.
    """
    end = phases[-1]["at"] + phases[-1]["seconds"] if phases else 0.0
    own = [(phase["at"], phase["phase"]) for phase in phases if RELEASE_MARKER.fullmatch(phase["phase"])]
    grouped: dict[str, float] = {}
    for name, _, seconds in phases_of(own, end):
        match = RELEASE_MARKER.fullmatch(name)
        key = match.group("tier") or match.lastgroup
        if key not in ("start", "end"):
            grouped[key] = round(grouped.get(key, 0.0) + seconds, 1)
    grouped["gate"] = round(sum(v for k, v in grouped.items() if k not in ("push", "verify")), 1)
    return grouped


@contextlib.contextmanager
def throwaway_registry(data: Path):
    """scripts/registry.sh on a free port with its data in ``data``; always stopped."""
    address = f"127.0.0.1:{free_port()}"
    subprocess.run([str(ROOT / "scripts" / "registry.sh"), "start", address, str(data)], check=True, timeout=300)
    try:
        yield address
    finally:
        subprocess.run([str(ROOT / "scripts" / "registry.sh"), "stop", str(data)], timeout=60)
        remove_pushed_tags(address)


def remove_pushed_tags(address: str) -> None:
    """Untag the local copies of what was pushed to ``address`` (tagged ``address/...``)."""
    with contextlib.suppress(Exception):
        client = docker.from_env()
        for image in client.images.list():
            for ref in image.tags:
                if ref.startswith(f"{address}/"):
                    with contextlib.suppress(docker.errors.APIError):
                        client.images.remove(ref)


def release_once(clone: Path, work: Path, kind: str, logs: Path) -> dict:
    """`make setup docker-up` then release.py into a new throwaway registry; timed."""
    no_cache = kind == "cold"
    env = build_env(no_cache)
    setup = ["make", "setup", "docker-up"]
    with throwaway_registry(work / f"registry-{kind}") as address:
        values = work / f"values-{kind}.yaml"
        shutil.copy(clone / "chart-values" / "values.yaml", values)
        release = [
            str(clone / ".venv" / "bin" / "python"), "scripts/release.py", "--registry", address,
            "--records", str(work / f"records-{kind}"), "--values", str(values),
        ]  # fmt: skip
        if dry_run():
            setup, release = stand_in("setup (dry run)"), stand_in(*DRY_MARKERS)
        set_up = run_timed(setup, logs / f"release-{kind}.log", clone, env).to_json()
        published = run_timed(release, logs / f"release-{kind}.log", clone, env).to_json()
    return {
        "setup": set_up,
        "release": published,
        "phases": group_phases(published["phases"]),
        "make_release_seconds": round(set_up["seconds"] + published["seconds"], 1),
        "ok": set_up["status"] == 0 and published["status"] == 0,
    }


def run(work: Path, logs: Path, log) -> dict:
    """The `release` part: a fresh clone of HEAD, released cold then warm."""
    clone = work / "clone"
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=300)
    result: dict = {"commit": commit, "tag": TAG, "dry_run": dry_run()}
    for kind in ("cold", "warm"):
        if kind == "warm":
            rebuild = stand_in("build (dry run)") if dry_run() else ["make", "build"]
            result["rebuild_after_cold"] = run_timed(
                rebuild, logs / "release-rebuild.log", clone, build_env(False)
            ).to_json()
            log(f"  the build after the cold release: {result['rebuild_after_cold']['seconds']}s")
        result[kind] = release_once(clone, work, kind, logs)
        log(f"  release {kind}: {result[kind]['make_release_seconds']}s, phases {result[kind]['phases']}")
    return result
