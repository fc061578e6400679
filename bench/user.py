"""One person, again and again: login, spawn, JupyterLab drawn in Chromium, the first cell's result.

Each repetition: log in to the App and the hub over HTTP; ask for the default server (the clock
starts) and wait for the hub to say it is ready; hand the cookies to headless Chromium, open
JupyterLab (the browser does the server's OAuth dance) and wait until it is drawn; open a notebook
from the launcher and run a cell until its output shows; stop the server. A failed repetition is
counted with its reason, and the next one goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from bench.client import Person, configure_http
from bench.stack import BenchStack, bench_people
from bench.stats import summary
from harness.browser import new_browser
from harness.wait import WaitTimeout, wait_until

SPAWN_TIMEOUT = 180.0
PHASES = ("login", "spawn_to_ready", "spawn_to_lab_drawn", "spawn_to_first_result", "stop")


def hand_cookies_to(browser, person: Person) -> None:
    """Put the person's App and hub cookies into the browser (one host: 127.0.0.1)."""
    browser.delete_all_cookies()
    browser.get(f"{person.hub_url}/hub/health")
    for name, (value, path) in person.jar.cookies.items():
        browser.add_cookie({"name": name, "value": value, "path": path})


async def repetition(stack: BenchStack, browser, email: str, password: str) -> dict:
    """One timed repetition; returns seconds per phase."""
    from harness.lab import run_in_new_notebook, wait_for_lab

    person = Person(email, password, stack.app.frontend_url, stack.hub.url)
    times = {}
    start = time.monotonic()
    await person.log_in()
    times["login"] = time.monotonic() - start
    await person.get_token()
    start = time.monotonic()
    await person.start_server(SPAWN_TIMEOUT)
    times["spawn_to_ready"] = time.monotonic() - start
    hand_cookies_to(browser, person)
    browser.get(f"{person.hub_url}{person.server_url}lab")
    wait_for_lab(browser)
    times["spawn_to_lab_drawn"] = time.monotonic() - start
    run_in_new_notebook(browser, "print(6 * 7)", "42")
    times["spawn_to_first_result"] = time.monotonic() - start
    browser.get("about:blank")  # JupyterLab would keep polling the stopped server
    stop = time.monotonic()
    await person.stop_server(60)
    times["stop"] = time.monotonic() - stop
    return times


async def repeat(stack: BenchStack, repeat_count: int, log) -> tuple[list[dict], list[str]]:
    browser = new_browser()
    runs, failures = [], []
    try:
        for index in range(repeat_count):
            email, password = stack.people[0]
            try:
                times = await repetition(stack, browser, email, password)
            except Exception as error:  # noqa: BLE001 - counted with its reason, the run goes on
                failures.append(f"{type(error).__name__}: {str(error)[:300]}")
                log(f"  repetition {index + 1}: failed: {failures[-1]}")
                stack.stop_every_server()
                wait_stopped(stack, email)
                continue
            runs.append(times)
            log(f"  repetition {index + 1}/{repeat_count}: " + ", ".join(f"{k} {v:.2f}s" for k, v in times.items()))
    finally:
        browser.quit()
    return runs, failures


def wait_stopped(stack: BenchStack, email: str, timeout: float = 60) -> None:
    """Give the stop ``timeout`` seconds; if it is not done by then, the next repetition goes on anyway."""
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: stack.hub.server(email.lower()) is None, f"{email}'s server to stop", timeout, 0.5)


def run(work: Path, image: str, repeat_count: int, log) -> dict:
    """The `user` part: ``repeat_count`` repetitions by one person, median and p95 of each phase."""
    configure_http(10)
    with BenchStack(work, bench_people(1, "one"), image) as stack:
        usage = stack.usage()
        runs, failures = asyncio.run(repeat(stack, repeat_count, log))
        hub_usage = {name: sampler.stop() for name, sampler in usage.items()}
    phases = {phase: summary([r[phase] for r in runs if phase in r], (50, 95)) for phase in PHASES}
    return {
        "repeat": repeat_count,
        "image": image,
        "phases": phases,
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
        "failures": failures,
        "usage": hub_usage,
    }
