"""The release's phases, as it goes: said on the console, recorded as JSON for `bench/`.

``artifacts/release/phases.json``, rewritten as each phase ends (so a refused release
leaves the phases it got through)::

    {"started": "2026-11-26T12:00:00.000+00:00", "outcome": "published",
     "phases": [{"name": "build", "kind": "build", "start": "...", "end": "...",
                 "seconds": 312.3, "outcome": "passed"}, ...]}

Kinds: ``build``; ``tier`` (named after each of gate.TIERS); ``inspect`` (an image,
inside); ``push`` (one ref); ``sbom`` (one image's, attached); ``verify`` (one image by
digest); ``sign`` (one image's signatures and provenance); ``record`` (manifest and chart
values). A phase's outcome is ``passed`` or ``failed``; the run's is
``running`` until it ends, then ``gated``, ``published`` or ``refused``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from pathlib import Path

KINDS = ("build", "tier", "inspect", "push", "sbom", "verify", "sign", "record")


def say(message: str) -> None:
    """A line for the person watching: bold, after ``==>``."""
    print(f"\033[1m==> {message}\033[0m", flush=True)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Phases:
    """Records each phase of one release run into ``path`` (None: only says them)."""

    def __init__(self, path: Path | None, clock=time.monotonic, stamp=now):
        self.path, self.clock, self.stamp = path, clock, stamp
        self.record: dict = {"started": stamp(), "outcome": "running", "phases": []}
        self.write()

    @contextlib.contextmanager
    def phase(self, kind: str, name: str, message: str | None = None):
        """Time the body as one phase; it failed if the body raised (which goes on)."""
        if kind not in KINDS:
            raise ValueError(f"unknown phase kind {kind!r}: one of {', '.join(KINDS)}")
        say(message or name)
        start, started = self.stamp(), self.clock()
        entry = {"name": name, "kind": kind, "start": start}
        try:
            yield entry
        except BaseException:
            self.close(entry, started, "failed")
            raise
        self.close(entry, started, "passed")

    def close(self, entry: dict, started: float, outcome: str) -> None:
        entry.update(end=self.stamp(), seconds=round(self.clock() - started, 3), outcome=outcome)
        self.record["phases"].append(entry)
        self.write()

    def finish(self, outcome: str) -> None:
        self.record["outcome"] = outcome
        self.write()

    def write(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.record, indent=2) + "\n")


def read(path: Path) -> dict:
    """A phases file, checked to have what a reader relies on."""
    record = json.loads(path.read_text())
    for entry in record["phases"]:
        missing = {"name", "kind", "start", "end", "seconds", "outcome"} - entry.keys()
        if missing:
            raise ValueError(f"{path}: phase {entry.get('name')!r} lacks {', '.join(sorted(missing))}")
    return record
