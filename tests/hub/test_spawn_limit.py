"""Beyond the hub's concurrent spawn limit, people opening a workspace wait in line; nobody sees an error.

The Zero to JupyterHub chart starts at most ``hub.concurrentSpawnLimit`` (64) servers at once.
JupyterHub answers the next spawn with 429 "Too many users trying to log in right now", and the
App turns that into an error (``notebooks/api.py`` raises it; ``test_mockapp`` holds the mock to
that). What the App does retry is a server that is not ready: it calls ``launchNotebookServer``
every second, which POSTs the server again while the hub does not list it. So the hub answers
202 with the person's place in line, lets people through first come, first served, keeps a place
only while its owner asks, and gives up with a clear 503 after a deadline.

The hubs here start one server at a time (``concurrent_spawn_limit=1``, the chart's failure
limit of 5); a start is kept pending by a slow App (the spawn hook fetches the credentials):
the App is slowed for the first start's first call only, since the line asks the App too,
before it gives anyone a place.
"""

from __future__ import annotations

import contextlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests
import yaml

from harness import ROOT
from harness.app import MockApp
from harness.hub import HUB_TIER_CONFIG, Hub
from harness.net import free_port, random_token
from harness.wait import wait_until

LIMIT = 1
WORKSPACE, SECOND_WORKSPACE = "field-study", "field-study-2"
PEOPLE = [f"person-{i}@openhexa.test" for i in range(1, 5)]


def fixtures(path):
    """People who may all launch notebooks in one workspace (the demo fixtures' storage settings)."""
    demo = yaml.safe_load((ROOT / "mockapp" / "fixtures.yaml").read_text())
    path.write_text(
        yaml.safe_dump(
            {
                "users": [
                    {
                        "email": e,
                        "password": f"{e}-pass",
                        "workspaces": {WORKSPACE: "editor", SECOND_WORKSPACE: "editor"},
                    }
                    for e in PEOPLE
                ],
                "workspaces": {
                    w: {"env": {"WORKSPACE_BUCKET_NAME": f"hexa-{w}"}} for w in (WORKSPACE, SECOND_WORKSPACE)
                },
                "storage": demo["storage"],
            }
        )
    )
    return path


def start(folder, keep: float, deadline: float) -> tuple[MockApp, Hub]:
    """A mock App launching on a hub that starts LIMIT servers at once, with the chart's failure limit."""
    port, token = free_port(), random_token()
    env = {"MOCK_APP_FIXTURES": str(fixtures(folder / "fixtures.yaml"))}
    app = MockApp.start(folder / "app", hub_url=f"http://127.0.0.1:{port}", hub_api_token=token, env=env)
    try:
        hub = Hub.start(
            app.url,
            folder / "hub",
            HUB_TIER_CONFIG,
            extra_env={
                "APP_READ_TIMEOUT": "30",
                "APP_CONNECT_TIMEOUT": "2",
                "SPAWN_LINE_KEEP": str(keep),
                "SPAWN_LINE_DEADLINE": str(deadline),
            },
            port=port,
            api_token=token,
            extra_args=[f"--JupyterHub.concurrent_spawn_limit={LIMIT}", "--Spawner.consecutive_failure_limit=5"],
        )
    except BaseException:
        app.stop()
        raise
    return app, hub


def started(tmp_path, keep: float, deadline: float):
    app, hub = start(tmp_path, keep=keep, deadline=deadline)
    yield app, hub
    app.set_mode("ok")
    hub.stop()
    app.stop()


@pytest.fixture
def limited(tmp_path):
    yield from started(tmp_path, keep=60, deadline=600)


@pytest.fixture
def impatient(tmp_path):
    """Places kept 2 s after the last ask; nobody waits more than 6 s."""
    yield from started(tmp_path, keep=2, deadline=6)


def ask(hub, session, email, workspace=WORKSPACE):
    """One POST of the person's workspace server, as the App's ``launchNotebookServer`` sends it."""
    return hub.launch_as_app(email, workspace, session)


def place(response) -> int | None:
    """The person's place in line, or None when the hub started the server (201: started, 202: starting)."""
    assert response.status_code in (201, 202), (response.status_code, response.text)
    if response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert body["status"] == "waiting" and response.headers["Retry-After"] == "1"
        return body["place"]
    return None


@contextlib.contextmanager
def first_start_pending(app, hub, slow: float, workers: int = 1):
    """The first three people logged in to the App, the first one's start pending (``slow``: the App takes
    that long to answer its first call): their sessions and a pool of ``workers`` threads to ask with."""
    sessions = {email: app.login(email, f"{email}-pass") for email in PEOPLE[:3]}
    app.clear_calls()
    with ThreadPoolExecutor(workers) as pool:
        started = start_in_background(pool, app, hub, sessions[PEOPLE[0]], PEOPLE[0], slow)
        yield sessions, pool, started


def start_in_background(pool, app, hub, session, email, slow: float = 0):
    """Start the person's server (the POST lasts as long as the start) and wait until the hub counts it;
    ``slow``: the App takes that long to answer the start's first call (the answers after it are quick)."""
    app.set_mode("ok", delay=slow)
    started = pool.submit(ask, hub, session, email)
    wait_until(lambda: (hub.server(email, WORKSPACE) or {}).get("pending") == "spawn", f"{email}'s spawn to be pending")
    wait_until(lambda: app.calls(), "the start's first call to the App")
    app.set_mode("ok")
    return started


def test_beyond_the_limit_a_launch_gets_a_place_in_line_and_nobody_jumps_it(limited):
    app, hub = limited
    first, second, third = PEOPLE[:3]
    with first_start_pending(app, hub, slow=6, workers=2) as (sessions, pool, started):
        answer = ask(hub, sessions[second], second)
        assert place(answer) == 1
        body = answer.json()
        assert body["starting"] == 1 and body["concurrent_spawn_limit"] == LIMIT
        assert "you are number 1 in line" in body["message"]
        assert hub.server(second, WORKSPACE) is None  # not started: the App will POST it again
        assert place(ask(hub, sessions[third], third)) == 2
        assert place(ask(hub, sessions[second], second)) == 1  # asking again keeps one's place

        assert started.result(timeout=60).status_code in (201, 202)
        wait_until(lambda: (hub.server(first, WORKSPACE) or {}).get("ready"), f"{first}'s server to be ready")
        # A place is free, but the third person is behind the second: they wait.
        assert place(ask(hub, sessions[third], third)) == 2
        app.set_mode("ok", delay=2)  # the second start waits twice 2 s for the App, the third person meanwhile
        second_started = pool.submit(ask, hub, sessions[second], second)
        wait_until(lambda: hub.server(second, WORKSPACE) is not None, f"{second}'s spawn to start")
        assert place(ask(hub, sessions[third], third)) == 1
        assert place(second_started.result(timeout=60)) is None
    assert hub.process.alive()  # asking again and again in line is not a failed spawn


def test_the_apps_launch_flow_brings_everyone_beyond_the_limit_to_their_server(limited):
    """Four people open the workspace at once through the App (its frontend asks every second)."""
    app, hub = limited
    sessions = [app.login(email, f"{email}-pass") for email in PEOPLE]
    app.set_mode("ok", delay=1)
    with ThreadPoolExecutor(len(PEOPLE)) as pool:
        results = list(pool.map(lambda session: app.launch(session, WORKSPACE, timeout=120), sessions))
    for result in results:
        assert not result.get("errors"), result
        assert result["success"] and result["server"]["ready"], result
    answers = requests.get(f"{app.url}/_mock/hub-answers", timeout=10).json()["answers"]
    assert {a["status"] for a in answers} <= {201, 202}, "the App saw an error status"
    waiting = [a for a in answers if (a["body"] or {}).get("status") == "waiting"]
    assert waiting, "nobody was beyond the limit: the test proves nothing"
    assert {a["path"] for a in waiting} < {a["path"] for a in answers}
    assert hub.process.alive()


def test_a_place_is_kept_only_while_its_owner_asks_and_the_wait_has_a_deadline(impatient):
    app, hub = impatient
    first, second, third = PEOPLE[:3]
    with first_start_pending(app, hub, slow=20) as (sessions, _, _):  # it outlasts the whole test
        assert place(ask(hub, sessions[second], second)) == 1
        assert place(ask(hub, sessions[third], third)) == 2
        # The second person closed the page; 2 s later their place is gone.
        wait_until(lambda: place(ask(hub, sessions[third], third)) == 1, "the third person to move up", timeout=10)

        def given_up():
            response = ask(hub, sessions[third], third)
            return [response] if response.status_code != 202 else None  # a 503 response is falsy

        (response,) = wait_until(given_up, "the line's deadline", timeout=20, interval=1)
        assert response.status_code == 503
        message = response.json()["message"]
        assert "waited" in message and "Try again later" in message
    assert hub.process.alive()


def token_hash(hub) -> str:
    database = sqlite3.connect(f"file:{hub.data_dir / 'jupyterhub.sqlite'}?mode=ro", uri=True)
    try:
        (hashed,) = database.execute("SELECT hashed FROM api_tokens WHERE service_id IS NOT NULL").fetchone()
    finally:
        database.close()
    return hashed


def test_a_token_that_does_not_look_random_is_stretched_as_a_password(mock_app, tmp_path):
    """The fast hash is for random tokens only: one of 32 characters is not random by its length alone."""
    hub = Hub.start(mock_app.url, tmp_path / "hub", HUB_TIER_CONFIG, api_token="a" * 32)
    try:
        assert token_hash(hub).startswith("sha512:16384:"), token_hash(hub)[:16]
    finally:
        hub.stop()


def test_the_apps_token_is_checked_with_one_hash_not_16384(hub):
    """The App calls the hub two or three times a second for each person whose server starts; JupyterHub
    stretches a configured token as a password (16384 rounds of SHA-512, about 7 ms a call) unless told
    it is random. At 100 people that was the hub's whole core: its calls to the App timed out."""
    assert token_hash(hub).startswith("sha512:1:"), token_hash(hub)[:16]


def spawner_rows(hub) -> int:
    """Every named server the hub's database keeps."""
    database = sqlite3.connect(f"file:{hub.data_dir / 'jupyterhub.sqlite'}?mode=ro", uri=True)
    try:
        return database.execute("SELECT COUNT(*) FROM spawners WHERE name != ''").fetchone()[0]
    finally:
        database.close()


def test_one_account_holds_one_place_whatever_it_asks_for_and_nothing_is_kept_while_it_waits(limited):
    """One account asking for every name it can think of, again and again, to keep others behind it."""
    app, hub = limited
    _, attacker, victim = PEOPLE[:3]
    with first_start_pending(app, hub, slow=20) as (sessions, _, _):  # the limit is reached meanwhile
        rows = spawner_rows(hub)
        hostile = ["<img src=x onerror=alert(1)>", "x" * 300, "..", "no-such-workspace", "unknown-2"]
        for _ in range(3):
            for name in hostile:
                response = ask(hub, sessions[attacker], attacker, name)
                assert response.status_code in (400, 404), (name, response.status_code, response.text)
            for workspace in (WORKSPACE, SECOND_WORKSPACE):
                assert place(ask(hub, sessions[attacker], attacker, workspace)) == 1
        assert place(ask(hub, sessions[victim], victim)) == 2, "the victim is right behind the one account"
        assert spawner_rows(hub) == rows, "the hub kept rows for people waiting or refused"
    assert hub.process.alive()


def test_default_servers_wait_in_the_same_line(limited):
    """The spawn page and the REST API's default server: places in the line, not JupyterHub's 429."""
    app, hub = limited
    _, second, third = PEOPLE[:3]
    with first_start_pending(app, hub, slow=20) as (sessions, _, _):
        for email in (second, third):
            assert sessions[email].get(f"{hub.url}/hub/login", timeout=30).ok
        page = sessions[second].get(f"{hub.url}/hub/spawn", allow_redirects=False, timeout=60)
        assert page.status_code == 200 and "you are number 1 in line" in page.text, page.text[-500:]
        assert '<meta http-equiv="refresh"' in page.text, "the page asks again by itself"
        cookies = {"Cookie": "; ".join(f"{k}={sessions[third].cookies[k]}" for k in ("sessionid", "csrftoken"))}
        response = hub.api("POST", f"/users/{quote(third)}/server", json={}, headers=cookies)
        assert place(response) == 2
        assert hub.server(second) is None and hub.server(third) is None, "nothing started beyond the limit"
    assert hub.process.alive()
