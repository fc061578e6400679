"""Keep parts of a run as their baselines: ``python -m bench.baseline RESULTS.json PART [PART ...]``.

``bench/results/`` holds two results files: ``latest.*``, the last ``make bench``, and ``baseline.*``,
each part as measured in the run ``BENCHMARKS.md`` takes as that part's reference, with that run's
meta beside it (``parts.<part>.run``). Every run is also kept, dated, with its logs in
``artifacts/bench/<date>-<commit>/`` (not committed); this copies a part from there, or from
``latest.json``, into the baseline and renders ``baseline.md`` again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import report
from bench.run import RESULTS

BASELINE = RESULTS / "baseline.json"


def keep(results: dict, names: list[str], baseline: dict) -> dict:
    """``baseline`` with each named part of ``results`` in place of its own, with the run's meta."""
    parts = dict(baseline.get("parts", {}))
    for name in names:
        part = results.get("parts", {}).get(name)
        if not isinstance(part, dict) or "error" in part:
            raise ValueError(f"the run has no finished {name!r} part: {sorted(results.get('parts', {}))}")
        parts[name] = {**part, "run": results["meta"]}
    return {"meta": {"baseline": True}, "parts": parts}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) < 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    results = json.loads(Path(args[0]).read_text())
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    try:
        kept = keep(results, args[1:], baseline)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    BASELINE.write_text(json.dumps(kept, indent=2) + "\n")
    for written in [BASELINE, *report.write(kept, RESULTS, BASELINE.stem)]:
        print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
