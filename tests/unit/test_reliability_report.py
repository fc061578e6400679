"""RELIABILITY.md is generated from the results (how rows render).

That it lists every marked test of every tier is tests/hub/test_reliability_listing.py: it collects
the image and end-to-end tiers, so it needs what they import (testinfra, the Docker SDK).
"""

import ast

import yaml

from harness import ROOT
from scripts.reliability_report import render


def test_a_failed_check_shows_as_failed_and_its_loss_unknown():
    rows = [
        {"test": "tests/e2e/test_faults.py::test_a", "area": "Fault", "tried": "a | b", "expected": "x",
         "outcome": "failed", "detail": "AssertionError: the notebook is gone"},
        {"test": "tests/unit/test_b.py::test_b[x]", "area": "Hostile input", "tried": "t", "expected": "y",
         "outcome": "passed", "detail": ""},
    ]  # fmt: skip
    text = render(rows, "abc", "2026-11-26")
    assert "1 of 2 checks held" in text
    assert "| a \\| b | x | **failed**: AssertionError: the notebook is gone | see the failure |" in text
    assert "| t | y | as expected | nothing | `tests/unit/test_b.py`::`test_b[x]` |" in text


def test_a_security_finding_shows_what_happened_before_its_fix():
    rows = [
        {"test": "tests/unit/test_c.py::test_c", "area": "Security", "tried": "a copied cookie", "expected": "refused",
         "outcome": "passed", "detail": "", "before": "the thief kept access"},
        {"test": "tests/unit/test_d.py::test_d", "area": "Security", "tried": "t", "expected": "y",
         "outcome": "passed", "detail": ""},
    ]  # fmt: skip
    text = render(rows, "abc", "2026-11-28")
    section = text.split("## Security review: before and after", 1)[1]
    row = "| a copied cookie | the thief kept access | refused | as expected | `tests/unit/test_c.py`::`test_c` |"
    assert row in section
    assert "test_d" not in section


def test_every_reliability_row_names_a_test_that_exists():
    """tests/reliability.yaml: each key a test function of its file (or one case of it), each row complete."""
    rows = yaml.safe_load((ROOT / "tests" / "reliability.yaml").read_text())
    assert rows, "no reliability rows"
    for key, row in rows.items():
        path, name = key.split("::")
        function = name.split("[")[0]
        tree = ast.parse((ROOT / path).read_text())
        assert function in {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}, key
        assert {"area", "tried", "expected"} <= set(row) <= {"area", "tried", "expected", "before"}, key
