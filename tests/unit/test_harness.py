"""The shared harness's own rules, checked without Docker."""

import socket

import pytest

from harness.containers import ExecFailed, TrackedContainer


class FakeContainer:
    """Docker SDK's container, as far as TrackedContainer's exec uses it."""

    short_id = "abc123"

    def __init__(self, exit_code: int, output: bytes):
        self.result = type("ExecResult", (), {"exit_code": exit_code, "output": output})()
        self.commands = []

    def exec_run(self, command, **kwargs):
        self.commands.append(command)
        return self.result


def test_a_failed_command_in_a_container_raises_unless_its_status_is_asked_for():
    tracked = TrackedContainer(client=None, image="unused")
    assert tracked.exec(FakeContainer(0, b"fine"), ["true"]) == "fine"
    with pytest.raises(ExecFailed, match=r"exited 1 .*\n.*no such file"):
        tracked.exec(FakeContainer(1, b"cat: x: no such file"), ["cat", "x"])
    assert tracked.exec_status(FakeContainer(1, b"no"), ["false"]) == (1, "no")
    with pytest.raises(ExecFailed, match="did not finish within 5s"):
        tracked.exec_status(FakeContainer(124, b""), ["sleep", "9"], timeout=5)
    container = FakeContainer(0, b"")
    tracked.exec(container, ["id"], timeout=7)
    assert container.commands == [["timeout", "7", "id"]]


def test_free_ports_are_never_given_twice_and_lie_below_the_ephemeral_range():
    """A port chosen now and listened on later (the hub tier's hub) must not be the kernel's pick for an
    outgoing connection or a bind to 0 meanwhile, nor given again by free_port."""
    from harness import net

    low = net.ephemeral_ports()[0]
    given = net.free_ports(50) + [net.free_port() for _ in range(50)]
    assert len(set(given)) == len(given)
    assert all(1024 <= port < low for port in given)
    with socket.socket() as kernel_pick:
        kernel_pick.bind(("127.0.0.1", 0))
        assert kernel_pick.getsockname()[1] >= low, "the kernel's own picks are where free_port never looks"
