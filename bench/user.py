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


async def repeat(stacks: list[BenchStack], repeat_count: int, log) -> list[tuple[list[dict], list[str]]]:
    """``repeat_count`` repetitions on each stack, the stacks taking turns (the order reversed every other
    round, so each sees the same machine); each stack's runs and failures."""
    browser = new_browser()
    results: list[tuple[list[dict], list[str]]] = [([], []) for _ in stacks]
    try:
        for index in range(repeat_count):
            order = list(enumerate(stacks)) if index % 2 == 0 else list(reversed(list(enumerate(stacks))))
            for which, stack in order:
                runs, failures = results[which]
                email, password = stack.people[0]
                try:
                    times = await repetition(stack, browser, email, password)
                except Exception as error:  # noqa: BLE001 - counted with its reason, the run goes on
                    failures.append(f"{type(error).__name__}: {str(error)[:300]}")
                    log(f"  {stack.image} repetition {index + 1}: failed: {failures[-1]}")
                    stack.stop_every_server()
                    wait_stopped(stack, email)
                    continue
                runs.append(times)
                phases = ", ".join(f"{k} {v:.2f}s" for k, v in times.items())
                log(f"  {stack.image} {index + 1}/{repeat_count}: {phases}")
    finally:
        browser.quit()
    return results


def wait_stopped(stack: BenchStack, email: str, timeout: float = 60) -> None:
    """Give the stop ``timeout`` seconds; if it is not done by then, the next repetition goes on anyway."""
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: stack.hub.server(email.lower()) is None, f"{email}'s server to stop", timeout, 0.5)


def figures(image: str, repeat_count: int, runs: list[dict], failures: list[str]) -> dict:
    return {
        "repeat": repeat_count,
        "image": image,
        "phases": {phase: summary([r[phase] for r in runs if phase in r], (50, 95)) for phase in PHASES},
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
        "failures": failures,
    }


def ratios(ours: dict, peer: dict) -> dict:
    """Each phase's median over the peer's."""
    return {
        phase: round(ours["phases"][phase]["p50"] / peer["phases"][phase]["p50"], 2)
        for phase in PHASES
        if ours["phases"][phase].get("p50") and peer["phases"][phase].get("p50")
    }


def run(work: Path, image: str, repeat_count: int, log, peer_image: str | None = None) -> dict:
    """The `user` part: ``repeat_count`` repetitions by one person, median and p95 of each phase; with
    ``peer_image``, as many on a second stack whose servers run that image, the two taking turns, and
    each phase's median over the peer's."""
    configure_http(10)
    with contextlib.ExitStack() as stacks:
        ours = stacks.enter_context(BenchStack(work / "ours", bench_people(1, "one"), image))
        everyone = [ours]
        if peer_image:
            everyone.append(stacks.enter_context(BenchStack(work / "peer", bench_people(1, "peer"), peer_image)))
        usage = ours.usage()
        results = asyncio.run(repeat(everyone, repeat_count, log))
        hub_usage = {name: sampler.stop() for name, sampler in usage.items()}
    result = {**figures(image, repeat_count, *results[0]), "usage": hub_usage}
    if peer_image:
        result["peer"] = figures(peer_image, repeat_count, *results[1])
        result["over_peer"] = ratios(result, result["peer"])
    return result
