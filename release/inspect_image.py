"""What is inside an image: run *in* the image (``python3 - < inspect_image.py``), prints JSON.

Standard library only, and nothing from this repository: it runs on the image's own Python.
Prints one JSON object: the Python, JupyterLab and JupyterHub versions, every Python
distribution, every Debian package and every enabled JupyterLab extension.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import platform
import subprocess


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
        "lab_extensions": lab_extensions(),
    }


if __name__ == "__main__":
    print(json.dumps(collect()))
