"""`python -m release`: the whole release, or its gate, or its publishing half (see release/__init__.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

import release
from release import ARTIFACTS, ReleaseError, chart_values, gate, manifest, registry, run, sbom, signing, verify
from release.images import described, look_inside, release_images
from release.oci import RegistryAPI
from release.phases import Phases, say
from release.tags import compute_tags, version_of

RELEASES = release.ROOT / "releases"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m release", description=release.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", default=os.environ.get("REGISTRY") or "localhost:5000")
    parser.add_argument("--prefix", default=os.environ.get("IMAGE_PREFIX", "blsq/"))
    parser.add_argument("--local-tag", default=os.environ.get("TAG", "dev"))
    parser.add_argument("--allow-dirty", action="store_true", default=os.environ.get("ALLOW_DIRTY") == "1")
    parser.add_argument(
        "--allow-no-chart",
        action="store_true",
        default=os.environ.get("ALLOW_NO_CHART") == "1",
        help="gate without the chart's own hub configuration (no Z2JH_CHART_DIR); the manifest says so",
    )
    parser.add_argument("--records", type=Path, default=RELEASES, help="where manifests go (releases/)")
    parser.add_argument("--values", type=Path, default=chart_values.VALUES, help="the chart values to point at it")
    parser.add_argument("--phases", type=Path, default=ARTIFACTS / "phases.json", help="where the phases go (JSON)")
    parser.add_argument("--skip-gates", action="store_true", help="for the release's own tests: a local registry only")
    parser.add_argument(
        "--sign",
        choices=("", "keyless"),
        default=os.environ.get("SIGN", ""),
        help="keyless: sign each digest and its SBOM and attest provenance with GitHub's OIDC (release.yml)",
    )
    parser.add_argument(
        "--phase",
        choices=("all", "gate", "publish"),
        default=os.environ.get("RELEASE_PHASE") or "all",
        help="gate only, publish what the last gate passed, or both (default)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    phases = Phases(args.phases)
    try:
        outcome = release_with(args, phases)
    except BaseException:
        phases.finish("refused")
        raise
    phases.finish(outcome)
    return 0


def release_with(args: argparse.Namespace, phases: Phases) -> str:
    """The release ``args`` ask for; its outcome (gated, published), or ReleaseError."""
    target = registry.Registry(args.registry)
    if args.skip_gates and not target.local:
        raise ReleaseError("--skip-gates publishes untested images: only to a local registry, for tests")

    identity = signing.workflow_identity() if args.sign and args.phase != "gate" else None  # refused at once
    status = run("git", "status", "--porcelain")
    gate.check_clean_tree(status, args.allow_dirty)
    commit = run("git", "rev-parse", "HEAD")
    version = version_of(run("git", "tag", "--points-at", "HEAD").split())
    today = dt.datetime.now(dt.UTC).date()
    images = release_images(args.prefix, args.local_tag)
    places = chart_values.places_for([image.name for image in images])
    name = version or commit[:12]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    say(f"releasing {name} to {target.host}" + (" (work tree not clean)" if status.strip() else ""))

    record = ARTIFACTS / gate.GATE_RECORD
    if args.skip_gates:
        tiers, chart = [], None
    elif args.phase == "publish":
        tiers, chart = gate.gated_tiers(record, commit, images), gate.gated_chart(record)
    else:
        record.unlink(missing_ok=True)
        chart = gate.chart_under_test(args.allow_no_chart)
        tiers = gate.gate(ARTIFACTS, phases, chart)
        gate.record_gate(record, commit, images, tiers, chart)
        if args.phase == "gate":
            say(f"the gate passed for {name}: publish it with `make release-publish`")
            return "gated"

    for image in images:
        with phases.phase("inspect", image.local, f"looking inside {image.local}"):
            inside = look_inside(image.local, image.key)
            image.tags = compute_tags(version, today, commit, inside, image.describes)
            image.info = described(image.local, inside)
    chart_values.check(args.values, places)  # before anything is pushed
    registry.refuse_existing(target, images)
    registry.publish(target, images, registry.docker_push, registry.PINNED_STAGES, phases)
    api = RegistryAPI(target.host)
    for image in images:  # its SBOM attached, pulled back and started before any moving tag names it
        image.digest = registry.digest_of(target, image, target.ref(image.repository, image.tags.immutable[-1]))
        with phases.phase("sbom", image.repository, f"attaching the SBOM of {verify.pinned(target, image)}"):
            document = sbom.build(image.key, image.repository, image.digest, image.info)
            image.sbom = sbom.attach(api, image.repository, image.digest, document)
        with phases.phase("verify", image.repository, f"verifying {verify.pinned(target, image)}"):
            verify.verify(target, image)
        if identity:
            with phases.phase("sign", image.repository, f"signing {verify.pinned(target, image)} and its SBOM"):
                sbom_ref = f"{target.host}/{image.repository}@{image.sbom}"
                signing.sign_and_check(verify.pinned(target, image), sbom_ref, commit, identity)
    registry.publish(target, images, registry.docker_push, registry.MOVING_STAGES, phases)

    with phases.phase("record", "manifest and chart values", "recording the release"):
        facts = {
            "name": name,
            "version": version,
            "commit": commit,
            "dirty": bool(status.strip()),
            "registry": target.host,
            "signed_by": identity,
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        previous = manifest.previous_manifest(args.records, name)
        made = manifest.build_manifest(facts, images, tiers, previous, chart)
        folder = args.records / name
        manifest.write(folder, made)
        chart_values.point_chart_values_at(name, args.values, places)

    say("published")
    for image in images:
        print(f"  {target.host}/{image.repository}@{image.digest}")
        print(f"    tags: {', '.join(image.tags.in_push_order())}")
    print(f"  manifest: {folder}/manifest.md; {args.values} now uses {name}")
    print("  commit them to record the release.")
    return "published"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ReleaseError as error:
        print(f"release refused: {error}", file=sys.stderr)
        sys.exit(1)
