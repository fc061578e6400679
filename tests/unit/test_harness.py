"""The shared harness's own rules, checked without Docker."""

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
