"""The project's Python locks and how an environment compares with them.

One hub environment: ``hub/requirements.lock`` is what the production hub image runs,
``hub/requirements-local.lock`` the same plus DockerSpawner (the ``-local`` image), and the
.venv's ``requirements.lock`` holds both at the same versions plus the tests' own tools. The
image tier compares each hub image's ``pip freeze`` with its lock, the unit tier the .venv,
and the release records the hub image's packages from here. ``requirements-jupyterhub6.lock``
is the .venv's set on JupyterHub 6 (``make test-jupyterhub6``), not production's.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness import ROOT

HUB_LOCK = ROOT / "hub" / "requirements.lock"
HUB_LOCAL_LOCK = ROOT / "hub" / "requirements-local.lock"
VENV_LOCK = ROOT / "requirements.lock"
JUPYTERHUB6_LOCK = ROOT / "requirements-jupyterhub6.lock"
# What JupyterHub 6.1 requires beyond 5.5's dependencies (aiodns for its aiohttp client, and aiodns's
# own): the only packages of requirements-jupyterhub6.lock that requirements.lock does not have.
JUPYTERHUB6_ADDS = frozenset({"aiodns", "pycares"})
HUB_INPUT = ROOT / "hub" / "requirements.in"
# In every hub environment beside the lock: the installer, and the product (hub/pyproject.toml).
INSTALLER = "pip"
PRODUCT = "openhexa-hub"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(.*)$")
FREEZE_URL = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*) @ ")


def environment_lock(jupyterhub_version: str) -> Path:
    """The lock a .venv with this JupyterHub was made from (``make setup``, ``JUPYTERHUB=6`` or not)."""
    return JUPYTERHUB6_LOCK if jupyterhub_version.split(".")[0] == "6" else VENV_LOCK


def canonical(name: str) -> str:
    """A distribution's name as PEP 503 compares them (``ruamel.yaml`` is ``ruamel-yaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line of a lock, freeze or input (names canonical)."""
    found = {}
    for line in Path(path).read_text().splitlines():
        if match := PIN.match(line.strip()):
            found[canonical(match.group(1))] = match.group(2)
    return found


def hashes(path: Path) -> dict[str, set[str]]:
    """name -> the sha256 digests a lock allows for it."""
    found = {}
    for line in Path(path).read_text().splitlines():
        if match := PIN.match(line.strip()):
            found[canonical(match.group(1))] = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", match.group(3)))
    return found


def freeze_pins(freeze: str) -> dict[str, str]:
    """name -> version of ``pip freeze --all``'s output; a package installed from a path or URL
    (``name @ file:///...``, as the product is) has the version ``@``."""
    found = {}
    for line in freeze.splitlines():
        if match := PIN.match(line.strip()):
            found[canonical(match.group(1))] = match.group(2)
        elif match := FREEZE_URL.match(line.strip()):
            found[canonical(match.group(1))] = "@"
    return found


def differences(installed: dict[str, str], lock: dict[str, str], beside: tuple[str, ...] = ()) -> list[str]:
    """Each way ``installed`` differs from ``lock``, one line a package; ``beside``: names an
    environment has beyond its lock on purpose (they must be there)."""
    found = []
    for name in sorted(set(installed) | set(lock) | set(beside)):
        have, want = installed.get(name), lock.get(name)
        if name in beside:
            if have is None:
                found.append(f"{name}: missing (it belongs beside the lock)")
        elif have is None:
            found.append(f"{name}=={want}: in the lock, not installed")
        elif want is None:
            found.append(f"{name}=={have}: installed, not in the lock")
        elif have != want:
            found.append(f"{name}: {have} installed, the lock has {want}")
    return found


def documented_differences(path: Path = HUB_INPUT) -> dict[str, tuple[str | None, str | None]]:
    """The differences from the chart's hub image that hub/requirements.in writes down, by name:
    ``~ name a -> b`` (a changed version), ``- name`` (left out), ``+ name version`` (added);
    each as (the chart's version or None, ours or None)."""
    found = {}
    for line in Path(path).read_text().splitlines():
        if match := re.match(r"^#\s+~ ([A-Za-z0-9._-]+) (\S+) -> ([^\s:]+):", line):
            found[canonical(match.group(1))] = (match.group(2), match.group(3))
        elif match := re.match(r"^#\s+- ([A-Za-z0-9._-]+):", line):
            found[canonical(match.group(1))] = ("*", None)
        elif match := re.match(r"^#\s+\+ ([A-Za-z0-9._-]+) (\d\S*?):", line):
            found[canonical(match.group(1))] = (None, match.group(2))
    return found
