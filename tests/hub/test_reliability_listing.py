"""RELIABILITY.md lists every fault and hostile-input test there is, in every tier.

It collects every tier (the image and end-to-end ones import testinfra and the Docker SDK),
so it is not the unit tier's, which runs without them.
"""

import re
import subprocess
import sys

from harness import ROOT


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
