"""What the tests, the benchmark and the release share: processes that always stop, one
wait-until, the hub and the mock App as processes, containers, the compose stack, the browser.

Nothing here imports the tests; the tests, ``bench/`` and ``release/`` import this.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"  # what runs leave for people to read: screenshots, logs, reports
