"""release/gate.py: the refusals before anything is pushed, the tiers, and the gate's record."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from release import ReleaseError, gate
from release.gate import TierResult
from release.images import release_images
from release.phases import Phases, read

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_a_dirty_tree_is_refused_unless_told():
    with pytest.raises(ReleaseError, match="uncommitted changes") as refusal:
        gate.check_clean_tree(" M hub/Dockerfile\n", allow_dirty=False)
    assert "hub/Dockerfile" in str(refusal.value) and "ALLOW_DIRTY=1" in str(refusal.value)
    gate.check_clean_tree(" M hub/Dockerfile\n", allow_dirty=True)
    gate.check_clean_tree("", allow_dirty=False)


@pytest.mark.parametrize(
    ("result", "reason"),
    [(TierResult("test-e2e", passed=7, failed=1), "1 test"), (TierResult("test-image", skipped=45), "ran no test")],
)
def test_a_failed_or_skipped_tier_stops_the_release(result, reason):
    with pytest.raises(ReleaseError, match=reason):
        gate.check_tiers([TierResult("test-unit", passed=120, skipped=3), result])


def test_junit_reports_are_counted(tmp_path):
    report = tmp_path / "unit.xml"
    report.write_text('<testsuites><testsuite tests="10" failures="1" errors="1" skipped="3"/></testsuites>')
    assert gate.read_junit("test-unit", report) == TierResult("test-unit", passed=5, failed=2, skipped=3)
    assert gate.read_junit("test-unit", tmp_path / "missing.xml").ran == 0


def fake_make(monkeypatch, failing=()):
    """`make build` and `make <tier>` recorded, not run; each pytest tier writes one passing test."""
    builds, tiers = [], {}

    def build(*command, **_):
        builds.append((command, "NO_CACHE" in gate.os.environ))
        return ""

    def tier(command, env, **_):
        tiers[command[1]] = env
        for arg in command[2:]:  # the JUnit report a pytest tier writes
            Path(arg.split("=", 2)[2]).write_text('<testsuites><testsuite tests="1"/></testsuites>')
        return SimpleNamespace(returncode=1 if command[1] in failing else 0)

    monkeypatch.setattr(gate, "run", build)
    monkeypatch.setattr(gate.subprocess, "run", tier)
    return builds, tiers


def test_no_cache_rebuilds_once_not_again_in_each_tier(tmp_path, monkeypatch):
    """NO_CACHE=1 is for the release's build; the tiers' own `build` prerequisite must reuse it."""
    monkeypatch.setenv("NO_CACHE", "1")
    builds, tiers = fake_make(monkeypatch)
    results = gate.gate(tmp_path, Phases(None))
    assert builds == [(("make", "build"), True)]
    assert list(tiers) == list(gate.TIERS)
    assert not any("NO_CACHE" in env for env in tiers.values())
    assert all(result.ran for result in results)


def test_the_gate_records_each_tier_as_a_phase_and_stops_at_a_failing_one(tmp_path, monkeypatch):
    fake_make(monkeypatch, failing=("test-image",))
    phases = Phases(tmp_path / "phases.json")
    with pytest.raises(ReleaseError, match="tier test-image: 1 test"):
        gate.gate(tmp_path, phases)
    recorded = [(p["kind"], p["name"], p["outcome"]) for p in read(tmp_path / "phases.json")["phases"]]
    assert recorded == [
        ("build", "build", "passed"),
        ("tier", "lint", "passed"),
        ("tier", "test-unit", "passed"),
        ("tier", "test-hub", "passed"),
        ("tier", "test-image", "failed"),
    ]


def test_publish_takes_only_what_the_gate_passed(tmp_path, monkeypatch):
    """The release in two halves (a CI job logs in between): the second publishes exactly the gated images."""
    images = release_images("blsq/", "dev")
    ids = {"blsq/openhexa-base-notebook:dev": "sha256:aaa", "blsq/openhexa-jupyterhub:dev": "sha256:bbb",
           "blsq/openhexa-proxy:dev": "sha256:ccc"}  # fmt: skip
    monkeypatch.setattr(gate, "image_id", lambda local: ids[local])
    record = tmp_path / "gate.json"
    with pytest.raises(ReleaseError, match="run `make release-gate` first"):
        gate.gated_tiers(record, COMMIT, images)
    tiers = [TierResult(tier, passed=3) for tier in gate.TIERS]
    gate.record_gate(record, COMMIT, images, tiers)
    assert gate.gated_tiers(record, COMMIT, images) == tiers
    with pytest.raises(ReleaseError, match="HEAD is fedcba987654"):
        gate.gated_tiers(record, "fedcba9876543210" * 2 + "fedcba98", images)
    ids["blsq/openhexa-jupyterhub:dev"] = "sha256:rebuilt"
    with pytest.raises(ReleaseError, match="blsq/openhexa-jupyterhub:dev is not the image that passed the gate"):
        gate.gated_tiers(record, COMMIT, images)


def test_a_gate_record_with_a_failed_tier_publishes_nothing(tmp_path, monkeypatch):
    images = release_images("blsq/", "dev")
    monkeypatch.setattr(gate, "image_id", lambda local: "sha256:same")
    record = tmp_path / "gate.json"
    gate.record_gate(record, COMMIT, images, [TierResult("lint", passed=1), TierResult("test-e2e", skipped=4)])
    with pytest.raises(ReleaseError, match="tier test-e2e ran no test"):
        gate.gated_tiers(record, COMMIT, images)


def chart_folder(tmp_path: Path, version: str = "4.4.0") -> Path:
    folder = tmp_path / "jupyterhub"
    (folder / "files" / "hub").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"name: jupyterhub\nversion: {version}\n")
    (folder / "values.yaml").write_text("{}\n")
    (folder / "files" / "hub" / "jupyterhub_config.py").write_text("c = get_config()\n")
    (folder / "files" / "hub" / "z2jh.py").write_text("")
    return folder


def test_without_the_chart_the_release_is_refused_saying_how_to_get_it(monkeypatch):
    monkeypatch.delenv("Z2JH_CHART_DIR", raising=False)
    with pytest.raises(ReleaseError, match=r"Z2JH_CHART_DIR is unset: .*helm pull .*ALLOW_NO_CHART=1"):
        gate.chart_under_test(allow_no_chart=False)
    allowed = gate.chart_under_test(allow_no_chart=True)
    assert allowed["gated"] is False and "helm pull" in allowed["why"]


def test_the_gate_records_the_digest_of_the_charts_hub_configuration(tmp_path, monkeypatch):
    folder = chart_folder(tmp_path)
    monkeypatch.setenv("Z2JH_CHART_DIR", str(folder))
    chart = gate.chart_under_test(allow_no_chart=False)
    assert chart["gated"] and chart["version"] == "4.4.0"
    expected = gate.hashlib.sha256(b"c = get_config()\n").hexdigest()
    assert chart["sha256"]["jupyterhub_config.py"] == expected
    monkeypatch.setenv("Z2JH_CHART_DIR", str(chart_folder(tmp_path / "old", "4.3.5")))
    with pytest.raises(ReleaseError, match="holds chart 4.3.5"):
        gate.chart_under_test(allow_no_chart=False)


def test_without_the_chart_the_gate_leaves_its_tier_out_and_records_why(tmp_path, monkeypatch):
    _, tiers = fake_make(monkeypatch)
    chart = {"name": "jupyterhub", "version": "4.4.0", "gated": False, "why": "Z2JH_CHART_DIR is unset"}
    results = gate.gate(tmp_path, Phases(None), chart)
    assert gate.CHART_TIER not in tiers and [r.name for r in results] == [t for t in gate.TIERS if t != "test-chart"]
    images = release_images("blsq/", "dev")
    monkeypatch.setattr(gate, "image_id", lambda local: "sha256:" + local)
    gate.record_gate(tmp_path / "gate.json", COMMIT, images, results, chart)
    assert gate.gated_chart(tmp_path / "gate.json") == chart
