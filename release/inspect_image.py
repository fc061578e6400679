"""What is inside an image: run *in* the image (``python3 - < inspect_image.py``), prints JSON.

Standard library only, and nothing from this repository: it runs on the image's own Python.
Prints one JSON object: the Python, JupyterLab and JupyterHub versions, every Python
distribution, every Debian package (and dpkg's architecture), every npm package installed in a
``node_modules`` folder under /opt or /usr/local, and every enabled JupyterLab extension.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import platform
import subprocess
from pathlib import Path

NODE_MODULES = ("/opt", "/usr/local")  # where the images install npm packages (the hub's proxy)


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def python_packages() -> dict[str, str]:
    return {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}


def debian_packages() -> dict[str, str]:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"], capture_output=True, text=True, check=False
        )
    except OSError:
        return {}
    return dict(line.split("\t", 1) for line in out.stdout.splitlines() if "\t" in line)


def debian_architecture() -> str | None:
    try:
        out = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None


def npm_packages() -> list[list[str]]:
    """[name, version] of each package installed in a node_modules folder (``@scope/name`` too, nested
    ones too: one name can be there at two versions)."""
    found = set()
    for top in NODE_MODULES:
        for manifest in Path(top).glob("**/node_modules/**/package.json"):
            parts = manifest.parent.parts
            last = len(parts) - 1 - parts[::-1].index("node_modules")
            inside = parts[last + 1 :]
            if len(inside) == 1 or (len(inside) == 2 and inside[0].startswith("@")):
                try:
                    found.add(("/".join(inside), json.loads(manifest.read_text())["version"]))
                except (OSError, ValueError, KeyError):
                    continue
    return [list(pair) for pair in sorted(found)]


def parse_extensions(listing: str) -> dict[str, str]:
    """``jupyter labextension list``'s enabled extensions: name to version."""
    found = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].startswith("v") and "enabled" in line:
            found[parts[0]] = parts[1][1:]
    return found


def lab_extensions() -> dict[str, str]:
    try:
        out = subprocess.run(["jupyter", "labextension", "list"], capture_output=True, text=True, check=False)
    except OSError:
        return {}
    return parse_extensions(out.stdout + out.stderr)


def collect() -> dict:
    return {
        "python": platform.python_version(),
        "lab": version("jupyterlab"),
        "hub": version("jupyterhub"),
        "python_packages": python_packages(),
        "debian_packages": debian_packages(),
        "debian_architecture": debian_architecture(),
        "npm_packages": npm_packages(),
        "lab_extensions": lab_extensions(),
    }


if __name__ == "__main__":
    print(json.dumps(collect()))
