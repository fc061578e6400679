"""The release gate: wall time of `make release` from a fresh clone (cold) and again (warm).

The clone is of HEAD (what is committed), in a temporary folder: a fresh ``.venv`` and
``node_modules`` (``make setup``), then ``python -m release`` into a throwaway registry on a free
port, with the images built ``NO_CACHE=1`` under ``TAG=bench``. The warm release is the same
again in the same clone, into a second throwaway registry (the commit's tags are immutable), with
the caches now warm: between the two, a plain ``make build`` (timed apart) makes BuildKit's cache
whole again, as a developer's next build does, since BuildKit does not reuse what a ``--no-cache``
build copied (moby/buildkit#4437). Manifests and chart values go to temporary files, so the clone stays clean.
Per-tier times come from the phases the release records itself (``--phases``, JSON; see
release/phases.py): building, each tier, looking inside the images, pushing, verifying.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.build import TAG, build_env
from bench.commands import dry_run, run_timed, stand_in
from harness import ROOT
from harness.net import free_port
from release import phases as release_phases
from release.registry import forget_local_copies

DRY_MARKERS = (
    "releasing 0123456789ab to 127.0.0.1:5999",
    "building the images",
    "tier lint",
    "tier test-unit",
    "tier test-hub",
    "tier test-image",
    "tier test-chart",
    "tier test-e2e",
    "pushing 127.0.0.1:5999/blsq/openhexa-base-notebook:0123456789ab",
    "pushing 127.0.0.1:5999/blsq/openhexa-jupyterhub:0123456789ab",
    "verifying 127.0.0.1:5999/blsq/openhexa-base-notebook@sha256:00",
    "published",
)
# What a dry run's stand-in release records: a phase per marker above, a tenth of a second each.
DRY_PHASES = (
    ("build", "build"), ("tier", "lint"), ("tier", "test-unit"), ("tier", "test-hub"), ("tier", "test-image"),
    ("tier", "test-chart"), ("tier", "test-e2e"),
    ("push", "127.0.0.1:5999/blsq/openhexa-base-notebook:0123456789ab"),
    ("push", "127.0.0.1:5999/blsq/openhexa-jupyterhub:0123456789ab"),
    ("verify", "blsq/openhexa-base-notebook"),
)  # fmt: skip
GATE_KINDS = ("build", "tier")


def group_phases(record: dict | None) -> dict[str, float]:
    """The release's recorded phases by kind: build, each tier (by its name), inspect, push, verify,
    record; and the gate (the build and the tiers). None (no record) is an empty gate."""
    phases = (record or {}).get("phases", [])
    totals: dict[str, float] = {}
    for phase in phases:
        key = phase["name"] if phase["kind"] == "tier" else phase["kind"]
        totals[key] = totals.get(key, 0.0) + phase["seconds"]
    grouped = {key: round(seconds, 1) for key, seconds in totals.items()}
    grouped["gate"] = round(sum(phase["seconds"] for phase in phases if phase["kind"] in GATE_KINDS), 1)
    return grouped


def read_phases(path: Path) -> dict | None:
    """The phases a release recorded at ``path``; None when it recorded none (it did not start)."""
    try:
        return release_phases.read(path)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_dry_phases(path: Path) -> None:
    """What a dry run's stand-in release would have recorded."""
    record = {"started": "dry run", "outcome": "published", "phases": []}
    for kind, name in DRY_PHASES:
        entry = {"name": name, "kind": kind, "start": "dry run", "end": "dry run", "seconds": 0.1, "outcome": "passed"}
        record["phases"].append(entry)
    path.write_text(json.dumps(record, indent=2) + "\n")


@contextlib.contextmanager
def throwaway_registry(data: Path):
    """scripts/registry.sh on a free port with its data in ``data``; always stopped, and the local
    copies of what was pushed to it or pulled from it (``127.0.0.1:<port>/...``) removed."""
    address = f"127.0.0.1:{free_port()}"
    subprocess.run([str(ROOT / "scripts" / "registry.sh"), "start", address, str(data)], check=True, timeout=300)
    try:
        yield address
    finally:
        subprocess.run([str(ROOT / "scripts" / "registry.sh"), "stop", str(data)], timeout=60)
        with contextlib.suppress(Exception):  # no Docker in a dry run
            forget_local_copies(address)


def release_once(clone: Path, work: Path, kind: str, logs: Path) -> dict:
    """`make setup docker-up` then `python -m release` into a new throwaway registry; timed."""
    no_cache = kind == "cold"
    env = build_env(no_cache)
    setup = ["make", "setup", "docker-up"]
    phases_file = work / f"phases-{kind}.json"
    phases_file.unlink(missing_ok=True)
    chart_gated = bool(os.environ.get("Z2JH_CHART_DIR"))
    with throwaway_registry(work / f"registry-{kind}") as address:
        values = work / f"values-{kind}.yaml"
        shutil.copy(clone / "chart-values" / "values.yaml", values)
        release = [
            str(clone / ".venv" / "bin" / "python"), "-m", "release", "--registry", address,
            "--records", str(work / f"records-{kind}"), "--values", str(values), "--phases", str(phases_file),
        ]  # fmt: skip
        if not chart_gated:  # the chart-config tier needs the chart's files (Z2JH_CHART_DIR): timed without it
            release.append("--allow-no-chart")
        if dry_run():
            setup, release = stand_in("setup (dry run)"), stand_in(*DRY_MARKERS)
        set_up = run_timed(setup, logs / f"release-{kind}.log", clone, env).to_json()
        published = run_timed(release, logs / f"release-{kind}.log", clone, env).to_json()
        if dry_run():
            write_dry_phases(phases_file)
    return {
        "setup": set_up,
        "release": published,
        "phases": group_phases(read_phases(phases_file)),
        "make_release_seconds": round(set_up["seconds"] + published["seconds"], 1),
        "chart_gated": chart_gated,
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
