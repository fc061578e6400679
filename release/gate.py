"""Step 1: a clean tree, the images built and every tier passed; and the record of what passed."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from release import ROOT, ReleaseError, run
from release.images import Image, image_id

TIERS = ("lint", "test-unit", "test-hub", "test-image", "test-chart", "test-e2e")  # make tiers, in its order
GATE_RECORD = "gate.json"


def check_clean_tree(status: str, allow_dirty: bool) -> None:
    """Refuse uncommitted changes: what is published must be a commit anyone can check out."""
    if status.strip() and not allow_dirty:
        raise ReleaseError(
            "the work tree has uncommitted changes, so the images would not match any commit:\n"
            f"{status.rstrip()}\nCommit or stash them, or run with ALLOW_DIRTY=1 to publish them anyway."
        )


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


def gate(artifacts: Path, phases) -> list[TierResult]:
    """Build, then run every tier (each a phase of ``phases``); stop at the first that fails or runs nothing."""
    with phases.phase("build", "build", "building the images"):
        run("make", "build", capture=False)
    # The tiers' own `build` prerequisite reuses what was just built: NO_CACHE=1 is for that build only.
    tier_env = {name: value for name, value in os.environ.items() if name != "NO_CACHE"}
    results = []
    for tier in TIERS:
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


def record_gate(path: Path, commit: str, images: list[Image], tiers: list[TierResult]) -> None:
    """What passed the gate: the commit, each image by its ID, the tiers' counts."""
    record = {
        "commit": commit,
        "images": {image.local: image_id(image.local) for image in images},
        "tiers": [vars(tier) for tier in tiers],
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
