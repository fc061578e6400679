"""chart-values/smoke.py, the k3s CI's smoke test, against the hub tier's real hub and the mock App."""

from __future__ import annotations

import threading

import pytest

from harness import chart
from harness.app import DEMO
from harness.wait import wait_until

WORKSPACE = "malaria-dashboards"


@pytest.fixture
def smoke():
    return chart.load_smoke()


MIXED_EMAIL, MIXED_PASSWORD = DEMO["mixed"]  # a workspace member whose email has capitals


def test_smoke_opens_a_workspace_on_a_real_hub(smoke, app, hub):
    logged = []
    model = smoke.run(
        hub.url,
        app.url,
        hub.api_token,
        MIXED_EMAIL,
        MIXED_PASSWORD,
        WORKSPACE,
        timeout=120,
        log=logged.append,
        cell=False,  # the hub tier's servers run no kernel; the chart-config tier runs the cell
    )
    name = smoke.hub_username(MIXED_EMAIL)
    assert model["ready"] is True
    assert model["url"].startswith("/user/mixed.case") and model["url"].endswith(f"/{WORKSPACE}/")
    assert any("checking its /api" in line for line in logged)
    calls = [c for c in app.calls() if c["path"] == "/workspaces/credentials/"]
    assert calls and calls[-1]["form"] == {"workspace": WORKSPACE}, "the spawn used the App's cookies"
    assert hub.api("GET", smoke.user_path(name)).status_code == 404, "the user was removed"


def test_smoke_stops_waiting_at_the_deadline_while_a_server_is_starting(smoke, app, hub):
    api = smoke.Hub(hub.url, hub.api_token)
    name = smoke.hub_username(MIXED_EMAIL)
    cookies = smoke.app_login(app.url, MIXED_EMAIL, MIXED_PASSWORD)
    # Each App answer takes 1.5 s (under the hub's 2 s read timeout): the spawn
    # waits on the App's credentials for seconds, then succeeds.
    app.set_mode("ok", delay=1.5)
    started = {}
    thread = threading.Thread(target=lambda: started.update(ok=smoke.start_server(api, name, WORKSPACE, cookies)))
    thread.start()
    try:
        # The second App call comes from the spawn hooks: the server is starting.
        wait_until(lambda: len(app.calls()) >= 2, "the spawn hooks to call the App")

        def no_sleep(seconds):
            raise AssertionError("an expired deadline must not wait")

        with pytest.raises(smoke.TimedOut, match="still pending: spawn"):
            smoke.wait_ready(api, name, WORKSPACE, smoke.Deadline(0), sleep=no_sleep)
    finally:
        thread.join(60)
        app.set_mode("ok")
    assert "ok" in started, "the spawn went on after the smoke test gave up"
    model = smoke.wait_ready(api, name, WORKSPACE, smoke.Deadline(60), interval=0.2)
    assert model["ready"] is True
    smoke.clean_up(api, name, WORKSPACE, smoke.Deadline(60))
    assert hub.server(name, WORKSPACE) is None


def test_smoke_fails_at_once_when_the_server_is_gone(smoke, hub):
    api = smoke.Hub(hub.url, hub.api_token)
    name = "nobody-started@openhexa.test"
    assert api.api("POST", smoke.user_path(name)).status_code in (201, 409)
    try:

        def no_sleep(seconds):
            raise AssertionError("a server that is gone must fail without waiting")

        with pytest.raises(smoke.SmokeFailed, match="is gone") as failure:
            smoke.wait_ready(api, name, WORKSPACE, smoke.Deadline(600), sleep=no_sleep)
        assert not isinstance(failure.value, smoke.TimedOut)
    finally:
        api.api("DELETE", smoke.user_path(name))
