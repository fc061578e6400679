"""Many people at once: each logs in through the App, opens a workspace's notebooks, runs code, stops.

``users`` journeys start together (asyncio, one process). A journey is timed from its start:
logged in, server ready (the App's ``launchNotebookServer``, asked every second as its notebooks
page does, says so), first result (a kernel started over the REST API and ``print`` run over its
websocket), stopped. A failed step ends that journey and is counted with its reason; the whole
run has a deadline, after which unfinished journeys count as failures, and every server is
stopped and removed whatever happened.

The hub runs with the chart's ``concurrentSpawnLimit`` (64): with more people than that, some
are beyond it. What they saw is read from the hub's answers to the App's launches (the mock
App notes them): a place in the hub's line (202 ``waiting``), JupyterHub's 429 (an error page
in the App), or a start.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from bench.client import Person, configure_http
from bench.stack import WORKSPACE, BenchStack, bench_people, chart_limits
from bench.stats import summary

STEP_TIMEOUT = 600.0  # one step of one journey; the global deadline is shorter when it matters


def whole_journey(person: Person) -> tuple:
    """Log in, a token, the workspace's server ready, a first result, stopped: (step name, action) pairs."""
    return (
        ("logged_in", person.log_in),
        ("token", person.get_token),
        ("ready", lambda: person.launch_workspace(WORKSPACE, STEP_TIMEOUT)),
        ("first_result", lambda: person.run_code("print(6 * 7)", "42", STEP_TIMEOUT)),
        ("stopped", lambda: person.stop_server(STEP_TIMEOUT)),
    )


@dataclass
class Journey:
    """One person's timings (seconds since the journey started) and, if it failed, why."""

    email: str
    times: dict[str, float] = field(default_factory=dict)
    step: str = ""
    failure: str = ""
    launches: int = 0  # launchNotebookServer calls until ready (the App's page asks every second)
    plan: Callable[[Person], tuple] = whole_journey  # the steps: (name, action) pairs

    async def run(self, person: Person, started: float) -> None:
        try:
            await self.steps(person, started)
        finally:
            self.launches = person.launches

    async def steps(self, person: Person, started: float) -> None:
        for step, action in self.plan(person):
            self.step = step
            try:
                await action()
            except asyncio.CancelledError:
                self.failure = f"{self.step}: the run's deadline passed"
                raise
            except Exception as error:  # noqa: BLE001 - counted with its reason
                self.failure = f"{self.step}: {type(error).__name__}: {str(error)[:200]}"
                return
            self.times[self.step] = time.monotonic() - started


async def run_all(stack: BenchStack, deadline: float, plan=whole_journey) -> tuple[list[Journey], float]:
    """Start every journey (``plan``'s steps) at once; wait for them all or the deadline."""
    journeys = [Journey(email, plan=plan) for email, _ in stack.people]
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


def reason_key(reason: str) -> str:
    """A failure's reason without what differs from person to person (URLs, details in parentheses)."""
    return re.sub(r"https?://\S+", "<url>", reason.split(" (")[0])[:240]


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
        "failures": dict(Counter(reason_key(reason) for reason in failures)),
        "journeys": [{"email": j.email, **{k: round(v, 3) for k, v in j.times.items()}, "launches": j.launches,
                      "failure": j.failure} for j in journeys],
    }  # fmt: skip


def launch_owner(path: str) -> str | None:
    """The person of ``POST /hub/api/users/<email>/servers/<slug>`` (lower case), else None."""
    if "/api/users/" not in path or "/servers/" not in path:
        return None
    return unquote(path.split("/api/users/", 1)[1].split("/servers/", 1)[0]).lower()


def waiting(answer: dict) -> bool:
    return (answer.get("body") or {}).get("status") == "waiting"


def with_hub_reasons(journeys: list[Journey], answers: list[dict]) -> None:
    """Add to each failure the hub's own words: the App shows a refused launch as ``requests`` words
    it ("503 Server Error: ... for url: ..."), the hub's message is in its answer's body."""
    refused: dict[str, dict] = {}
    for answer in answers:
        owner = launch_owner(answer["path"]) if answer["method"] == "POST" else None
        if owner and answer["status"] >= 400:
            refused[owner] = answer
    for journey in journeys:
        answer = refused.get(journey.email.lower())
        if journey.failure and answer:
            message = (answer.get("body") or {}).get("message") or "no message"
            journey.failure += f"; the hub answered {answer['status']}: {message[:160]}"


def spawn_limit_report(journeys: list[Journey], answers: list[dict], limits: dict[str, int]) -> dict:
    """What people beyond ``concurrentSpawnLimit`` saw, from the hub's answers to the App's launches.

    A person is beyond the limit when the hub put them in its line at least once; their time
    in line runs from the first to the last such answer. ``answers_429`` counts JupyterHub's
    own refusals (the App shows those as an error page); ``error_pages`` the journeys that
    ended on a GraphQL error; ``people_whose_spawn_started_again`` those whose server the hub
    started more than once (a spawn that failed after the hub took it: the App never says so,
    it asks again, and the person waits longer).
    """
    by_person: dict[str, list[dict]] = {}
    for answer in answers:
        owner = launch_owner(answer["path"]) if answer["method"] == "POST" else None
        if owner:
            by_person.setdefault(owner, []).append(answer)
    statuses: Counter = Counter()
    in_line, beyond, within, places, restarted = [], [], [], [], 0
    for journey in journeys:
        seen = by_person.get(journey.email.lower(), [])
        statuses.update(str(a["status"]) + (" waiting" if waiting(a) else "") for a in seen)
        line = [a for a in seen if waiting(a)]
        restarted += sum(1 for a in seen if a["status"] in (201, 202) and not waiting(a)) > 1
        places += [a["body"].get("place", 0) for a in line]
        if line:
            beyond.append(journey)
            in_line.append(line[-1]["at"] - line[0]["at"])
        else:
            within.append(journey)

    def ready(group: list[Journey]) -> dict:
        return summary([j.times["ready"] for j in group if "ready" in j.times], (50, 95))

    return {
        "concurrent_spawn_limit": limits["concurrentSpawnLimit"],
        "consecutive_failure_limit": limits["consecutiveFailureLimit"],
        "chart_concurrent_spawn_limit": limits.get("chartConcurrentSpawnLimit", limits["concurrentSpawnLimit"]),
        "launch_answers": dict(sorted(statuses.items())),
        "answers_429": sum(n for status, n in statuses.items() if status.startswith("429")),
        "waiting_answers": sum(n for status, n in statuses.items() if status.endswith("waiting")),
        "people_beyond_limit": len(beyond),
        "largest_place": max(places, default=0),
        "beyond_limit_failures": sum(1 for j in beyond if j.failure),
        # A spawn that fails after the hub took it is not shown by the App: it POSTs the server again.
        "people_whose_spawn_started_again": restarted,
        "error_pages": sum(1 for j in journeys if "the App showed an error" in j.failure),
        "time_in_line": summary(in_line, (50, 95)),
        "launches_per_person": summary([j.launches for j in journeys if j.launches], (50, 95)),
        "time_to_ready_beyond_limit": ready(beyond),
        "time_to_ready_within_limit": ready(within),
    }


def limits_for_run(env=os.environ) -> dict[str, int]:
    """The chart's limits; ``BENCH_SPAWN_LIMIT`` replaces its spawn limit, to see the line with a few people."""
    limits = chart_limits()
    if env.get("BENCH_SPAWN_LIMIT"):
        limits["chartConcurrentSpawnLimit"] = limits["concurrentSpawnLimit"]
        limits["concurrentSpawnLimit"] = int(env["BENCH_SPAWN_LIMIT"])
    return limits


def run(work: Path, image: str, users: int, deadline: float, log) -> dict:
    """The `load` part: ``users`` simultaneous journeys under one ``deadline`` (seconds)."""
    configure_http(4 * users + 8)
    with BenchStack(work, bench_people(users, "load"), image, limits=limits_for_run()) as stack:
        usage = stack.usage()
        journeys, wall = asyncio.run(run_all(stack, deadline))
        hub_usage = {name: sampler.stop() for name, sampler in usage.items()}
        memory_series = [(round(t - usage["hub"].samples[0][0], 1), round(kib / 1024, 1))
                         for t, _, kib in usage["hub"].samples]  # fmt: skip
        answers = stack.hub_answers()
        stack.stop_every_server()
    with_hub_reasons(journeys, answers)
    result = report(journeys, wall)
    result.update(deadline=deadline, image=image, usage=hub_usage, hub_rss_mb_series=memory_series)
    result["spawn_limit"] = spawn_limit_report(journeys, answers, stack.limits)
    log(
        f"  {users} users in {wall:.0f}s: ready p50 {result['time_to_ready'].get('p50')}s "
        f"p95 {result['time_to_ready'].get('p95')}s; first result p50 {result['time_to_first_result'].get('p50')}s; "
        f"{result['failure_count']} failed; hub {hub_usage['hub'].get('cpu_percent_of_one_core')}% of a core, "
        f"peak {hub_usage['hub'].get('vmhwm_mb')} MB"
    )
    line = result["spawn_limit"]
    log(
        f"  spawn limit {line['concurrent_spawn_limit']}: {line['people_beyond_limit']} people beyond it "
        f"({line['waiting_answers']} answers 'waiting', {line['answers_429']} x 429, "
        f"{line['error_pages']} error pages); "
        f"ready p50 {line['time_to_ready_beyond_limit'].get('p50')}s for them"
    )
    return result
