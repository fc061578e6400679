"""RELIABILITY.md is generated from the results, and lists every fault and hostile-input test there is."""

import re
import subprocess
import sys

from harness import ROOT
from scripts.reliability_report import render


def marked_tests() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "reliability", "-p", "no:cacheprovider",
         "tests/unit", "tests/hub", "tests/image", "tests/e2e"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_the_committed_report_lists_every_marked_test():
    listed = {
        f"{path}::{name.replace(chr(92) + '|', '|')}"
        for path, name in re.findall(r"\| `([^`]+)`::`([^`]+)` \|$", (ROOT / "RELIABILITY.md").read_text(), re.M)
    }
    marked = marked_tests()
    assert marked, "no test carries the reliability marker"
    assert listed == marked, (
        f"RELIABILITY.md is stale: missing {sorted(marked - listed)}, gone {sorted(listed - marked)}. "
        "Run `make test`, then `make reliability`."
    )


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
