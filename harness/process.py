"""Background processes that always stop, their output in a log file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT
from harness.net import answers_ok
from harness.wait import WaitTimeout, wait_until


@dataclass
class Process:
    """A background process whose output goes to a log file; always stopped."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @classmethod
    def start(cls, name: str, args: list[str], log_path: Path, env: dict | None = None, cwd=ROOT):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        log.close()
        return cls(name, popen, log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_ready(self, url: str, timeout: float = 60.0):
        """Wait until ``url`` answers 200; fail at once, with the log, if the process dies."""

        def ready():
            if not self.alive():
                raise WaitTimeout(f"{self.name} exited ({self.popen.returncode}):\n{self.log()[-3000:]}")
            return answers_ok(url)

        wait_until(ready, f"{self.name} to answer 200 at {url}", timeout)

    def stop(self, timeout: float = 15.0):
        """Stop the process and everything it started (its process group), even once it has exited.

        A hub that exits on its own (a consecutive failure limit) leaves its proxy running.
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        with contextlib.suppress(WaitTimeout):
            wait_until(lambda: not group_alive(self.popen.pid), f"{self.name}'s children to exit", 5, 0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # what ignored SIGTERM


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
