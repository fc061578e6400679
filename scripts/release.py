"""`make release`: gate on every tier, tag, publish, verify, record.

1. Refuses a dirty work tree (unless ALLOW_DIRTY=1), builds the images and runs
   the lint, unit, image and end-to-end tiers; a failed tier, or one that ran
   no test, stops the release before anything is pushed.
2. Tags in Jupyter Docker Stacks' manner: the version (a vX.Y.Z git tag on HEAD),
   the 12-character commit, the versions inside the image (python-3.x, lab-x.y.z,
   hub-x.y.z), the date, and `latest` for a version release only.
3. Pushes to REGISTRY: immutable tags (version, commit) first, and never over an
   existing one; moving tags (date, latest) last, once both images are verified
   (step 4), so a failure mid-push leaves `latest` where it was.
4. Pulls every image back by digest and starts it.
5. Writes releases/<tag>/manifest.json and manifest.md (digests, sizes, tags,
   packages, extensions, tests, the difference from the previous release) and
   points chart-values/values.yaml at the new tag.

`--phase gate` does step 1 alone and records what it gated (the commit, each
image's ID, the tiers' counts) in artifacts/release/gate.json; `--phase publish`
does steps 2-5 for exactly those images, refusing if HEAD or an image changed
since. A CI job logs in to the registry between the two, so no registry
credential exists while the tests run. `--phase all` (the default) does both.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "releases"
VALUES = ROOT / "chart-values" / "values.yaml"
TIERS = ("lint", "test-unit", "test-image", "test-e2e")
VERSION_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class ReleaseError(Exception):
    """A reason not to publish, said to the person running the release."""


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def run(*command: str, capture: bool = True, check: bool = True) -> str:
    result = subprocess.run(command, cwd=ROOT, text=True, capture_output=capture)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-2000:] if capture else ""
        raise ReleaseError(f"`{' '.join(command)}` failed ({result.returncode}) {detail}")
    return (result.stdout or "").strip() if capture else ""


# -- refusals -----------------------------------------------------------------------


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
    if not path.exists():
        return TierResult(name)
    result = TierResult(name)
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


# -- tags ---------------------------------------------------------------------------


def version_of(git_tags: Iterable[str]) -> str | None:
    """The release version from the vX.Y.Z tags on HEAD (the highest), or None."""
    versions = [tuple(int(n) for n in m.groups()) for m in map(VERSION_TAG.match, git_tags) if m]
    return ".".join(map(str, max(versions))) if versions else None


@dataclass(frozen=True)
class Tags:
    """An image's tags, in the order they are pushed."""

    immutable: tuple[str, ...]  # never overwritten: the version, the commit
    described: tuple[str, ...]  # what is inside: python-3.x, lab-x.y.z, hub-x.y.z
    moving: tuple[str, ...]  # point at the newest: the date, latest

    def in_push_order(self) -> list[str]:
        return [*self.immutable, *self.described, *self.moving]


def compute_tags(
    version: str | None, date: dt.date, commit: str, inside: dict[str, str], describes=("python", "lab", "hub")
) -> Tags:
    """Docker Stacks' tags for one image; ``inside`` maps python/lab/hub to the versions it carries.

    ``describes`` says which of them name the image: the hub image carries no
    JupyterLab of its own in production, so it is not tagged lab-x.y.z.
    """
    immutable = ((version,) if version else ()) + (commit[:12],)
    described = tuple(
        f"{key}-{'.'.join(inside[key].split('.')[:2]) if key == 'python' else inside[key]}"
        for key in describes
        if inside.get(key)
    )
    moving = (date.isoformat(),) + (("latest",) if version else ())
    return Tags(immutable, described, moving)


# -- the registry -------------------------------------------------------------------


@dataclass
class Registry:
    """Where images go: REGISTRY, e.g. localhost:5000 or docker.io."""

    host: str

    @property
    def local(self) -> bool:
        return self.host.split(":")[0] in ("localhost", "127.0.0.1")

    def ref(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    def has_tag(self, repository: str, tag: str) -> bool:
        if self.local:
            url = f"http://{self.host}/v2/{repository}/manifests/{tag}"
            return requests.head(url, headers={"Accept": MANIFEST_TYPES}, timeout=30).status_code == 200
        probe = subprocess.run(["docker", "manifest", "inspect", self.ref(repository, tag)], capture_output=True)
        return probe.returncode == 0


@dataclass
class Image:
    """One image of the release."""

    key: str  # notebook | hub
    local: str  # the built image, e.g. blsq/openhexa-base-notebook:dev
    repository: str  # e.g. blsq/openhexa-base-notebook
    describes: tuple[str, ...] = ("python", "lab", "hub")  # the versions its tags name
    tags: Tags | None = None
    digest: str = ""
    info: dict = field(default_factory=dict)


def refuse_existing(registry: Registry, images: list[Image]) -> None:
    """Immutable tags are never overwritten: refuse before pushing anything."""
    taken = [
        registry.ref(image.repository, tag)
        for image in images
        for tag in image.tags.immutable
        if registry.has_tag(image.repository, tag)
    ]
    if taken:
        raise ReleaseError(
            "already published, and immutable: " + ", ".join(taken) + ". Tag a new version (vX.Y.Z) or commit."
        )


PINNED_STAGES = ("immutable", "described")
MOVING_STAGES = ("moving",)


def publish(
    registry: Registry,
    images: list[Image],
    push: Callable[[str, str], None],
    stages: tuple[str, ...] = PINNED_STAGES + MOVING_STAGES,
) -> list[str]:
    """Push every image's tags of ``stages``, in order; return the refs pushed.

    ``push(local, ref)`` tags and pushes one ref. Moving tags wait until every
    immutable and descriptive tag of every image is published. A failed push
    stops the release, saying what was published and that nothing moved.
    """
    pushed = []
    for stage in stages:
        for image in images:
            for tag in getattr(image.tags, stage):
                ref = registry.ref(image.repository, tag)
                say(f"pushing {ref}")
                try:
                    push(image.local, ref)
                except ReleaseError as error:
                    raise ReleaseError(failed_push(ref, error, pushed, images)) from None
                pushed.append(ref)
    return pushed


def failed_push(ref: str, error: ReleaseError, pushed: list[str], images: list[Image]) -> str:
    """What a failed push leaves behind, for the person who runs the release."""
    moving = {tag for image in images for tag in image.tags.moving}
    moved = [r for r in pushed if r.rsplit(":", 1)[1] in moving]
    moved_line = f"moved before the failure: {', '.join(moved)}" if moved else "no moving tag (the date, latest) moved."
    return (
        f"pushing {ref} failed: {error}\npublished before the failure: {', '.join(pushed) or 'nothing'}\n{moved_line}"
    )


def docker_push(local: str, ref: str) -> None:
    run("docker", "tag", local, ref)
    run("docker", "push", ref, capture=False)


# -- what is inside an image --------------------------------------------------------

INSIDE = r"""
import importlib.metadata as m, json, platform, subprocess
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
def debian():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"], capture_output=True, text=True)
        return dict(line.split("\t") for line in out.stdout.splitlines() if "\t" in line)
    except OSError:
        return {}
def extensions():
    try:
        out = subprocess.run(["jupyter", "labextension", "list"], capture_output=True, text=True)
    except OSError:
        return {}
    found = {}
    for line in (out.stdout + out.stderr).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].startswith("v") and "enabled" in line:
            found[parts[0]] = parts[1][1:]
    return found
print(json.dumps({
    "python": platform.python_version(),
    "lab": version("jupyterlab"),
    "hub": version("jupyterhub"),
    "python_packages": {d.metadata["Name"].lower(): d.version for d in m.distributions()},
    "debian_packages": debian(),
    "lab_extensions": extensions(),
}))
"""


def look_inside(local: str) -> dict:
    output = run("docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", local, "-c", INSIDE)
    return json.loads(output.splitlines()[-1])


# -- verification -------------------------------------------------------------------


def digest_of(registry: Registry, image: Image, ref: str) -> str:
    for repo_digest in json.loads(run("docker", "inspect", "--format", "{{json .RepoDigests}}", ref)):
        name, _, digest = repo_digest.partition("@")
        if name == f"{registry.host}/{image.repository}":
            return digest
    raise ReleaseError(f"no digest for {ref} after pushing it")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise ReleaseError(f"timed out after {timeout:.0f}s waiting for {what} at {url}")


@contextlib.contextmanager
def proxy_api_stand_in():
    """A stand-in for the proxy's REST API, which the hub needs to start.

    The hub image ships no proxy: in the chart, configurable-http-proxy is its
    own pod. This answers the hub's route calls so the hub can come up alone.
    """

    class Routes(BaseHTTPRequestHandler):
        def answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - http.server's names
            self.answer(200, b"{}")

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.answer(201)

        def do_DELETE(self):  # noqa: N802
            self.answer(204)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def verify(registry: Registry, image: Image) -> None:
    """Pull the image back by digest and start it: the notebook serves /api, the hub its health check."""
    pinned = f"{registry.host}/{image.repository}@{image.digest}"
    say(f"verifying {pinned}")
    run("docker", "pull", "-q", pinned)
    port = free_port()
    with contextlib.ExitStack() as stack:
        if image.key == "notebook":
            command = ["notebook", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1"]
            url, env = f"http://127.0.0.1:{port}/api", []
        else:
            proxy_api = stack.enter_context(proxy_api_stand_in())
            command, env = hub_command(port, proxy_api)
            url = f"http://127.0.0.1:{port}/hub/health"
        start_and_wait(pinned, command, env, url, f"{image.repository} started from its digest")


def hub_command(port: int, proxy_api: str) -> tuple[list[str], list[str]]:
    """The hub on ``port`` with every required setting, its App nowhere, its proxy at ``proxy_api``."""
    app = "http://127.0.0.1:9"
    settings = {
        "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex(),
        "AUTHENTICATION_URL": f"{app}/notebooks/authenticate/",
        "DEFAULT_CREDENTIALS_URL": f"{app}/notebooks/default-credentials/",
        "WORKSPACE_CREDENTIALS_URL": f"{app}/workspaces/credentials/",
        "LOGOUT_REDIRECT_URL": f"{app}/login",
        "HEXA_SERVER_URL": app,
        "CONTENT_SECURITY_POLICY": f"frame-ancestors 'self' {app}",
        "HUB_API_TOKEN": os.urandom(16).hex(),
        "OPENHEXA_SPAWNER": "kubernetes",
    }
    env = [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]
    command = [
        "jupyterhub", "-f", "/usr/local/etc/jupyterhub/openhexa/jupyterhub_config.py",
        "--JupyterHub.hub_ip=127.0.0.1", f"--JupyterHub.hub_port={port}",
        "--ConfigurableHTTPProxy.should_start=False", f"--ConfigurableHTTPProxy.api_url={proxy_api}",
        "--JupyterHub.db_url=sqlite:///:memory:",
    ]  # fmt: skip
    return command, env


def start_and_wait(pinned: str, command: list[str], env: list[str], url: str, what: str) -> None:
    """Run ``pinned`` on the host network until ``url`` answers 200; always remove it."""
    container = run("docker", "run", "-d", "--network", "host", *env, pinned, *command)
    try:
        wait_for(url, what)
    except ReleaseError:
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        raise ReleaseError(f"{pinned} did not start:\n{(logs.stdout + logs.stderr)[-3000:]}") from None
    finally:
        run("docker", "rm", "-f", container, check=False)


# -- the manifest -------------------------------------------------------------------


def package_changes(old: dict[str, str], new: dict[str, str]) -> dict:
    return {
        "added": {name: new[name] for name in sorted(new.keys() - old.keys())},
        "removed": {name: old[name] for name in sorted(old.keys() - new.keys())},
        "upgraded": {
            name: [old[name], new[name]] for name in sorted(new.keys() & old.keys()) if old[name] != new[name]
        },
    }


def previous_manifest(releases: Path, current: str) -> dict | None:
    found = []
    for path in releases.glob("*/manifest.json"):
        if path.parent.name != current:
            manifest = json.loads(path.read_text())
            found.append((manifest["release"]["published_at"], manifest))
    return max(found, key=lambda item: item[0])[1] if found else None


def build_manifest(release: dict, images: list[Image], tiers: list[TierResult], previous: dict | None) -> dict:
    manifest = {
        "release": release,
        "images": {
            image.key: {
                "repository": image.repository,
                "tags": image.tags.in_push_order(),
                "digest": image.digest,
                **image.info,
            }
            for image in images
        },
        "tests": {t.name: {"passed": t.passed, "failed": t.failed, "skipped": t.skipped} for t in tiers},
        "previous": previous["release"]["name"] if previous else None,
        "changes": {},
    }
    if previous:
        for key, image in manifest["images"].items():
            old = previous["images"].get(key, {})
            manifest["changes"][key] = {
                kind: package_changes(old.get(kind, {}), image.get(kind, {}))
                for kind in ("python_packages", "debian_packages", "lab_extensions")
            }
    return manifest


def render_markdown(manifest: dict) -> str:
    release = manifest["release"]
    lines = [
        f"# OpenHexa notebooks release {release['name']}",
        "",
        f"Commit `{release['commit']}`, published {release['published_at']} to `{release['registry']}`"
        + (" from a work tree with uncommitted changes" if release["dirty"] else "")
        + ".",
        "",
        "| image | digest | size | tags |",
        "| --- | --- | --- | --- |",
    ]
    for image in manifest["images"].values():
        size = f"{image['size_bytes'] / 1e6:.0f} MB"
        lines.append(f"| `{image['repository']}` | `{image['digest']}` | {size} | {', '.join(image['tags'])} |")
    lines += ["", "## Tests", "", "| tier | passed | failed | skipped |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {t['passed']} | {t['failed']} | {t['skipped']} |" for name, t in manifest["tests"].items()]
    lines += ["", "## Changes", ""]
    if not manifest["previous"]:
        lines.append("The first release: nothing to compare with.")
    for key, kinds in manifest["changes"].items():
        lines.append(f"### {key} since {manifest['previous']}")
        for kind, change in kinds.items():
            moved = [f"+{n} {v}" for n, v in change["added"].items()]
            moved += [f"-{n} {v}" for n, v in change["removed"].items()]
            moved += [f"{n} {a} -> {b}" for n, (a, b) in change["upgraded"].items()]
            lines.append(f"- {kind.replace('_', ' ')}: " + ("; ".join(moved) if moved else "no change"))
        lines.append("")
    for image in manifest["images"].values():
        lines += ["", f"## {image['repository']}", ""]
        lines.append(f"Python {image['python']}; JupyterLab {image.get('lab') or '-'}; JupyterHub {image['hub']}.")
        lines.append("")
        lines.append(
            "JupyterLab extensions: " + (", ".join(f"{n} {v}" for n, v in image["lab_extensions"].items()) or "none")
        )
        lines.append("")
        lines.append("Python packages: " + ", ".join(f"{n}=={v}" for n, v in sorted(image["python_packages"].items())))
        lines.append("")
        lines.append(f"Debian packages: {len(image['debian_packages'])} (listed in manifest.json).")
    return "\n".join(lines) + "\n"


def point_chart_values_at(tag: str, values: Path = VALUES) -> None:
    """Set hub.image.tag and singleuser.image.tag in the chart values to ``tag``."""
    text = values.read_text()
    updated, count = re.subn(r'(?m)^(    tag: )"[^"]*"$', rf'\g<1>"{tag}"', text)
    if count != 2:
        raise ReleaseError(f"{values}: expected the two image tags (hub, singleuser), found {count}")
    values.write_text(updated)


# -- the whole release --------------------------------------------------------------


def gate(artifacts: Path) -> list[TierResult]:
    """Build, then run every tier; stop at the first that fails or runs nothing."""
    say("building the images")
    run("make", "build", capture=False)
    # The tiers' own `build` prerequisite reuses what was just built: NO_CACHE=1 is for that build only.
    tier_env = {name: value for name, value in os.environ.items() if name != "NO_CACHE"}
    results = []
    for tier in TIERS:
        say(f"tier {tier}")
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


# -- gate, then publish ------------------------------------------------------------------

GATE_RECORD = "gate.json"


def image_id(local: str) -> str:
    return run("docker", "image", "inspect", "--format", "{{.Id}}", local)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", default=os.environ.get("REGISTRY") or "localhost:5000")
    parser.add_argument("--prefix", default=os.environ.get("IMAGE_PREFIX", "blsq/"))
    parser.add_argument("--local-tag", default=os.environ.get("TAG", "dev"))
    parser.add_argument("--allow-dirty", action="store_true", default=os.environ.get("ALLOW_DIRTY") == "1")
    parser.add_argument("--records", type=Path, default=RELEASES, help="where manifests go (releases/)")
    parser.add_argument("--values", type=Path, default=VALUES, help="the chart values to point at the release")
    parser.add_argument("--skip-gates", action="store_true", help="for the release's own tests: a local registry only")
    parser.add_argument(
        "--phase",
        choices=("all", "gate", "publish"),
        default=os.environ.get("RELEASE_PHASE") or "all",
        help="gate only, publish what the last gate passed, or both (default)",
    )
    args = parser.parse_args(argv)
    if args.skip_gates and not Registry(args.registry).local:
        raise ReleaseError("--skip-gates publishes untested images: only to a local registry, for tests")

    status = run("git", "status", "--porcelain")
    check_clean_tree(status, args.allow_dirty)
    commit = run("git", "rev-parse", "HEAD")
    version = version_of(run("git", "tag", "--points-at", "HEAD").split())
    now = dt.datetime.now(dt.UTC)
    registry = Registry(args.registry)
    images = [
        Image(
            "notebook", f"{args.prefix}openhexa-base-notebook:{args.local_tag}", f"{args.prefix}openhexa-base-notebook"
        ),
        Image(
            "hub",
            f"{args.prefix}openhexa-jupyterhub:{args.local_tag}",
            f"{args.prefix}openhexa-jupyterhub",
            describes=("python", "hub"),
        ),
    ]
    name = version or commit[:12]
    artifacts = ROOT / "artifacts" / "release"
    artifacts.mkdir(parents=True, exist_ok=True)
    say(f"releasing {name} to {registry.host}" + (" (work tree not clean)" if status.strip() else ""))

    record = artifacts / GATE_RECORD
    if args.skip_gates:
        tiers = []
    elif args.phase == "publish":
        tiers = gated_tiers(record, commit, images)
    else:
        record.unlink(missing_ok=True)
        tiers = gate(artifacts)
        record_gate(record, commit, images, tiers)
        if args.phase == "gate":
            say(f"the gate passed for {name}: publish it with `make release-publish`")
            return 0
    for image in images:
        inside = look_inside(image.local)
        image.tags = compute_tags(version, now.date(), commit, inside, image.describes)
        base_label = '{{index .Config.Labels "org.openhexa.base"}}'
        image.info = {
            "size_bytes": int(run("docker", "image", "inspect", "--format", "{{.Size}}", image.local)),
            "base": run("docker", "image", "inspect", "--format", base_label, image.local),
            **inside,
        }
    refuse_existing(registry, images)
    publish(registry, images, docker_push, PINNED_STAGES)
    for image in images:  # pulled back and started before any moving tag names it
        image.digest = digest_of(registry, image, registry.ref(image.repository, image.tags.immutable[-1]))
        verify(registry, image)
    publish(registry, images, docker_push, MOVING_STAGES)

    release = {
        "name": name,
        "version": version,
        "commit": commit,
        "dirty": bool(status.strip()),
        "registry": registry.host,
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    manifest = build_manifest(release, images, tiers, previous_manifest(args.records, name))
    folder = args.records / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (folder / "manifest.md").write_text(render_markdown(manifest))
    point_chart_values_at(name, args.values)

    say("published")
    for image in images:
        print(f"  {registry.host}/{image.repository}@{image.digest}")
        print(f"    tags: {', '.join(image.tags.in_push_order())}")
    print(f"  manifest: {folder}/manifest.md; {args.values} now uses {name}")
    print("  commit them to record the release.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ReleaseError as error:
        print(f"release refused: {error}", file=sys.stderr)
        sys.exit(1)
