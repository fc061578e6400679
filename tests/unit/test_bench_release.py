"""The release part's per-tier times: read from the phases the release records (JSON), not its console."""

import itertools

from bench.release import DRY_PHASES, group_phases, read_phases, write_dry_phases
from release.phases import Phases


def phase(kind: str, name: str, seconds: float, outcome: str = "passed") -> dict:
    return {"name": name, "kind": kind, "start": "s", "end": "e", "seconds": seconds, "outcome": outcome}


def test_phases_are_grouped_by_kind_and_each_tier_by_its_name():
    record = {
        "outcome": "published",
        "phases": [
            phase("build", "build", 312.3),
            phase("tier", "lint", 2.2),
            phase("tier", "test-unit", 100.5),
            phase("tier", "test-image", 623.2),  # `make test-image` builds again first: inside the tier's phase
            phase("tier", "test-e2e", 511.9),
            phase("inspect", "blsq/openhexa-base-notebook:bench", 9.04),
            phase("inspect", "blsq/openhexa-jupyterhub:bench", 3.02),
            *(phase("push", f"127.0.0.1:59973/blsq/openhexa-base-notebook:{tag}", 10.11) for tag in "abcdefg"),
            phase("verify", "blsq/openhexa-base-notebook", 2.3),
            phase("verify", "blsq/openhexa-jupyterhub", 4.5),
            phase("record", "manifest and chart values", 0.04),
        ],
    }
    assert group_phases(record) == {
        "build": 312.3,
        "lint": 2.2,
        "test-unit": 100.5,
        "test-image": 623.2,
        "test-e2e": 511.9,
        "inspect": 12.1,
        "push": 70.8,
        "verify": 6.8,
        "record": 0.0,
        "gate": 1550.1,
    }


def test_a_refused_release_shows_the_phases_it_got_through():
    record = {"outcome": "refused", "phases": [phase("build", "build", 300.0), phase("tier", "lint", 1.0, "failed")]}
    assert group_phases(record) == {"build": 300.0, "lint": 1.0, "gate": 301.0}


def test_a_release_that_recorded_no_phase_has_only_an_empty_gate(tmp_path):
    assert group_phases(None) == {"gate": 0.0}
    assert group_phases({"outcome": "running", "phases": []}) == {"gate": 0.0}
    assert read_phases(tmp_path / "missing.json") is None
    (tmp_path / "half.json").write_text('{"phases": [')
    assert read_phases(tmp_path / "half.json") is None


def test_what_the_release_writes_is_what_the_bench_reads(tmp_path):
    path = tmp_path / "phases.json"
    ticks = itertools.count(0, 1.5)
    phases = Phases(path, clock=lambda: next(ticks))
    for kind, name in (("build", "build"), ("tier", "lint"), ("push", "r:1"), ("push", "r:2"), ("verify", "r")):
        with phases.phase(kind, name):
            pass
    phases.finish("published")
    assert group_phases(read_phases(path)) == {"build": 1.5, "lint": 1.5, "push": 3.0, "verify": 1.5, "gate": 3.0}


def test_a_dry_run_records_the_phases_the_report_shows(tmp_path):
    write_dry_phases(tmp_path / "phases.json")
    grouped = group_phases(read_phases(tmp_path / "phases.json"))
    assert set(grouped) == {
        "build",
        "lint",
        "test-unit",
        "test-hub",
        "test-image",
        "test-chart",
        "test-e2e",
        "push",
        "verify",
        "gate",
    }
    assert grouped["gate"] == 0.7 and grouped["push"] == 0.2
    assert len(DRY_PHASES) == 10
