"""The release's rules, without a registry: tags, refusals, push order, manifests, chart values."""

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts import release
from scripts.release import Image, Registry, ReleaseError, TierResult

DATE = dt.date(2026, 11, 26)
COMMIT = "0123456789abcdef0123456789abcdef01234567"
INSIDE = {"python": "3.11.2", "lab": "4.6.6", "hub": "5.5.4"}


def test_a_version_release_is_tagged_like_docker_stacks():
    tags = release.compute_tags("1.4.0", DATE, COMMIT, INSIDE)
    assert tags.immutable == ("1.4.0", "0123456789ab")
    assert tags.described == ("python-3.11", "lab-4.6.6", "hub-5.5.4")
    assert tags.moving == ("2026-11-26", "latest")
    assert tags.in_push_order()[-2:] == ["2026-11-26", "latest"]


def test_latest_only_for_a_version_release():
    tags = release.compute_tags(None, DATE, COMMIT, {"python": "3.12.1", "hub": "5.5.4"})
    assert tags.immutable == ("0123456789ab",)
    assert tags.described == ("python-3.12", "hub-5.5.4")
    assert "latest" not in tags.in_push_order()


def test_the_hub_image_is_not_named_after_a_jupyterlab_it_happens_to_carry():
    tags = release.compute_tags(None, DATE, COMMIT, INSIDE, describes=("python", "hub"))
    assert tags.described == ("python-3.11", "hub-5.5.4")


@pytest.mark.parametrize(
    ("git_tags", "version"),
    [([], None), (["v1.2.3"], "1.2.3"), (["v1.2.3", "v1.10.0", "nightly"], "1.10.0"), (["1.2.3", "v1.2"], None)],
)
def test_the_version_comes_from_a_vxyz_tag_on_head(git_tags, version):
    assert release.version_of(git_tags) == version


def test_a_dirty_tree_is_refused_unless_told():
    with pytest.raises(ReleaseError, match="uncommitted changes") as refusal:
        release.check_clean_tree(" M hub/Dockerfile\n", allow_dirty=False)
    assert "hub/Dockerfile" in str(refusal.value) and "ALLOW_DIRTY=1" in str(refusal.value)
    release.check_clean_tree(" M hub/Dockerfile\n", allow_dirty=True)
    release.check_clean_tree("", allow_dirty=False)


@pytest.mark.parametrize(
    ("result", "reason"),
    [(TierResult("test-e2e", passed=7, failed=1), "1 test"), (TierResult("test-image", skipped=45), "ran no test")],
)
def test_a_failed_or_skipped_tier_stops_the_release(result, reason):
    with pytest.raises(ReleaseError, match=reason):
        release.check_tiers([TierResult("test-unit", passed=120, skipped=3), result])


def test_junit_reports_are_counted(tmp_path):
    report = tmp_path / "unit.xml"
    report.write_text('<testsuites><testsuite tests="10" failures="1" errors="1" skipped="3"/></testsuites>')
    assert release.read_junit("test-unit", report) == TierResult("test-unit", passed=5, failed=2, skipped=3)
    assert release.read_junit("test-unit", tmp_path / "missing.xml").ran == 0


def test_no_cache_rebuilds_once_not_again_in_each_tier(tmp_path, monkeypatch):
    """NO_CACHE=1 is for the release's build; the tiers' own `build` prerequisite must reuse it."""
    monkeypatch.setenv("NO_CACHE", "1")
    builds, tiers = [], {}

    def build(*command, **_):
        builds.append((command, "NO_CACHE" in release.os.environ))
        return ""

    def tier(command, env, **_):
        tiers[command[1]] = env
        for arg in command[2:]:  # the JUnit report a pytest tier writes
            Path(arg.split("=", 2)[2]).write_text('<testsuites><testsuite tests="1"/></testsuites>')
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(release, "run", build)
    monkeypatch.setattr(release.subprocess, "run", tier)
    results = release.gate(tmp_path)
    assert builds == [(("make", "build"), True)]
    assert list(tiers) == list(release.TIERS)
    assert not any("NO_CACHE" in env for env in tiers.values())
    assert all(result.ran for result in results)


class FakeRegistry(Registry):
    def __init__(self, existing=()):
        super().__init__("localhost:5000")
        self.existing = set(existing)

    def has_tag(self, repository, tag):
        return f"{repository}:{tag}" in self.existing


def images(version="1.4.0"):
    made = [Image("notebook", "blsq/nb:dev", "blsq/nb"), Image("hub", "blsq/hub:dev", "blsq/hub")]
    for image in made:
        image.tags = release.compute_tags(version, DATE, COMMIT, INSIDE)
    return made


def test_an_existing_version_is_never_overwritten():
    with pytest.raises(ReleaseError, match="already published, and immutable: localhost:5000/blsq/hub:1.4.0"):
        release.refuse_existing(FakeRegistry({"blsq/hub:1.4.0"}), images())
    release.refuse_existing(FakeRegistry({"blsq/hub:latest", "blsq/hub:2026-11-26"}), images())


def test_moving_tags_go_last_for_every_image():
    pushed = release.publish(FakeRegistry(), images(), lambda local, ref: None)
    first_moving = min(i for i, ref in enumerate(pushed) if ref.endswith((":latest", ":2026-11-26")))
    assert all(not ref.endswith((":latest", ":2026-11-26")) for ref in pushed[:first_moving])
    assert len(pushed) == 2 * 7


def test_a_push_failing_halfway_leaves_latest_where_it_was():
    attempted = []

    def push(local, ref):
        attempted.append(ref)
        if ref.endswith("hub:python-3.11"):
            raise ReleaseError("network went away")

    with pytest.raises(ReleaseError):
        release.publish(FakeRegistry(), images(), push)
    assert not [ref for ref in attempted if ref.endswith(":latest")]


def test_the_manifest_says_what_changed_since_the_previous_release(tmp_path):
    made = images()
    for image in made:
        image.digest = "sha256:" + "a" * 64
        image.info = {
            "size_bytes": 1_800_000_000,
            "base": "openhexa/offline-docker-stacks:bookworm",
            **INSIDE,
            "python_packages": {"pandas": "3.1.1", "duckdb": "2.0.1", "openhexa-sdk": "2.22.7"},
            "debian_packages": {"s3fs": "1.91"},
            "lab_extensions": {"@jupyterlab/git": "0.55.0"},
        }
    previous = {
        "release": {"name": "1.3.0", "published_at": "2026-10-01T00:00:00+00:00"},
        "images": {
            "notebook": {"python_packages": {"pandas": "3.0.0", "polars": "1.0"}, "debian_packages": {"s3fs": "1.91"}},
        },
    }
    (tmp_path / "1.3.0").mkdir()
    (tmp_path / "1.3.0" / "manifest.json").write_text(json.dumps(previous))
    found = release.previous_manifest(tmp_path, current="1.4.0")
    release_info = {
        "name": "1.4.0", "version": "1.4.0", "commit": COMMIT, "dirty": False,
        "registry": "localhost:5000", "published_at": "2026-11-26T12:00:00+00:00",
    }  # fmt: skip
    manifest = release.build_manifest(release_info, made, [TierResult("test-unit", passed=120, skipped=3)], found)
    python = manifest["changes"]["notebook"]["python_packages"]
    assert python["added"] == {"duckdb": "2.0.1", "openhexa-sdk": "2.22.7"}
    assert python["removed"] == {"polars": "1.0"}
    assert python["upgraded"] == {"pandas": ["3.0.0", "3.1.1"]}
    text = release.render_markdown(manifest)
    assert "pandas 3.0.0 -> 3.1.1" in text and "-polars 1.0" in text
    assert "sha256:" + "a" * 64 in text


def test_the_chart_values_point_at_the_released_tag(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text((release.VALUES).read_text())
    release.point_chart_values_at("1.4.0", values)
    text = values.read_text()
    assert text.count('tag: "1.4.0"') == 2 and 'tag: "dev"' not in text


def test_publish_takes_only_what_the_gate_passed(tmp_path, monkeypatch):
    """The release in two halves (a CI job logs in between): the second publishes exactly the gated images."""
    ids = {"blsq/nb:dev": "sha256:aaa", "blsq/hub:dev": "sha256:bbb"}
    monkeypatch.setattr(release, "image_id", lambda local: ids[local])
    record = tmp_path / "gate.json"
    with pytest.raises(ReleaseError, match="run `make release-gate` first"):
        release.gated_tiers(record, COMMIT, images())
    tiers = [TierResult(tier, passed=3) for tier in release.TIERS]
    release.record_gate(record, COMMIT, images(), tiers)
    assert release.gated_tiers(record, COMMIT, images()) == tiers
    with pytest.raises(ReleaseError, match="HEAD is fedcba987654"):
        release.gated_tiers(record, "fedcba9876543210" * 2 + "fedcba98", images())
    ids["blsq/hub:dev"] = "sha256:rebuilt"
    with pytest.raises(ReleaseError, match="blsq/hub:dev is not the image that passed the gate"):
        release.gated_tiers(record, COMMIT, images())
