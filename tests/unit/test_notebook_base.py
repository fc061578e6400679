"""The notebook image's base pin and the weekly workflow that proposes the next one."""

import re

import pytest
import yaml

from harness import ROOT
from scripts import notebook_base

WORKFLOW = ROOT / ".github" / "workflows" / "notebook-base.yml"
NAMES = ["latest", "python-3.13", "2026-11-16", "lab-4.5.0", "2026-11-23", "2026-11-23-x", "hub-5.5.4"]
TAGS = {name: f"sha256:{i:064x}" for i, name in enumerate(NAMES)}  # quay's tags and their manifests' digests
NEWEST = TAGS["2026-11-23"]


def test_the_base_is_datascience_notebook_at_a_date_tag():
    repository, tag = notebook_base.pinned(notebook_base.DOCKERFILE.read_text())
    assert repository == "quay.io/jupyter/datascience-notebook"
    assert notebook_base.DATE_TAG.fullmatch(tag), f"{tag}: a date tag, which never moves"


def test_the_newest_date_tag_ignores_the_other_tags():
    assert notebook_base.newest_date_tag(TAGS) == "2026-11-23"
    assert notebook_base.newest_date_tag(["latest", "python-3.13"]) is None


def test_an_update_moves_only_the_pin(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    current = notebook_base.DOCKERFILE.read_text()
    stale = current.replace(f":{notebook_base.pinned(current)[1]}\n", ":2025-01-06\n")
    dockerfile.write_text(stale)
    assert notebook_base.update(dockerfile, TAGS) == "2026-11-23"
    updated = dockerfile.read_text()
    assert notebook_base.pinned(updated) == ("quay.io/jupyter/datascience-notebook", "2026-11-23")
    assert notebook_base.pinned_digest(updated) == NEWEST
    changed = [(a, b) for a, b in zip(stale.splitlines(), updated.splitlines(), strict=True) if a != b]
    assert [b for _, b in changed] == [f"ARG BASE_IMAGE=quay.io/jupyter/datascience-notebook:2026-11-23@{NEWEST}"]


def test_no_update_when_the_pin_is_the_newest(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"ARG BASE_IMAGE=quay.io/jupyter/datascience-notebook:2026-11-23@{NEWEST}\nFROM ${{BASE_IMAGE}}\n"
    )
    assert notebook_base.update(dockerfile, TAGS) is None
    assert notebook_base.update(dockerfile, {"2026-11-16": TAGS["2026-11-16"], "2026-11-23": NEWEST}) is None, (
        "never backwards"
    )
    assert "2026-11-23" in dockerfile.read_text()
    with pytest.raises(SystemExit, match="no date tag"):
        notebook_base.update(dockerfile, {"latest": NEWEST})


def test_a_pin_without_its_digest_or_a_moved_tag_is_pinned_to_the_registrys_digest(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("ARG BASE_IMAGE=quay.io/jupyter/datascience-notebook:2026-11-23\nFROM ${BASE_IMAGE}\n")
    assert notebook_base.update(dockerfile, TAGS) == "2026-11-23"
    assert notebook_base.pinned_digest(dockerfile.read_text()) == NEWEST
    moved = {**TAGS, "2026-11-23": "sha256:" + "f" * 64}
    assert notebook_base.update(dockerfile, moved) == "2026-11-23", "a tag that moved is proposed, not followed"
    assert notebook_base.pinned_digest(dockerfile.read_text()) == "sha256:" + "f" * 64


def test_the_hub_base_is_pinned_to_the_digest_of_the_charts_tag(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "ARG HUB_BASE_IMAGE=quay.io/jupyterhub/k8s-hub:4.4.0\n\nFROM ${HUB_BASE_IMAGE} AS production\n"
    )
    digest = "sha256:" + "a" * 64
    assert notebook_base.pin_digest(dockerfile, {"4.4.0": digest, "4.3.5": "sha256:" + "b" * 64}) == digest
    assert dockerfile.read_text().startswith(f"ARG HUB_BASE_IMAGE=quay.io/jupyterhub/k8s-hub:4.4.0@{digest}\n")
    assert notebook_base.pin_digest(dockerfile, {"4.4.0": digest}) is None
    with pytest.raises(SystemExit, match="no tag 4.4.0"):
        notebook_base.pin_digest(dockerfile, {"4.3.5": digest})


def test_the_proxy_base_is_pinned_to_the_digest_of_its_tag(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text((notebook_base.PROXY_DOCKERFILE).read_text())
    repository, tag = notebook_base.pinned(dockerfile.read_text())
    assert repository == "quay.io/jupyterhub/configurable-http-proxy"
    digest = "sha256:" + "c" * 64
    assert notebook_base.pin_digest(dockerfile, {tag: digest}) == digest
    assert f"\nARG PROXY_BASE_IMAGE={repository}:{tag}@{digest}\n" in dockerfile.read_text()


def test_every_upstream_base_is_one_the_weekly_workflow_pins():
    """Each Dockerfile's base from a registry is an `ARG` this script moves to its tag's digest."""
    for path in (notebook_base.DOCKERFILE, notebook_base.HUB_DOCKERFILE, notebook_base.PROXY_DOCKERFILE):
        repository, _ = notebook_base.pinned(path.read_text())
        assert repository.startswith("quay.io/"), path


def test_only_date_tags_are_written():
    with pytest.raises(ValueError, match="not a date tag"):
        notebook_base.with_tag("ARG BASE_IMAGE=quay.io/jupyter/datascience-notebook:2026-11-23\n", "latest")
    with pytest.raises(ValueError, match="not a sha256 digest"):
        notebook_base.with_pin("ARG BASE_IMAGE=quay.io/x/y:1\n", "2", "md5:00")


def test_the_weekly_workflow_tests_the_new_base_before_proposing_it():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "schedule" in workflow[True], "weekly, on its own"  # PyYAML reads the key `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["propose"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = [step.get("run", "") for step in job["steps"]]
    update = next(i for i, run in enumerate(runs) if "notebook_base.py update" in run)
    tier = next(i for i, run in enumerate(runs) if "make test-image" in run)
    propose = next(i for i, run in enumerate(runs) if "propose-notebook-base.sh" in run)
    assert update < tier < propose, "the image tier passes on the new base before it is proposed"
    assert job["env"]["BASE"] == "upstream", "built on the real base, never the offline one"


def test_the_proposal_commits_every_dockerfile_the_update_pins():
    script = (notebook_base.DOCKERFILE.parents[1] / "scripts" / "propose-notebook-base.sh").read_text()
    committed = re.search(r"git commit .* -- (.+)$", script, re.MULTILINE).group(1).split()
    root = notebook_base.DOCKERFILE.parents[1]
    pinned = [notebook_base.DOCKERFILE, notebook_base.HUB_DOCKERFILE, notebook_base.PROXY_DOCKERFILE]
    assert sorted(committed) == sorted(str(path.relative_to(root)) for path in pinned)
