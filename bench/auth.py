"""The authenticator under load: hub logins per second at 1, 8 and 32 concurrent clients.

A login is what a browser with an App session does on its first visit to the hub: ``GET
/hub/login`` with the App's ``sessionid``/``csrftoken`` and no hub cookie. The hub asks the mock
App's ``/notebooks/authenticate/``, creates or updates the user and sets its cookie (302). Each
client is one person, logged in to the App once beforehand; the clients share a fixed count of
logins per level, under a deadline.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.client import JourneyError, Person, configure_http
from bench.stack import BenchStack, bench_people
from bench.stats import summary

APP_COOKIES = ("sessionid", "csrftoken")


async def timed_login(person: Person) -> float:
    """One hub login with the App's cookies only; its latency in seconds."""
    person.jar.cookies = {k: v for k, v in person.jar.cookies.items() if k in APP_COOKIES}
    start = time.monotonic()
    await person.log_in_to_hub()
    return time.monotonic() - start


async def level(people: list[Person], logins: int, deadline: float) -> dict:
    """``logins`` logins shared by ``len(people)`` clients; throughput and latency."""
    latencies: list[float] = []
    failures: list[str] = []
    remaining = [logins]

    async def client(person: Person) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                latencies.append(await timed_login(person))
            except JourneyError as error:
                failures.append(str(error)[:200])

    start = time.monotonic()
    tasks = [asyncio.ensure_future(client(person)) for person in people]
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    wall = time.monotonic() - start
    if pending:
        failures.append(f"deadline: {deadline:.0f}s passed with {remaining[0]} logins not started")
    return {
        "clients": len(people),
        "logins": len(latencies),
        "seconds": round(wall, 2),
        "logins_per_second": round(len(latencies) / wall, 1) if wall else None,
        "latency": summary(latencies, (50, 99)),
        "failures": failures[:20],
        "failure_count": len(failures),
    }


async def measure(stack: BenchStack, levels: list[int], logins: int, deadline: float, log) -> list[dict]:
    people = [Person(email, password, stack.app.frontend_url, stack.hub.url) for email, password in stack.people]
    for person in people:  # App sessions, and each user created in the hub, before the clock runs
        await person.log_in()
    results = []
    for clients in levels:
        result = await level(people[:clients], logins, deadline)
        log(
            f"  {clients} clients: {result['logins_per_second']} logins/s, median "
            f"{result['latency'].get('p50')}s, p99 {result['latency'].get('p99')}s, {result['failure_count']} failed"
        )
        results.append(result)
    return results


def run(work: Path, image: str, levels: list[int], logins: int, log, deadline: float = 300.0) -> dict:
    """The `auth` part: ``logins`` hub logins at each concurrency of ``levels``."""
    configure_http(max(levels) + 8)
    with BenchStack(work, bench_people(max(levels), "auth"), image) as stack:
        usage = stack.usage()
        results = asyncio.run(measure(stack, levels, logins, deadline, log))
        hub_usage = {name: sampler.stop() for name, sampler in usage.items()}
    return {"logins_per_level": logins, "levels": results, "usage": hub_usage}
