"""A slow, failing or unreachable App: a clear 503, never a login, and the hub stays responsive."""

import threading

import pytest
import requests

from harness.app import DEMO
from harness.hub import HUB_TIER_CONFIG, Hub
from harness.net import free_port
from harness.wait import wait_until


def test_slow_app_times_out_with_503_while_the_hub_serves_others(app, hub):
    session = app.login(*DEMO["alice"])
    app.set_mode("ok", delay=6)  # longer than the hub's APP_READ_TIMEOUT of 2s
    result = {}

    def slow_login():
        result["response"] = session.get(f"{hub.url}/hub/login", allow_redirects=False, timeout=30)

    thread = threading.Thread(target=slow_login)
    thread.start()
    wait_until(lambda: app.calls(), "the hub to call the slow App")
    # While the App keeps the login hanging, the hub answers someone else.
    other = requests.get(f"{hub.url}/hub/api/", timeout=30)
    assert other.status_code == 200
    assert thread.is_alive(), "the slow login should still be waiting for the App"
    thread.join(30)
    response = result["response"]
    assert response.status_code == 503
    assert "The OpenHexa App is unavailable" in response.text
    assert "jupyterhub-hub-login" not in session.cookies


@pytest.fixture(scope="module")
def hub_without_app(tmp_path_factory):
    """A hub whose App URLs point at a port nothing listens on."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    started = Hub.start(nowhere, tmp_path_factory.mktemp("hub-without-app"), HUB_TIER_CONFIG)
    yield started
    started.stop()


def test_unreachable_app_gives_503_and_no_login(hub_without_app):
    session = requests.Session()
    session.cookies.set("sessionid", "abc")
    session.cookies.set("csrftoken", "def")
    response = session.get(f"{hub_without_app.url}/hub/login", allow_redirects=False, timeout=30)
    assert response.status_code == 503
    assert "The OpenHexa App is unavailable" in response.text
    assert "jupyterhub-hub-login" not in session.cookies
    assert hub_without_app.process.alive()
