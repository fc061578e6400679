"""Many people at once: each logs in through the App, starts a server, runs code, stops it.

``users`` journeys start together (asyncio, one process). A journey is timed from its start:
logged in, server ready (the hub's spawn progress says so), first result (a kernel started over
the REST API and ``print`` run over its websocket), stopped. A failed step ends that journey and is
counted with its reason; the whole run has a deadline, after which unfinished journeys count as
failures, and every server is stopped and removed whatever happened.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Person, configure_http
from bench.stack import BenchStack, bench_people
from bench.stats import summary

STEP_TIMEOUT = 600.0  # one step of one journey; the global deadline is shorter when it matters


@dataclass
class Journey:
    """One person's timings (seconds since the journey started) and, if it failed, why."""

    email: str
    times: dict[str, float] = field(default_factory=dict)
    step: str = ""
    failure: str = ""

    async def run(self, person: Person, started: float) -> None:
        steps = (
            ("logged_in", person.log_in),
            ("token", person.get_token),
            ("ready", lambda: person.start_server(STEP_TIMEOUT)),
            ("first_result", lambda: person.run_code("print(6 * 7)", "42", STEP_TIMEOUT)),
            ("stopped", lambda: person.stop_server(STEP_TIMEOUT)),
        )
        for self.step, action in steps:
            try:
                await action()
            except asyncio.CancelledError:
                self.failure = f"{self.step}: the run's deadline passed"
                raise
            except Exception as error:  # noqa: BLE001 - counted with its reason
                self.failure = f"{self.step}: {type(error).__name__}: {str(error)[:200]}"
                return
            self.times[self.step] = time.monotonic() - started


async def run_all(stack: BenchStack, deadline: float) -> tuple[list[Journey], float]:
    """Start every journey at once; wait for them all or the deadline."""
    journeys = [Journey(email) for email, _ in stack.people]
    started = time.monotonic()
    tasks = [
        asyncio.ensure_future(journey.run(Person(email, password, stack.app.frontend_url, stack.hub.url), started))
        for journey, (email, password) in zip(journeys, stack.people, strict=True)
    ]
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for journey, task in zip(journeys, tasks, strict=True):
        if task in pending and not journey.failure:
            journey.failure = f"{journey.step}: the run's deadline passed"
    return journeys, time.monotonic() - started


def report(journeys: list[Journey], wall: float) -> dict:
    def times(key: str) -> list[float]:
        return [j.times[key] for j in journeys if key in j.times]

    failures = [j.failure for j in journeys if j.failure]
    return {
        "users": len(journeys),
        "seconds": round(wall, 1),
        "time_to_logged_in": summary(times("logged_in"), (50, 95)),
        "time_to_ready": summary(times("ready"), (50, 95)),
        "time_to_first_result": summary(times("first_result"), (50, 95)),
        "time_to_stopped": summary(times("stopped"), (50, 95)),
        "failure_count": len(failures),
        "failures": dict(Counter(reason.split(" (")[0][:160] for reason in failures)),
        "journeys": [{"email": j.email, **{k: round(v, 3) for k, v in j.times.items()}, "failure": j.failure}
                     for j in journeys],
    }  # fmt: skip


def run(work: Path, image: str, users: int, deadline: float, log) -> dict:
    """The `load` part: ``users`` simultaneous journeys under one ``deadline`` (seconds)."""
    configure_http(4 * users + 8)
    with BenchStack(work, bench_people(users, "load"), image) as stack:
        usage = stack.usage()
        journeys, wall = asyncio.run(run_all(stack, deadline))
        hub_usage = {name: sampler.stop() for name, sampler in usage.items()}
        memory_series = [(round(t - usage["hub"].samples[0][0], 1), round(kib / 1024, 1))
                         for t, _, kib in usage["hub"].samples]  # fmt: skip
        stack.stop_every_server()
    result = report(journeys, wall)
    result.update(deadline=deadline, image=image, usage=hub_usage, hub_rss_mb_series=memory_series)
    log(
        f"  {users} users in {wall:.0f}s: ready p50 {result['time_to_ready'].get('p50')}s "
        f"p95 {result['time_to_ready'].get('p95')}s; first result p50 {result['time_to_first_result'].get('p50')}s; "
        f"{result['failure_count']} failed; hub {hub_usage['hub'].get('cpu_percent_of_one_core')}% of a core, "
        f"peak {hub_usage['hub'].get('vmhwm_mb')} MB"
    )
    return result
