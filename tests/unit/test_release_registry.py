"""release/registry.py: immutable tags never overwritten, moving tags last, local copies found."""

import datetime as dt
import json

import pytest

from release import ReleaseError, registry
from release.images import Image
from release.phases import Phases, read
from release.registry import Registry
from release.tags import compute_tags

DATE = dt.date(2026, 11, 26)
COMMIT = "0123456789abcdef0123456789abcdef01234567"
INSIDE = {"python": "3.11.2", "lab": "4.6.6", "hub": "5.5.4"}
MOVING = (":latest", ":2026-11-26")


class FakeRegistry(Registry):
    def __init__(self, existing=()):
        super().__init__("localhost:5000")
        self.existing = set(existing)

    def has_tag(self, repository, tag):
        return f"{repository}:{tag}" in self.existing


def images(version="1.4.0"):
    made = [Image("notebook", "blsq/nb:dev", "blsq/nb"), Image("hub", "blsq/hub:dev", "blsq/hub")]
    for image in made:
        image.tags = compute_tags(version, DATE, COMMIT, INSIDE)
    return made


@pytest.mark.parametrize(("host", "local"), [("localhost:5000", True), ("127.0.0.1:41234", True), ("docker.io", False)])
def test_a_registry_on_this_machine_is_local(host, local):
    assert Registry(host).local is local
    assert Registry(host).ref("blsq/nb", "1.4.0") == f"{host}/blsq/nb:1.4.0"


def test_an_existing_version_is_never_overwritten():
    with pytest.raises(ReleaseError, match="already published, and immutable: localhost:5000/blsq/hub:1.4.0"):
        registry.refuse_existing(FakeRegistry({"blsq/hub:1.4.0"}), images())
    registry.refuse_existing(FakeRegistry({"blsq/hub:latest", "blsq/hub:2026-11-26"}), images())


def test_moving_tags_go_last_for_every_image():
    pushed = registry.publish(FakeRegistry(), images(), lambda local, ref: None)
    first_moving = min(i for i, ref in enumerate(pushed) if ref.endswith(MOVING))
    assert all(not ref.endswith(MOVING) for ref in pushed[:first_moving])
    assert all(ref.endswith(MOVING) for ref in pushed[first_moving:])
    assert len(pushed) == 2 * 7


def test_a_push_failing_halfway_leaves_latest_where_it_was():
    attempted = []

    def push(local, ref):
        attempted.append(ref)
        if ref.endswith("hub:python-3.11"):
            raise ReleaseError("network went away")

    with pytest.raises(ReleaseError) as refusal:
        registry.publish(FakeRegistry(), images(), push)
    assert not [ref for ref in attempted if ref.endswith(":latest")]
    said = str(refusal.value)
    assert "pushing localhost:5000/blsq/hub:python-3.11 failed: network went away" in said
    assert "localhost:5000/blsq/nb:1.4.0" in said and "no moving tag (the date, latest) moved." in said


def test_each_push_is_a_phase(tmp_path):
    phases = Phases(tmp_path / "phases.json")
    pushed = registry.publish(FakeRegistry(), images(), lambda local, ref: None, registry.PINNED_STAGES, phases)
    recorded = read(tmp_path / "phases.json")["phases"]
    assert [p["name"] for p in recorded] == pushed
    assert {p["kind"] for p in recorded} == {"push"} and {p["outcome"] for p in recorded} == {"passed"}


def fake_engine(monkeypatch, images_by_id, containers=""):
    """`docker image ls/inspect`, `docker ps` and the removals, answered from ``images_by_id``."""
    removed = []

    def run(*command, check=True, **_):
        if command[:3] == ("docker", "image", "ls"):
            return "\n".join(images_by_id)
        if command[:3] == ("docker", "image", "inspect"):
            return "\n".join(f"{json.dumps(images_by_id[i][0])}\t{json.dumps(images_by_id[i][1])}" for i in command[5:])
        if command[:2] == ("docker", "ps"):
            return containers
        if command[:3] in (("docker", "image", "rm"), ("docker", "rm", "--force")):
            removed.append(command[3:])
            for tags, digests in images_by_id.values():
                for ref in command[3:]:
                    for refs in (tags or [], digests or []):
                        if ref in refs:
                            refs.remove(ref)
            return ""
        raise AssertionError(command)

    monkeypatch.setattr(registry, "run", run)
    return removed


def test_the_local_copies_of_a_registry_are_found_and_forgotten(monkeypatch):
    host = "127.0.0.1:41234"
    engine = {
        "sha256:1": (["blsq/nb:dev", f"{host}/blsq/nb:1.4.0", f"{host}/blsq/nb:latest"], [f"{host}/blsq/nb@sha256:d1"]),
        "sha256:2": (["127.0.0.1:4123/blsq/hub:1.4.0"], [f"{host}0/blsq/hub@sha256:d2"]),  # other registries
        "sha256:3": (None, None),
    }
    removed = fake_engine(monkeypatch, engine, containers=f"c1 {host}/blsq/nb@sha256:d1\nc2 blsq/nb:dev\n")
    assert registry.local_copies(host) == [
        f"{host}/blsq/nb:1.4.0",
        f"{host}/blsq/nb:latest",
        f"{host}/blsq/nb@sha256:d1",
    ]
    assert registry.forget_local_copies(host) == []
    assert removed[0] == ("c1",)
    assert engine["sha256:1"] == (["blsq/nb:dev"], [])
    assert engine["sha256:2"] == (["127.0.0.1:4123/blsq/hub:1.4.0"], [f"{host}0/blsq/hub@sha256:d2"])
