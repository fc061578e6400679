"""Step 1: a clean tree, the images built and every tier passed; and the record of what passed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.chart import chart_dir_from_env, chart_pin
from release import ROOT, ReleaseError, run
from release.images import Image, image_id

TIERS = ("lint", "test-unit", "test-hub", "test-image", "test-chart", "test-e2e")  # make tiers, in its order
CHART_TIER = "test-chart"  # the tier that runs hubs on the chart's own hub configuration (Z2JH_CHART_DIR)
CHART_FILES = ("jupyterhub_config.py", "z2jh.py")  # the chart's files/hub/: its hub configuration
GATE_RECORD = "gate.json"


def check_clean_tree(status: str, allow_dirty: bool) -> None:
    """Refuse uncommitted changes: what is published must be a commit anyone can check out."""
    if status.strip() and not allow_dirty:
        raise ReleaseError(
            "the work tree has uncommitted changes, so the images would not match any commit:\n"
            f"{status.rstrip()}\nCommit or stash them, or run with ALLOW_DIRTY=1 to publish them anyway."
        )


def chart_under_test(allow_no_chart: bool) -> dict:
    """The chart whose own hub configuration the gate runs (Z2JH_CHART_DIR): its version and the
    sha256 of each of its hub files. Without it the release is refused, unless ``allow_no_chart``
    (ALLOW_NO_CHART=1): then the chart-config tier does not run and the record says so."""
    pin = chart_pin()
    folder, missing = chart_dir_from_env()
    if folder is None:
        if not allow_no_chart:
            raise ReleaseError(
                f"the gate runs hubs on the chart's own hub configuration (make {CHART_TIER}): {missing}. "
                "ALLOW_NO_CHART=1 releases without that tier, and the manifest says so; nothing was pushed"
            )
        return {"name": pin["name"], "version": pin["version"], "gated": False, "why": missing}
    version = yaml.safe_load((folder / "Chart.yaml").read_text())["version"]
    if version != pin["version"]:
        raise ReleaseError(f"Z2JH_CHART_DIR holds chart {version}; chart-values/chart.yaml pins {pin['version']}")
    digests = {name: hashlib.sha256((folder / "files" / "hub" / name).read_bytes()).hexdigest() for name in CHART_FILES}
    return {"name": pin["name"], "version": version, "gated": True, "sha256": digests}


@dataclass
class TierResult:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def ran(self) -> int:
        return self.passed + self.failed


def read_junit(name: str, path: Path) -> TierResult:
    """Count a pytest tier's results from its JUnit XML."""
    result = TierResult(name)
    if not path.exists():
        return result
    for suite in ElementTree.parse(path).getroot().iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        result.failed += failed
        result.skipped += skipped
        result.passed += tests - skipped - failed
    return result


def check_tiers(results: Iterable[TierResult]) -> None:
    """Every tier ran tests and none failed."""
    for result in results:
        if result.failed:
            raise ReleaseError(f"tier {result.name}: {result.failed} test(s) failed; nothing was pushed")
        if not result.ran:
            raise ReleaseError(f"tier {result.name} ran no test (skipped or empty); nothing was pushed")


def gate(artifacts: Path, phases, chart: dict | None = None) -> list[TierResult]:
    """Build, then run every tier (each a phase of ``phases``); stop at the first that fails or runs nothing.
    ``chart``: :func:`chart_under_test`'s; the chart-config tier runs only when it is gated."""
    with phases.phase("build", "build", "building the images"):
        run("make", "build", capture=False)
    # The tiers' own `build` prerequisite reuses what was just built: NO_CACHE=1 is for that build only.
    tier_env = {name: value for name, value in os.environ.items() if name != "NO_CACHE"}
    results = []
    for tier in TIERS:
        if tier == CHART_TIER and chart is not None and not chart["gated"]:
            continue
        with phases.phase("tier", tier, f"tier {tier}"):
            report = artifacts / f"{tier}.xml"
            report.unlink(missing_ok=True)
            args = [] if tier == "lint" else [f"PYTEST_ARGS=--junitxml={report}"]
            status = subprocess.run(["make", tier, *args], cwd=ROOT, env=tier_env).returncode
            result = TierResult(tier, passed=1) if tier == "lint" else read_junit(tier, report)
            if status != 0 and not result.failed:
                result.failed = 1
            check_tiers([result])
        results.append(result)
    return results


def record_gate(path: Path, commit: str, images: list[Image], tiers: list[TierResult], chart: dict | None = None):
    """What passed the gate: the commit, each image by its ID, the tiers' counts, the chart it ran."""
    record = {
        "commit": commit,
        "images": {image.local: image_id(image.local) for image in images},
        "tiers": [vars(tier) for tier in tiers],
        "chart": chart,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def gated_tiers(path: Path, commit: str, images: list[Image]) -> list[TierResult]:
    """The tiers of the gate that passed for exactly this commit and these images; else ReleaseError."""
    if not path.exists():
        raise ReleaseError("no gate has passed here: run `make release-gate` first; nothing was pushed")
    record = json.loads(path.read_text())
    if record["commit"] != commit:
        raise ReleaseError(
            f"the gate passed for commit {record['commit'][:12]}, HEAD is {commit[:12]}: gate again; nothing was pushed"
        )
    for image in images:
        if record["images"].get(image.local) != image_id(image.local):
            raise ReleaseError(f"{image.local} is not the image that passed the gate: gate again; nothing was pushed")
    tiers = [TierResult(**tier) for tier in record["tiers"]]
    check_tiers(tiers)
    return tiers


def gated_chart(path: Path) -> dict | None:
    """The chart the last gate ran (:func:`chart_under_test`), from its record."""
    return json.loads(path.read_text()).get("chart") if path.exists() else None
