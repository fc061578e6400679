"""How the Docker spawner starts servers: a few at once, the rest in line; then until each answers.

Many servers starting together on a few cores all start slowly and time out
together; in line, each one starts in seconds and people see their place. A
server that exits or never answers is a failure people can read.
"""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

import pytest
from tornado import web

from harness.net import free_port
from openhexa_hub.docker import HostNetworkDockerSpawner, StartSlots, telling_line
from tests.unit.spawners import docker


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 10))


async def until(predicate, what: str, timeout: float = 5.0) -> None:
    """The event loop's wait-until: poll ``predicate`` while other tasks run."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"waited {timeout:.0f}s for {what}"
        await asyncio.sleep(0.05)


async def start_in_line(slots: StartSlots, count: int, order: list[int], hold: asyncio.Event):
    """``count`` starters; each records when it got its slot and keeps it until ``hold`` is set."""

    async def starter(number: int):
        await slots.acquire(asyncio.get_running_loop().create_future(), 5)
        order.append(number)
        await hold.wait()
        slots.release()

    tasks = []
    for number in range(count):
        tasks.append(asyncio.create_task(starter(number)))
        await asyncio.sleep(0)  # they arrive one after the other
    return tasks


def test_only_size_start_at_once_and_the_rest_follow_in_order():
    async def scenario():
        slots, order, hold = StartSlots(2), [], asyncio.Event()
        tasks = await start_in_line(slots, 5, order, hold)
        await asyncio.sleep(0.05)
        assert order == [0, 1], "only two start at once"
        assert (slots.starting, len(slots.waiting)) == (2, 3)
        hold.set()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4], "the others start in the order they came"
        assert (slots.starting, len(slots.waiting)) == (0, 0), "every slot is free again"

    run(scenario())


def test_giving_up_leaves_the_line_and_loses_no_slot():
    async def scenario():
        slots = StartSlots(1)
        await slots.acquire(asyncio.get_running_loop().create_future(), 1)
        with pytest.raises(TimeoutError):
            await slots.acquire(asyncio.get_running_loop().create_future(), 0.05)
        assert not slots.waiting, "whoever gave up is out of the line"
        slots.release()
        assert slots.starting == 0
        await slots.acquire(asyncio.get_running_loop().create_future(), 0.05)
        assert slots.starting == 1, "the slot is usable again"

    run(scenario())


def test_a_slot_handed_to_someone_cancelled_passes_to_the_next():
    async def scenario():
        slots, loop = StartSlots(1), asyncio.get_running_loop()
        await slots.acquire(loop.create_future(), 1)
        cancelled = asyncio.create_task(slots.acquire(loop.create_future(), 5))
        following = asyncio.create_task(slots.acquire(loop.create_future(), 5))
        await asyncio.sleep(0.01)
        slots.release()  # hands the slot to the first in line ...
        cancelled.cancel()  # ... who leaves before noticing
        await asyncio.gather(cancelled, return_exceptions=True)
        await following
        assert (slots.starting, len(slots.waiting)) == (1, 0), "the next in line got it; none lost, none doubled"

    run(scenario())


def test_people_in_line_see_their_place_and_then_the_start():
    async def scenario():
        loop = asyncio.get_running_loop()
        spawner = docker(HostNetworkDockerSpawner, concurrent_starts=1)
        slots = spawner._slots()
        await slots.acquire(loop.create_future(), 1)  # someone is starting
        before = asyncio.create_task(slots.acquire(loop.create_future(), 5))  # someone waits first
        await asyncio.sleep(0)
        spawner._turn = loop.create_future()
        mine = asyncio.create_task(slots.acquire(spawner._turn, 5))
        await asyncio.sleep(0)
        messages = []

        async def read():
            async for event in spawner.progress():
                messages.append(event["message"])

        reader = asyncio.create_task(read())
        await until(lambda: len(messages) == 1, "the first place in line")
        slots.release()  # the first is up: the one before starts
        await before
        await until(lambda: len(messages) == 2, "the place after one went ahead")
        slots.release()  # and is up too: this person's turn
        await mine
        await asyncio.wait_for(reader, 5)
        return messages

    messages = run(scenario())
    assert messages == [
        "Waiting to start: 2 servers ahead of yours (1 start at a time)",
        "Waiting to start: 1 servers ahead of yours (1 start at a time)",
        "Spawning server...",
    ]


def test_a_line_too_long_is_a_readable_refusal(monkeypatch):
    async def scenario():
        spawner = docker(HostNetworkDockerSpawner, concurrent_starts=1, start_timeout=45, http_timeout=30)
        slots = spawner._slots()
        await slots.acquire(asyncio.get_running_loop().create_future(), 1)
        monkeypatch.setattr(StartSlots, "acquire", lambda self, turn, timeout: asyncio.wait_for(turn, 0.01))
        with pytest.raises(web.HTTPError) as refused:
            await spawner._take_slot(slots)
        return refused.value

    error = run(scenario())
    assert error.status_code == 503
    assert "still starting other servers after 10s (1 starting, 0 waiting)" in error.jupyterhub_message


def test_the_line_is_as_wide_as_the_cores_unless_set_and_its_wait_counts_in_the_start_timeout(monkeypatch):
    monkeypatch.delenv("DOCKER_CONCURRENT_STARTS", raising=False)
    assert docker(HostNetworkDockerSpawner).concurrent_starts == (os.cpu_count() or 1)
    monkeypatch.setenv("DOCKER_CONCURRENT_STARTS", "3")
    spawner = docker(HostNetworkDockerSpawner)
    assert spawner.concurrent_starts == 3
    assert spawner.start_timeout == 600, "the README's documented default"


class Starting(HostNetworkDockerSpawner):
    """A server that never listens on its port, its container running (or exited) as told."""

    server = SimpleNamespace(base_url="/user/alice@openhexa.test/")
    exit_status = None

    async def poll(self):
        return self.exit_status

    async def docker(self, method, *args, **kwargs):
        assert method == "logs", method
        return b"[I ServerApp] loading extensions\n[E ServerApp] the last line\n"


@pytest.mark.parametrize(
    ("exit_status", "message"),
    [
        (None, "Your notebook server did not answer within 1s: [E ServerApp] the last line"),
        (1, "Your notebook server stopped while starting (exit 1): [E ServerApp] the last line"),
    ],
)
def test_a_server_that_exits_or_never_answers_is_a_readable_failure(exit_status, message):
    async def scenario():
        spawner = docker(Starting, http_timeout=1)
        spawner.exit_status, spawner.port = exit_status, free_port()  # nothing listens there
        with pytest.raises(web.HTTPError) as refused:
            await spawner._until_up_or_exited()
        return refused.value

    assert run(scenario()).jupyterhub_message == message


def test_a_failed_start_is_told_by_its_last_error_not_its_last_line():
    logs = (
        "Executing: jupyterhub-singleuser\n"
        "[C 2026-11-29 03:37:54.968 ServerApp] ERROR: the Jupyter server could not be started because port 56811 "
        "is not available.\n"
        "[I 2026-11-29 03:37:55.001 ServerApp] Shutting down 0 kernels\n\n"
    )
    assert telling_line(logs).endswith("because port 56811 is not available.")
    assert telling_line("one\ntwo\n") == "two"
    assert telling_line("") == "no output"
    assert len(telling_line("x" * 1000)) == 300
