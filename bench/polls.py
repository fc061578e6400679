"""``python -m bench.polls``: the hub's CPU time per poll of the App, ours beside plain JupyterHub.

The App asks the hub every second, for each person waiting for a server, ``GET /hub/api/users/<email>``
with its service token. This starts two hubs of the JupyterHub installed: ours (the hub tier's
configuration, with the mock App, logging at INFO as production does) and plain JupyterHub
(bench/plain_hub_config.py: the same service, token setting and role, no OpenHexa code), creates
``--users`` people in each, then polls each hub in turn, ``--batches`` batches of ``--polls`` polls,
cycling through the people. A batch's figure is the hub process's CPU time (user + system,
/proc/<pid>/stat) over the batch, divided by its polls: the hub's cost, whatever else the machine
does. Medians of the batches, and ours/plain, go to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
from pathlib import Path
from urllib.parse import quote

import requests
from jupyterhub import __version__ as jupyterhub_version

from bench.stack import cpu_seconds
from harness import ROOT
from harness.app import MockApp
from harness.hub import CHART_VALUES, HUB_TIER_CONFIG, Hub
from harness.net import free_port, random_token

PLAIN_CONFIG = ROOT / "bench" / "plain_hub_config.py"


def people(count: int) -> list[str]:
    return [f"person{i:03d}@bench.openhexa.test" for i in range(count)]


def poll_batch(hub: Hub, session: requests.Session, names: list[str], polls: int) -> float:
    """Milliseconds of the hub's CPU per poll, over ``polls`` polls cycling through ``names``."""
    pid = hub.process.popen.pid
    headers = {"Authorization": f"token {hub.api_token}"}
    before = cpu_seconds(pid)
    for i in range(polls):
        response = session.get(f"{hub.url}/hub/api/users/{quote(names[i % len(names)], safe='')}", headers=headers)
        assert response.status_code == 200, response.text[:200]
    return (cpu_seconds(pid) - before) * 1000 / polls


def report(ours: list[float], plain: list[float], **meta) -> dict:
    """The figures of a run: each batch, the medians and ours/plain."""
    median_ours, median_plain = statistics.median(ours), statistics.median(plain)
    return {
        **meta,
        "ours_ms_per_poll": [round(v, 3) for v in ours],
        "plain_ms_per_poll": [round(v, 3) for v in plain],
        "ours_median_ms": round(median_ours, 3),
        "plain_median_ms": round(median_plain, 3),
        "ours_over_plain": round(median_ours / median_plain, 3),
    }


def run(work: Path, log=print, users: int = 100, polls: int = 1000, batches: int = 5) -> dict:
    """The ``polls`` part of ``python -m bench``: the two hubs started in ``work``, the figures of the run."""
    work.mkdir(parents=True, exist_ok=True)
    token, port = random_token(), free_port()
    app = MockApp.start(work / "app", hub_url=f"http://127.0.0.1:{port}", hub_api_token=token)
    hubs: dict[str, Hub] = {}
    try:
        hubs["ours"] = Hub.start(
            app.url,
            work / "ours",
            HUB_TIER_CONFIG,
            {"CHART_VALUES": str(CHART_VALUES)},
            port=port,
            api_token=token,
            extra_args=["--JupyterHub.log_level=INFO"],  # as production and the peer log; the tier's is DEBUG
        )
        hubs["plain"] = Hub.start(app.url, work / "plain", PLAIN_CONFIG)
        names = people(users)
        for hub in hubs.values():
            for name in names:
                assert hub.api("POST", f"/users/{quote(name, safe='')}").status_code in (201, 409)
        figures: dict[str, list[float]] = {"ours": [], "plain": []}
        sessions = {kind: requests.Session() for kind in hubs}
        for kind, hub in hubs.items():  # warm up: every person looked up once
            poll_batch(hub, sessions[kind], names, len(names))
        for _ in range(batches):
            for kind, hub in hubs.items():
                figures[kind].append(poll_batch(hub, sessions[kind], names, polls))
                log(f"{kind}: {figures[kind][-1]:.3f} ms of hub CPU per poll")
    finally:
        for hub in hubs.values():
            hub.stop()
        app.stop()
    return report(figures["ours"], figures["plain"], jupyterhub=jupyterhub_version, users=users, polls_per_batch=polls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--polls", type=int, default=1000, help="polls per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per hub, alternating")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "polls.json")
    args = parser.parse_args(argv)
    (ROOT / "artifacts" / "bench").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="polls-", dir=ROOT / "artifacts" / "bench"))
    result = run(work, lambda line: print(line, flush=True), args.users, args.polls, args.batches)
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **result, "logs": str(work)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if "median" in k or "over" in k}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
