"""Run the benchmark's parts; write bench/results/latest.json and latest.md, and the run, dated, by its logs.

Parts (``--parts`` or ``BENCH_PARTS``, comma-separated; all by default, in this order):

- ``build``: cold (``NO_CACHE=1``) and warm build of each image under ``TAG=bench``; sizes.
- ``release``: `make release` from a fresh clone into throwaway registries, cold then warm.
- ``start``: a workspace server's start, container CPU-seconds and wall time to ``/api``, ``REPEAT`` // 2 runs
  (at least 10), beside the base image the notebook image was built on.
- ``user``: one person ``REPEAT`` times: login, spawn to ready, JupyterLab drawn, first cell; as many
  times on a second stack whose servers run the base image, the two taking turns.
- ``auth``: hub logins per second at 1, 8 and 32 concurrent clients.
- ``load``: ``USERS`` people at once, each logging in, spawning, running code, stopping.
- ``polls``: the hub's CPU time per App poll of a person (``GET /hub/api/users/<email>``), beside plain JupyterHub.
- ``capacity``: 100, 200 and 400 people (``CAPACITY_PEOPLE``) through the App's launch flow at once, stand-in
  servers, ours beside plain JupyterHub: served, failed, hub CPU, a probe's latency, memory.

Nothing here fails on a target: a part that breaks is recorded with its error and the next runs.
Logs of every command and hub go to artifacts/bench/<date>-<commit>/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from harness import ROOT

RESULTS = ROOT / "bench" / "results"
ARTIFACTS = ROOT / "artifacts" / "bench"
PARTS = ("build", "release", "start", "user", "auth", "load", "polls", "capacity")


def log(message: str) -> None:
    print(f"\033[1mbench:\033[0m {message}", flush=True)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def host() -> dict:
    lines = Path("/proc/meminfo").read_text().splitlines()
    memory_kib = next(int(line.split()[1]) for line in lines if line.startswith("MemTotal:"))
    return {"cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1), "kernel": os.uname().release}


def versions(image: str) -> dict:
    import docker
    import dockerspawner
    import jupyterhub

    found = {"jupyterhub": jupyterhub.__version__, "dockerspawner": dockerspawner.__version__}
    try:
        found["notebook_image_id"] = docker.from_env().images.get(image).short_id
    except Exception as error:  # noqa: BLE001 - recorded, not fatal
        found["notebook_image_id"] = f"unavailable: {error}"
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=env.get("BENCH_PARTS") or ",".join(PARTS))
    parser.add_argument("--users", type=int, default=int(env.get("USERS") or 20), help="load: people at once")
    parser.add_argument("--repeat", type=int, default=int(env.get("REPEAT") or 20), help="user: repetitions")
    parser.add_argument("--logins", type=int, default=int(env.get("AUTH_LOGINS") or 300), help="auth: per level")
    parser.add_argument("--levels", default=env.get("AUTH_LEVELS") or "1,8,32", help="auth: concurrent clients")
    parser.add_argument(
        "--deadline", type=float, default=float(env.get("LOAD_DEADLINE") or 0), help="load: seconds (120 + 8/user)"
    )
    parser.add_argument(
        "--capacity-people", default=env.get("CAPACITY_PEOPLE") or "100,200,400", help="capacity: counts"
    )
    parser.add_argument("--image", default=env.get("NOTEBOOK_IMAGE") or "blsq/openhexa-base-notebook:dev")
    parser.add_argument("--results", type=Path, default=Path(env.get("BENCH_RESULTS") or RESULTS))
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}: use {', '.join(PARTS)}")
    args.levels = [int(n) for n in args.levels.split(",")]
    args.capacity_people = [int(n) for n in args.capacity_people.split(",")]
    args.deadline = args.deadline or 120 + 8 * args.users
    return args


def part_runners(args: argparse.Namespace, work: Path, logs: Path) -> dict[str, Callable[[], dict]]:
    from bench import auth, build, capacity, load, polls, release, start, user

    return {
        "build": lambda: build.run(logs, log),
        "release": lambda: release.run(work / "release", logs, log),
        "start": lambda: start.run(args.image, log, max(10, args.repeat // 2)),
        "user": lambda: user.run(work / "user", args.image, args.repeat, log, start.base_of(args.image)),
        "auth": lambda: auth.run(work / "auth", args.image, args.levels, args.logins, log),
        "load": lambda: load.run(work / "load", args.image, args.users, args.deadline, log),
        "polls": lambda: polls.run(work / "polls", log),
        "capacity": lambda: capacity.run(work / "capacity", log, args.capacity_people),
    }


def run_parts(args: argparse.Namespace, work: Path, logs: Path) -> dict:
    runners = part_runners(args, work, logs)
    results = {}
    for name in [p for p in PARTS if p in args.parts]:
        log(f"part {name}")
        (work / name).mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        try:
            results[name] = runners[name]()
        except Exception as error:  # noqa: BLE001 - a broken part is recorded, the others still run
            results[name] = {"error": f"{type(error).__name__}: {str(error)[:2000]}"}
            (logs / f"{name}-error.txt").write_text(traceback.format_exc())
            log(f"part {name} did not finish: {results[name]['error'][:300]}")
        finally:
            keep_logs(work / name, logs / name)
        results[name]["part_seconds"] = round(time.monotonic() - start, 1)
    with_physical_bound(results)
    return results


def with_physical_bound(results: dict) -> None:
    """The load part's floor when the start part ran too: people x CPU-seconds per start / cores, the time the
    machine needs to start every server even with nothing else to do."""
    load, start = results.get("load", {}), results.get("start", {})
    if "users" not in load or "images" not in start:
        return
    cpu = next(iter(start["images"].values()))["cpu_s_median"]
    load["physical_bound_s"] = round(load["users"] * cpu / os.cpu_count(), 1)


def keep_logs(folder: Path, destination: Path) -> None:
    """Copy the hubs' and the mock Apps' logs of a part to the artifacts, in the part's own folders (a part
    that runs several stacks has a hub.log in each)."""
    for path in folder.rglob("*.log"):
        relative = path.relative_to(folder)
        if "clone" not in relative.parts:
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, destination / relative)


def write_results(results: dict, folder: Path, logs: Path) -> None:
    """``latest.*`` in ``folder`` (bench/results/, committed), and ``results.*`` beside the run's logs (not:
    ``python -m bench.baseline`` keeps a part of it as that part's baseline)."""
    from bench import report

    for where, name in ((folder, "latest"), (logs, "results")):
        where.mkdir(parents=True, exist_ok=True)
        (where / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        for path in report.write(results, where, name):
            log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate_as_interrupt)  # clean up as on Ctrl-C
    now = dt.datetime.now(dt.UTC)
    commit = git("rev-parse", "HEAD")
    stem = f"{now:%Y-%m-%dT%H%M%SZ}-{commit[:12]}"
    logs = ARTIFACTS / stem
    logs.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": now.isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": bool(git("status", "--porcelain")),
        "host": host(),
        "params": {"parts": ",".join(args.parts), "users": args.users, "repeat": args.repeat,
                   "auth_logins": args.logins, "auth_levels": ",".join(map(str, args.levels)),
                   "load_deadline": args.deadline, "capacity_people": ",".join(map(str, args.capacity_people)),
                   "image": args.image},
        "versions": versions(args.image),
        "dry_run": os.environ.get("BENCH_DRY_RUN") == "1",
        "load_at_start": [round(v, 2) for v in os.getloadavg()],
    }  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="openhexa-bench-"))
    try:
        parts = run_parts(args, work, logs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta["load_at_end"] = [round(v, 2) for v in os.getloadavg()]  # the machine is shared: its load beside the figures
    write_results({"meta": meta, "parts": parts}, args.results, logs)
    log(f"logs in {logs.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
