"""Timed commands: run one, echo and keep its output, and time its phases by its ``==>`` lines.

The build scripts announce each step with a bold ``==> what`` line; a phase lasts from its line
to the next one (the release records its phases as JSON, which bench/release.py reads). In a dry
run (``BENCH_DRY_RUN=1``) a command is not run: a stand-in prints the markers the real one would,
so the parsing and the results can be checked in seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^(?:\x1b\[[0-9;]*m)*==> (.*?)(?:\x1b\[[0-9;]*m)*\s*$")


@dataclass
class Timed:
    """A finished command: its wall time, exit status and phases (marker, start, seconds)."""

    command: list[str]
    seconds: float
    status: int
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    tail: str = ""

    def to_json(self) -> dict:
        return {
            "command": " ".join(self.command),
            "seconds": round(self.seconds, 1),
            "status": self.status,
            "phases": [{"phase": name, "at": round(at, 1), "seconds": round(s, 1)} for name, at, s in self.phases],
            **({"tail": self.tail} if self.status else {}),
        }


def phases_of(markers: list[tuple[float, str]], end: float) -> list[tuple[str, float, float]]:
    """``(time, text)`` markers, times since the start, into ``(text, start, seconds)`` phases."""
    ends = [at for at, _ in markers[1:]] + [end] if markers else []  # a command may print none
    return [(text, at, stop - at) for (at, text), stop in zip(markers, ends, strict=True)]


def run_timed(command: list[str], log_path: Path, cwd: Path, env: dict | None = None, timeout: float = 7200) -> Timed:
    """Run ``command``, echo its output to ours and to ``log_path``; time it and its phases."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    markers: list[tuple[float, str]] = []
    lines: list[str] = []
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        for line in process.stdout:
            now = time.monotonic() - start
            log.write(line)
            sys.stdout.write(line)
            lines = (lines + [line])[-40:]
            match = MARKER.match(line.rstrip("\n"))
            if match:
                markers.append((now, match.group(1)))
            if now > timeout:
                process.kill()
                lines.append(f"bench: killed after {timeout:.0f}s\n")
                break
        status = process.wait()
    seconds = time.monotonic() - start
    return Timed(command, seconds, status, phases_of(markers, seconds), "".join(lines)[-3000:])


def dry_run() -> bool:
    return os.environ.get("BENCH_DRY_RUN") == "1"


def stand_in(*markers: str, pause: float = 0.1) -> list[str]:
    """A command that prints ``markers`` as the real one would, ``pause`` seconds apart."""
    script = "import time\nfor m in {!r}:\n    print('\\033[1m==> ' + m + '\\033[0m', flush=True)\n    time.sleep({})"
    return [sys.executable, "-c", script.format(list(markers), pause)]
