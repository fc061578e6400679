"""releases/<name>/manifest.json and manifest.md: one function per section, as Docker Stacks' manifests."""

from __future__ import annotations

import json
from pathlib import Path

from release.gate import TierResult
from release.images import Image

PACKAGE_KINDS = ("python_packages", "debian_packages", "alpine_packages", "lab_extensions", "node_packages")


# -- the JSON ------------------------------------------------------------------------


def package_changes(old: dict[str, str], new: dict[str, str]) -> dict:
    return {
        "added": {name: new[name] for name in sorted(new.keys() - old.keys())},
        "removed": {name: old[name] for name in sorted(old.keys() - new.keys())},
        "upgraded": {
            name: [old[name], new[name]] for name in sorted(new.keys() & old.keys()) if old[name] != new[name]
        },
    }


def previous_manifest(releases: Path, current: str) -> dict | None:
    """The newest release in ``releases`` other than ``current``, or None."""
    found = []
    for path in releases.glob("*/manifest.json"):
        if path.parent.name != current:
            manifest = json.loads(path.read_text())
            found.append((manifest["release"]["published_at"], manifest))
    return max(found, key=lambda item: item[0])[1] if found else None


def images_section(images: list[Image]) -> dict:
    return {
        image.key: {
            "repository": image.repository,
            "tags": image.tags.in_push_order(),
            "digest": image.digest,
            "sbom": image.sbom,
            **image.info,
        }
        for image in images
    }


def tests_section(tiers: list[TierResult]) -> dict:
    return {t.name: {"passed": t.passed, "failed": t.failed, "skipped": t.skipped} for t in tiers}


def previous_section(previous: dict | None) -> str | None:
    return previous["release"]["name"] if previous else None


def changes_section(images: dict, previous: dict | None) -> dict:
    """Per image, what was added, removed or upgraded since ``previous`` (nothing for a first release)."""
    if not previous:
        return {}
    changes = {}
    for key, image in images.items():
        old = previous["images"].get(key, {})
        changes[key] = {kind: package_changes(old.get(kind, {}), image.get(kind, {})) for kind in PACKAGE_KINDS}
    return changes


def build_manifest(
    release: dict, images: list[Image], tiers: list[TierResult], previous: dict | None, chart: dict | None = None
) -> dict:
    images_json = images_section(images)
    return {
        "release": release,
        "images": images_json,
        "tests": tests_section(tiers),
        "chart": chart,
        "previous": previous_section(previous),
        "changes": changes_section(images_json, previous),
    }


# -- the Markdown --------------------------------------------------------------------


def md_header(manifest: dict) -> list[str]:
    release = manifest["release"]
    dirty = " from a work tree with uncommitted changes" if release["dirty"] else ""
    return [
        f"# OpenHexa notebooks release {release['name']}",
        "",
        f"Commit `{release['commit']}`, published {release['published_at']} to `{release['registry']}`{dirty}.",
        "",
    ]


def md_images(manifest: dict) -> list[str]:
    lines = ["| image | digest | size | tags | SBOM |", "| --- | --- | --- | --- | --- |"]
    for image in manifest["images"].values():
        size = f"{image['size_bytes'] / 1e6:.0f} MB"
        sbom = f"`{image['sbom']}`" if image.get("sbom") else "-"
        tags = ", ".join(image["tags"])
        lines.append(f"| `{image['repository']}` | `{image['digest']}` | {size} | {tags} | {sbom} |")
    return lines


def md_tests(manifest: dict) -> list[str]:
    lines = ["", "## Tests", "", "| tier | passed | failed | skipped |", "| --- | --- | --- | --- |"]
    return lines + [
        f"| {name} | {t['passed']} | {t['failed']} | {t['skipped']} |" for name, t in manifest["tests"].items()
    ]


def md_chart(manifest: dict) -> list[str]:
    chart = manifest.get("chart")
    if not chart:
        return ["", "## The chart", "", "No gate ran (a release's own test)."]
    if not chart["gated"]:
        return ["", "## The chart", "", f"Not gated on {chart['name']} {chart['version']}'s own hub configuration: "
                f"{chart['why']}"]  # fmt: skip
    files = "; ".join(f"`{name}` sha256 `{digest}`" for name, digest in chart["sha256"].items())
    return ["", "## The chart", "", f"Gated on {chart['name']} {chart['version']}'s own hub configuration: {files}."]


def md_changes(manifest: dict) -> list[str]:
    lines = ["", "## Changes", ""]
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
    return lines


def md_contents(manifest: dict) -> list[str]:
    lines = []
    for image in manifest["images"].values():
        lines += ["", f"## {image['repository']}", ""]
        if image.get("chp"):  # the proxy image: Node.js, no Python
            modules = ", ".join(f"{n}@{v}" for n, v in sorted(image.get("node_packages", {}).items()))
            lines += [f"configurable-http-proxy {image['chp']} on Node.js {image['node']}.", ""]
            lines.append(f"Node.js modules: {modules}")
            continue
        extensions = ", ".join(f"{n} {v}" for n, v in image["lab_extensions"].items()) or "none"
        packages = ", ".join(f"{n}=={v}" for n, v in sorted(image["python_packages"].items()))
        lines += [
            f"Python {image['python']}; JupyterLab {image.get('lab') or '-'}; JupyterHub {image['hub']}.", "",
            f"JupyterLab extensions: {extensions}", "",
            f"Python packages: {packages}", "",
            f"Debian packages: {len(image['debian_packages'])} (listed in manifest.json).",
        ]  # fmt: skip
    return lines


MARKDOWN_SECTIONS = (md_header, md_images, md_tests, md_chart, md_changes, md_contents)


def render_markdown(manifest: dict) -> str:
    return "\n".join(line for section in MARKDOWN_SECTIONS for line in section(manifest)) + "\n"


def write(folder: Path, manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (folder / "manifest.md").write_text(render_markdown(manifest))
