"""`python -m release` put together, in-process: every step faked at its edge (git, Docker, the registry)."""

import ast
import datetime as dt
import importlib
import json

import pytest

from harness import ROOT
from release import ReleaseError, chart_values, gate, registry, sbom, signing, verify
from release.phases import read

main_module = importlib.import_module("release.__main__")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
INSIDE = {
    "python": "3.11.2", "lab": "4.6.6", "hub": "5.5.4",
    "python_packages": {"pandas": "3.1.1"}, "debian_packages": {"s3fs": "1.91"}, "lab_extensions": {},
}  # fmt: skip
PROXY_INSIDE = {"chp": "5.2.0", "node": "24.19.0", "node_packages": {"http-proxy-3": "1.23.3"}}


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A clean tree at COMMIT tagged v1.4.0, three built images, an empty registry; what happened, in order."""
    happened = []
    git = {
        ("git", "status", "--porcelain"): "",
        ("git", "rev-parse", "HEAD"): COMMIT,
        ("git", "tag", "--points-at", "HEAD"): "v1.4.0",
    }
    monkeypatch.setattr(main_module, "run", lambda *command: git[command])
    monkeypatch.setattr(main_module, "ARTIFACTS", tmp_path / "artifacts")
    monkeypatch.setattr(main_module, "look_inside", lambda local, key: dict(PROXY_INSIDE if key == "proxy" else INSIDE))
    monkeypatch.setattr(main_module, "described", lambda local, inside: {"size_bytes": 10**9, "base": "b", **inside})
    monkeypatch.setattr(registry.Registry, "has_tag", lambda self, repository, tag: False)
    monkeypatch.setattr(registry, "docker_push", lambda local, ref: happened.append(("push", ref)))
    monkeypatch.setattr(registry, "digest_of", lambda target, image, ref: "sha256:" + image.key)
    monkeypatch.setattr(verify, "verify", lambda target, image: happened.append(("verify", image.digest)))
    monkeypatch.setattr(
        sbom, "attach", lambda api, repository, digest, document: happened.append(("sbom", digest)) or f"{digest}-sbom"
    )
    values = tmp_path / "values.yaml"
    values.write_text(chart_values.VALUES.read_text())
    args = ["--skip-gates", "--registry", "127.0.0.1:5999", "--records", str(tmp_path / "releases")]
    args += ["--values", str(values), "--phases", str(tmp_path / "phases.json")]
    return happened, args, tmp_path


def test_a_release_pushes_pinned_tags_verifies_then_moves_and_records(world):
    happened, args, tmp_path = world
    assert main_module.main(args) == 0
    first_sbom = happened.index(("sbom", "sha256:notebook"))
    assert happened[first_sbom : first_sbom + 6] == [
        ("sbom", "sha256:notebook"), ("verify", "sha256:notebook"), ("sbom", "sha256:hub"), ("verify", "sha256:hub"),
        ("sbom", "sha256:proxy"), ("verify", "sha256:proxy"),
    ], "each image's SBOM attached, then verified, before any moving tag"  # fmt: skip
    moving = (":latest", f":{dt.datetime.now(dt.UTC).date().isoformat()}")
    assert all(kind == "push" and not ref.endswith(moving) for kind, ref in happened[:first_sbom])
    moved = happened[first_sbom + 6 :]
    assert len(moved) == 6 and all(kind == "push" and ref.endswith(moving) for kind, ref in moved), (
        "the date and latest of the three images, last"
    )
    pushed = [ref for _, ref in happened]
    assert "127.0.0.1:5999/blsq/openhexa-jupyterhub:1.4.0" in pushed
    assert "127.0.0.1:5999/blsq/openhexa-proxy:chp-5.2.0" in pushed
    assert not [ref for ref in pushed if "openhexa-jupyterhub:lab-" in ref or "openhexa-proxy:python-" in ref]

    made = json.loads((tmp_path / "releases" / "1.4.0" / "manifest.json").read_text())
    assert made["images"]["hub"]["digest"] == "sha256:hub" and made["release"]["version"] == "1.4.0"
    assert made["images"]["hub"]["sbom"] == "sha256:hub-sbom"
    assert (tmp_path / "releases" / "1.4.0" / "manifest.md").exists()
    assert (tmp_path / "values.yaml").read_text().count('tag: "1.4.0"') == 3

    record = read(tmp_path / "phases.json")
    assert record["outcome"] == "published"
    kinds = [p["kind"] for p in record["phases"]]
    assert kinds == [*["inspect"] * 3, *["push"] * 12, *["sbom", "verify"] * 3, *["push"] * 6, "record"]
    assert {p["outcome"] for p in record["phases"]} == {"passed"}


def test_an_existing_release_pushes_nothing_and_records_a_refusal(world, monkeypatch):
    happened, args, tmp_path = world
    monkeypatch.setattr(registry.Registry, "has_tag", lambda self, repository, tag: tag == "1.4.0")
    before = (tmp_path / "values.yaml").read_text()
    with pytest.raises(ReleaseError, match="already published, and immutable"):
        main_module.main(args)
    assert happened == []
    assert (tmp_path / "values.yaml").read_text() == before
    assert read(tmp_path / "phases.json")["outcome"] == "refused"


def test_values_without_a_declared_place_are_refused_before_anything_is_pushed(world):
    happened, args, tmp_path = world
    (tmp_path / "values.yaml").write_text("hub:\n  image:\n    tag: dev\n")
    with pytest.raises(ReleaseError, match="no singleuser.image.tag"):
        main_module.main(args)
    assert happened == []


def test_a_dirty_tree_is_refused_before_anything_is_looked_at(world, monkeypatch):
    happened, args, _ = world
    answers = {("git", "status", "--porcelain"): " M hub/Dockerfile"}
    monkeypatch.setattr(main_module, "run", lambda *command: answers[command])
    with pytest.raises(ReleaseError, match="uncommitted changes"):
        main_module.main(args)
    assert happened == []


def test_skipping_the_gates_is_for_a_local_registry_only(world):
    _, args, _ = world
    with pytest.raises(ReleaseError, match="only to a local registry"):
        main_module.main([*args, "--registry", "docker.io"])


def test_the_release_imports_nothing_from_the_tests():
    offenders = {}
    for path in sorted((ROOT / "release").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            bad = [n for n in names if n == "tests" or n.startswith("tests.")]
            if bad:
                offenders[path.name] = bad
    assert not offenders


def test_the_gate_then_the_publish_half_release_exactly_what_passed(world, monkeypatch):
    happened, args, tmp_path = world
    args = [arg for arg in args if arg != "--skip-gates"]
    tiers = [gate.TierResult(tier, passed=2) for tier in gate.TIERS]
    chart = {"name": "jupyterhub", "version": "4.4.0", "gated": True, "sha256": {"jupyterhub_config.py": "ab" * 32}}
    monkeypatch.setattr(gate, "chart_under_test", lambda allow_no_chart: chart)
    monkeypatch.setattr(gate, "gate", lambda artifacts, phases, ran: happened.append(("gate", artifacts)) or tiers)
    monkeypatch.setattr(gate, "image_id", lambda local: "sha256:" + local)

    assert main_module.main([*args, "--phase", "gate"]) == 0
    assert happened == [("gate", tmp_path / "artifacts")]
    assert read(tmp_path / "phases.json")["outcome"] == "gated"
    assert json.loads((tmp_path / "artifacts" / "gate.json").read_text())["commit"] == COMMIT

    assert main_module.main([*args, "--phase", "publish"]) == 0
    assert happened.count(("gate", tmp_path / "artifacts")) == 1, "the publish half does not gate again"
    made = json.loads((tmp_path / "releases" / "1.4.0" / "manifest.json").read_text())
    assert made["tests"] == {tier: {"passed": 2, "failed": 0, "skipped": 0} for tier in gate.TIERS}
    assert made["chart"] == chart, "the manifest names the chart configuration the gate ran"
    assert read(tmp_path / "phases.json")["outcome"] == "published"


GITHUB = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example",
    "GITHUB_REPOSITORY": "BLSQ/openhexa-notebooks",
    "GITHUB_REF": "refs/tags/v1.4.0",
    "GITHUB_RUN_ID": "42",
}


def test_a_signed_release_signs_attests_and_verifies_each_digest_before_moving_tags(world, monkeypatch):
    happened, args, tmp_path = world
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(signing, "cosign", lambda *command: happened.append(("cosign", *command)) or "")
    assert main_module.main([*args, "--sign", "keyless"]) == 0
    identity = "https://github.com/BLSQ/openhexa-notebooks/.github/workflows/release.yml@refs/tags/v1.4.0"
    who = ("--certificate-identity", identity, "--certificate-oidc-issuer", signing.ISSUER)
    hub, hub_sbom = (
        "127.0.0.1:5999/blsq/openhexa-jupyterhub@sha256:hub",
        "127.0.0.1:5999/blsq/openhexa-jupyterhub@sha256:hub-sbom",
    )
    cosigned = [entry[1:] for entry in happened if entry[0] == "cosign" and entry[-1] in (hub, hub_sbom)]
    assert cosigned[:2] == [("sign", "--yes", hub), ("sign", "--yes", hub_sbom)]
    assert cosigned[2][:3] == ("attest", "--yes", "--type") and cosigned[2][-1] == hub
    assert cosigned[3:] == [
        ("verify", *who, hub),
        ("verify", *who, hub_sbom),
        ("verify-attestation", "--type", signing.PROVENANCE_TYPE, *who, hub),
    ]
    last_cosign = max(i for i, entry in enumerate(happened) if entry[0] == "cosign")
    first_moving = min(i for i, entry in enumerate(happened) if entry[0] == "push" and entry[1].endswith(":latest"))
    assert last_cosign < first_moving, "verified before any moving tag moves"
    made = json.loads((tmp_path / "releases" / "1.4.0" / "manifest.json").read_text())
    assert made["release"]["signed_by"] == identity


def test_signing_outside_github_is_refused_before_anything_happens(world, monkeypatch):
    happened, args, _ = world
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    with pytest.raises(ReleaseError, match="needs GitHub's OIDC token"):
        main_module.main([*args, "--sign", "keyless"])
    assert happened == []


def test_the_provenance_names_the_workflow_run_and_the_commit():
    predicate = signing.provenance(COMMIT, GITHUB)
    (dependency,) = predicate["buildDefinition"]["resolvedDependencies"]
    assert dependency["digest"] == {"gitCommit": COMMIT}
    assert predicate["runDetails"]["builder"]["id"].endswith("/.github/workflows/release.yml@refs/tags/v1.4.0")
    assert predicate["runDetails"]["metadata"]["invocationId"].endswith("/actions/runs/42")
