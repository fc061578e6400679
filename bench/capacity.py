"""The hub's capacity: many people through the App's launch flow at once, ours beside plain JupyterHub.

``python -m bench.capacity [--people 100,200,400] [--start-seconds 30]``, or the ``capacity`` part of
``python -m bench``. For each count, each hub in turn (ours first, then plain):

- the mock App with that many people, all editors of one workspace, and the hub: ours
  (hub/jupyterhub_config.py) or plain JupyterHub (bench/plain_hub_config.py, the App's service and
  role, no OpenHexa code), both with the chart's ``concurrentSpawnLimit`` and
  ``consecutiveFailureLimit``;
- servers that are stand-ins (bench/stand_in.py): a start takes ``start_seconds`` and runs no
  notebook, so what is measured is the hub, not the machine's room for notebooks;
- every person at once logs in to the App and opens the workspace's notebooks: the App's page asks
  ``launchNotebookServer`` every second until the hub says the server is ready, and the App asks the
  hub each time (``GET`` the person, ``POST`` the server while the hub does not list it);
- meanwhile a probe asks the hub ``GET /hub/api/`` every half second: what anyone else waits for an
  answer (the hub's event loop, shared by all).

Figures per hub and count: people served and failed (with what the App showed), time to ready, the
hub process's CPU (% of a core over the run, and per person waiting: CPU-seconds over person-seconds
of waiting), the probe's latency (p50, p95, max), the hub's peak memory, the mock App's CPU (it
shares the machine) and the machine's load. Plain JupyterHub answers 429 to a launch beyond the
spawn limit and the App shows it as an error: its failures are what the App would show with it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from bench.client import configure_http
from bench.load import Journey, reason_key, run_all, spawn_limit_report
from bench.stack import WORKSPACE, BenchStack, Usage, bench_people, chart_limits
from bench.stats import summary
from harness import ROOT
from harness.net import StandInServer

PLAIN_CONFIG = ROOT / "bench" / "plain_hub_config.py"
PEOPLE = (100, 200, 400)
HUBS = ("ours", "plain")


def launch_only(person):
    """The capacity part's journey: logged in to the App, the workspace's server ready (the App asking)."""
    return (
        ("logged_in", person.log_in_to_app),
        ("ready", lambda: person.launch_workspace(WORKSPACE, 3600)),
    )


class Probe:
    """``GET url`` every ``interval`` seconds in a thread; each answer's latency, or its failure."""

    def __init__(self, url: str, interval: float = 0.5):
        self.url, self.interval = url, interval
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                session.get(self.url, timeout=60).raise_for_status()
                self.latencies.append(time.monotonic() - started)
            except requests.RequestException as error:
                self.failures.append(f"{type(error).__name__}: {str(error)[:120]}")
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(70)

    def report(self) -> dict:
        return {**summary(self.latencies, (50, 95)), "failures": len(self.failures)}


def waiting_seconds(journeys: list[Journey], wall: float) -> float:
    """Person-seconds spent waiting for a server: from logged in to ready, or to the run's end for the others."""
    total = 0.0
    for journey in journeys:
        if "logged_in" in journey.times:
            total += journey.times.get("ready", wall) - journey.times["logged_in"]
    return total


def report(journeys: list[Journey], wall: float, hub: dict, app: dict, probe: dict, answers: list[dict],
           limits: dict) -> dict:  # fmt: skip
    """One hub at one count: what people got, what it cost the hub, what others waited meanwhile."""
    failures = [j.failure for j in journeys if j.failure]
    waited = waiting_seconds(journeys, wall)
    return {
        "people": len(journeys),
        "seconds": round(wall, 1),
        "served": sum(1 for j in journeys if "ready" in j.times),
        "failure_count": len(failures),
        "failures": dict(Counter(reason_key(failure) for failure in failures)),
        "time_to_ready": summary([j.times["ready"] for j in journeys if "ready" in j.times], (50, 95)),
        "hub_cpu_seconds": hub.get("cpu_seconds"),
        "hub_cpu_percent_of_one_core": hub.get("cpu_percent_of_one_core"),
        "person_seconds_waiting": round(waited, 1),
        # % of one core for each person waiting: the hub's CPU-seconds per person-second of waiting.
        "hub_cpu_percent_per_waiting_person": round(100 * hub["cpu_seconds"] / waited, 3) if waited else None,
        "hub_rss_peak_mb": hub.get("vmhwm_mb"),
        "app_cpu_percent_of_one_core": app.get("cpu_percent_of_one_core"),
        "probe": probe,
        "spawn_limit": spawn_limit_report(journeys, answers, limits),
    }


def one_run(work: Path, kind: str, people: int, start_seconds: float, log) -> dict:
    """``people`` through the launch flow on one hub (``kind``: ours or plain); the figures of the run."""
    limits = chart_limits()
    # Every person beyond the limit waits a round of starts; twice that, and two minutes to log everyone in.
    deadline = 120 + 2 * start_seconds * math.ceil(people / limits["concurrentSpawnLimit"])
    configure_http(4 * people + 8)
    with StandInServer(lambda request: (200, {}, "a stand-in server")) as answerer:
        hub_args = [
            "--JupyterHub.spawner_class=bench.stand_in.StandInSpawner",
            f"--StandInSpawner.start_seconds={start_seconds}",
            f"--StandInSpawner.answerer_url={answerer.url}",
            "--JupyterHub.log_level=INFO",  # as production and the peer log
        ]
        config = {"ours": {}, "plain": {"config": PLAIN_CONFIG}}[kind]
        stack = BenchStack(work, bench_people(people, kind), image="none", limits=limits, hub_args=hub_args, **config)
        with stack:
            load_before = os.getloadavg()
            usage = {"hub": Usage(stack.hub_pid).start(), "app": Usage(stack.app.process.popen.pid).start()}
            with Probe(f"{stack.hub.url}/hub/api/") as probe:
                journeys, wall = asyncio.run(run_all(stack, deadline, launch_only))
            figures = {name: sampler.stop() for name, sampler in usage.items()}
            answers = stack.hub_answers()
            stack.stop_every_server()
    result = report(journeys, wall, figures["hub"], figures["app"], probe.report(), answers, limits)
    loads = {"load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in os.getloadavg()]}
    result.update(hub=kind, start_seconds=start_seconds, deadline=deadline, **loads)
    log(
        f"  {kind}, {people} people: {result['served']} served, {result['failure_count']} failed in "
        f"{result['seconds']} s; hub {result['hub_cpu_percent_of_one_core']}% of a core, "
        f"{result['hub_cpu_percent_per_waiting_person']}% per waiting person; probe p95 "
        f"{result['probe'].get('p95')} s, max {result['probe'].get('max')} s; peak {result['hub_rss_peak_mb']} MB"
    )
    return result


def run(work: Path, log=print, counts=PEOPLE, start_seconds: float = 30.0) -> dict:
    """The ``capacity`` part of ``python -m bench``: each count on each hub, ours first."""
    import jupyterhub

    runs = []
    for people in counts:
        for kind in HUBS:
            runs.append(one_run(work / f"{kind}-{people}", kind, people, start_seconds, log))
    return {"jupyterhub": jupyterhub.__version__, "start_seconds": start_seconds, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", default=",".join(map(str, PEOPLE)), help="counts, comma-separated")
    parser.add_argument("--start-seconds", type=float, default=30.0, help="how long a stand-in server's start takes")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "capacity.json")
    args = parser.parse_args(argv)
    (ROOT / "artifacts" / "bench").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="capacity-", dir=ROOT / "artifacts" / "bench"))
    counts = [int(n) for n in args.people.split(",")]
    result = run(work, lambda line: print(line, flush=True), counts, args.start_seconds)
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **result, "logs": str(work)}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
