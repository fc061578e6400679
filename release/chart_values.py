"""Point the chart values at a release: each image's tag at the place chart.yaml declares.

chart-values/chart.yaml says where each image's tag lives (``images:``, as chartpress
does), a dotted path into values.yaml. The file is edited as YAML, not by a pattern:
``yaml.compose`` finds the scalar node at the path, and its marks give the exact span of
the old value in the text, which is replaced by the new one (double-quoted, so ``1.10``
stays a string). Comments, order, quoting and spacing everywhere else stay byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from release import ROOT, ReleaseError

CHART = ROOT / "chart-values" / "chart.yaml"
VALUES = ROOT / "chart-values" / "values.yaml"


def declared_places(chart: Path = CHART) -> dict[str, str]:
    """chart.yaml's ``images:``: each image (repository without its prefix) to its tag's path."""
    places = (yaml.safe_load(chart.read_text()) or {}).get("images")
    if not isinstance(places, dict) or not places:
        raise ReleaseError(f"{chart}: no `images:` saying where each image's tag lives in the values")
    return {str(name): str(path) for name, path in places.items()}


def places_for(names: list[str], chart: Path = CHART) -> dict[str, str]:
    """The declared path of each image in ``names``; ReleaseError naming those chart.yaml leaves out."""
    places = declared_places(chart)
    missing = [name for name in names if name not in places]
    if missing:
        raise ReleaseError(f"{chart}: `images:` does not say where the tag of {', '.join(missing)} lives")
    return {name: places[name] for name in names}


def scalar_at(text: str, path: str, source: str = "the values") -> yaml.ScalarNode:
    """The scalar node at dotted ``path`` of the YAML ``text``; ReleaseError naming the path if it is not there."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(node, yaml.MappingNode):
            raise ReleaseError(f"{source}: no {path}: {'.'.join(walked) or 'the document'} is not a mapping")
        found = [value for name, value in node.value if isinstance(name, yaml.ScalarNode) and name.value == key]
        if not found:
            raise ReleaseError(f"{source}: no {path}: {'.'.join(walked) or 'the document'} has no key {key!r}")
        node = found[-1]
        walked.append(key)
    if not isinstance(node, yaml.ScalarNode):
        raise ReleaseError(f"{source}: {path} is not a single value (a tag)")
    return node


def set_scalar(text: str, path: str, value: str, source: str = "the values") -> str:
    """``text`` with the value at ``path`` replaced by ``value``, and nothing else changed."""
    node = scalar_at(text, path, source)
    return text[: node.start_mark.index] + json.dumps(value) + text[node.end_mark.index :]


def with_tag(text: str, places: dict[str, str], tag: str, source: str = "the values") -> str:
    """``text`` with every declared place set to ``tag``, checked by reading it back."""
    for path in places.values():
        text = set_scalar(text, path, tag, source)
    for path in places.values():
        if scalar_at(text, path, source).value != tag:
            raise ReleaseError(f"{source}: {path} did not take the tag {tag!r}")
    return text


def check(values: Path, places: dict[str, str]) -> None:
    """Every declared place exists in ``values`` (before anything is pushed)."""
    text = values.read_text()
    for path in places.values():
        scalar_at(text, path, str(values))


def point_chart_values_at(tag: str, values: Path = VALUES, places: dict[str, str] | None = None) -> None:
    """Set each image's tag in ``values`` (the declared places, by default all of chart.yaml's) to ``tag``."""
    places = places if places is not None else declared_places()
    values.write_text(with_tag(values.read_text(), places, tag, str(values)))
