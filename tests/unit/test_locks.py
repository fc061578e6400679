"""One hub environment: the hub's locks, the .venv's, and what the .venv really has installed.

The production hub image installs hub/requirements.lock, the -local image
hub/requirements-local.lock, and `make setup` the .venv's requirements.lock, each with
--require-hashes and nothing resolved again; tests/image/test_versions.py compares the
built images with the first two.
"""

import importlib.metadata
import re
import sys

import pytest
import yaml

from harness import ROOT
from harness.locks import (
    HUB_INPUT,
    HUB_LOCAL_LOCK,
    HUB_LOCK,
    JUPYTERHUB6_ADDS,
    JUPYTERHUB6_LOCK,
    VENV_LOCK,
    canonical,
    differences,
    documented_differences,
    environment_lock,
    hashes,
    pins,
)

LOCKS = [HUB_LOCK, HUB_LOCAL_LOCK, VENV_LOCK, JUPYTERHUB6_LOCK]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_pin_of_every_lock_carries_its_hashes(lock):
    lines = [line for line in lock.read_text().splitlines() if line and line[0] not in "# "]
    assert len(lines) > 50
    for line in lines:
        assert re.match(r"^[A-Za-z0-9_.\-]+==\S+ (--hash=sha256:[0-9a-f]{64} ?)+$", line), line[:80]


def test_the_local_hub_is_the_production_hub_plus_dockerspawner():
    production, local = pins(HUB_LOCK), pins(HUB_LOCAL_LOCK)
    assert set(local) - set(production) == {"dockerspawner", "docker"}
    assert differences({name: local[name] for name in production}, production) == []
    assert all(hashes(HUB_LOCAL_LOCK)[name] == digests for name, digests in hashes(HUB_LOCK).items())


def test_the_venv_lock_has_every_hub_package_at_the_hubs_version_and_hashes():
    hub, venv = pins(HUB_LOCAL_LOCK), pins(VENV_LOCK)
    found = differences({name: venv.get(name) for name in hub if name in venv}, hub)
    found += [f"{name}: not in requirements.lock" for name in hub if name not in venv]
    assert not found, "\n".join(found)
    venv_hashes = hashes(VENV_LOCK)
    assert all(venv_hashes[name] == digests for name, digests in hashes(HUB_LOCAL_LOCK).items())


def test_this_venv_runs_the_hubs_packages():
    """What is installed, not only what the lock says: no other version of a hub package (on JupyterHub 6,
    of requirements-jupyterhub6.lock's)."""
    installed = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    lock = pins(environment_lock(installed["jupyterhub"]))
    hub = {name: lock[name] for name in pins(HUB_LOCAL_LOCK)}
    found = differences({name: installed.get(name) for name in hub if name in installed}, hub)
    found += [f"{name}=={hub[name]}: not installed (run `make setup`)" for name in hub if name not in installed]
    assert not found, "\n".join(found)


def test_the_jupyterhub6_lock_is_the_venvs_with_jupyterhub6_and_its_own_dependencies():
    """requirements-jupyterhub6.lock (make lock-jupyterhub6) moves JupyterHub to 6 and nothing else: every
    other package at requirements.lock's version with its hashes, beside what JupyterHub 6 adds."""
    venv, six = pins(VENV_LOCK), pins(JUPYTERHUB6_LOCK)
    assert six["jupyterhub"].startswith("6.") and venv["jupyterhub"].startswith("5.")
    assert set(six) - set(venv) == JUPYTERHUB6_ADDS
    assert set(venv) - set(six) == set()
    same = {name: six[name] for name in venv if name != "jupyterhub"}
    assert differences(same, {name: venv[name] for name in same}) == []
    venv_hashes, six_hashes = hashes(VENV_LOCK), hashes(JUPYTERHUB6_LOCK)
    assert all(six_hashes[name] == venv_hashes[name] for name in same)


def test_the_hub_lock_is_its_input_and_the_written_differences_hold():
    """hub/requirements.in pins every package; the differences from the chart it writes down are in it."""
    wanted, locked = pins(HUB_INPUT), pins(HUB_LOCK)
    assert differences(locked, wanted) == []
    documented = documented_differences()
    assert {"jupyterhub", "tornado", "rfc3987-syntax", "py-spy"} <= set(documented)
    for name, (_, ours) in documented.items():
        assert locked.get(name) == ours, f"hub/requirements.in says {name} is {ours}; the lock has {locked.get(name)}"


def test_the_slow_format_checker_is_left_out_of_every_lock():
    for lock in LOCKS:
        assert "rfc3987-syntax" not in pins(lock), lock


def test_the_tier_says_which_python_production_runs(pytestconfig):
    chart = yaml.safe_load((ROOT / "chart-values" / "chart.yaml").read_text())
    header = pytestconfig.hook.pytest_report_header(config=pytestconfig, start_path=ROOT)
    lines = [line for block in header for line in ([block] if isinstance(block, str) else block)]
    this = "{}.{}".format(*sys.version_info[:2])
    assert any(f"Python: {this}" in line and chart["hubPython"] in line for line in lines), lines


def pip_installs(text: str) -> list[str]:
    """Each `pip install` command of a Makefile or Dockerfile, its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [m.group(0) for m in re.finditer(r"pip\"? install[^\n&;]*", joined)]


INSTALLERS = ["Makefile", "hub/Dockerfile", "hub/offline-base/Dockerfile", "jupyter/Dockerfile",
              "jupyter/offline-base/Dockerfile"]  # fmt: skip


@pytest.mark.parametrize("path", INSTALLERS)
def test_every_install_takes_a_lock_with_its_hashes_and_resolves_nothing_else(path):
    """No fallback that strips hashes or resolves again: every file checked against a lock's sha256; either
    the whole lock with --no-deps, or the requirements constrained by the lock (-c, whose hashes pip 26.1+
    applies); only the product itself (hub/, without dependencies) and the lock tool are installed otherwise."""
    text = (ROOT / path).read_text()
    installs = pip_installs(text)
    assert installs
    for install in installs:
        if "PIP_TOOLS" in install:
            continue
        if install.rstrip().endswith(("-e hub", "/tmp/openhexa-hub")):
            assert "--no-deps" in install, install
            continue
        assert "--require-hashes" in install, install
        lock = r"-r (\S*(requirements(-local)?|pip)\.lock\b|\$\(VENV_LOCK\))"  # VENV_LOCK: below
        whole = re.search(lock, install) and "--no-deps" in install
        constrained = re.search(r"-c \S*requirements\.lock\b", install)
        assert whole or constrained, install
    assert "npm install" not in text, "npm ci, from package-lock.json"
    if path == "Makefile":
        assert set(re.findall(r"^VENV_LOCK := (.*)$", text, re.M)) == {"requirements.lock", JUPYTERHUB6_LOCK.name}


def test_the_notebook_lock_carries_a_hash_for_every_package():
    lock = ROOT / "jupyter" / "requirements.lock"
    text = lock.read_text()
    assert text.count("sha256") >= len(pins(lock)) > 150
    assert all(hashes(lock)[name] for name in pins(lock))
    assert "pip" in pins(lock), "the installer the images take first"
