"""Oversized App answers: a clear 502, and the hub never holds them in memory."""

import base64
import json
from pathlib import Path

import requests

from harness.app import DEMO
from harness.wait import wait_until

MIB = 1024 * 1024
ALICE = "alice@openhexa.test"


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def test_an_oversized_answer_is_a_502_and_is_not_held_in_memory(app, hub):
    session = app.login(*DEMO["alice"])
    cookies = {name: session.cookies[name] for name in ("sessionid", "csrftoken")}
    huge = json.dumps({"username": "alice@openhexa.test", "padding": "x" * (20 * MIB)})
    app.answer(200, huge, {"Content-Type": "application/json"}, path="/notebooks/authenticate/")
    before = resident_bytes(hub.process.popen.pid)
    for _ in range(4):
        response = requests.get(f"{hub.url}/hub/login", cookies=cookies, allow_redirects=False, timeout=60)
        assert response.status_code == 502
        assert "larger than the hub reads (1024 kB)" in response.text
    grown = resident_bytes(hub.process.popen.pid) - before
    assert grown < 40 * MIB, f"the hub grew by {grown // MIB} MiB"


def test_files_too_large_for_a_server_are_refused_stating_the_limit(login, app, hub):
    alice = login("alice")
    files = {"big.bin": base64.b64encode(b"\0" * 150_000).decode()}
    body = {"username": "alice@openhexa.test", "env": {}, "files": files}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")
    response = alice.get(f"{hub.url}/hub/spawn", timeout=60)
    assert response.status_code == 502
    assert "a server takes at most 96 kB of them" in response.text
    assert hub.server("alice@openhexa.test") is None
    assert requests.get(f"{hub.url}/hub/health", timeout=10).ok


def test_files_within_the_limit_reach_the_server(login, app, hub):
    alice = login("alice")
    content = base64.b64encode(b"a" * 60_000).decode()
    body = {"username": "alice@openhexa.test", "env": {}, "files": {"data/sample.txt": content}}
    app.answer(200, json.dumps(body), {"Content-Type": "application/json"}, path="/notebooks/default-credentials/")
    alice.get(f"{hub.url}/hub/spawn", timeout=60)
    try:
        wait_until(lambda: (hub.server(ALICE) or {}).get("ready"), "alice's server to be ready")
        env = alice.get(f"{hub.url}/user/{ALICE}/env", timeout=60).json()
        assert json.loads(env["OPENHEXA_FILES"]) == {"data/sample.txt": content}
    finally:
        hub.stop_servers(ALICE)
