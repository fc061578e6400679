"""Smoke test of a deployed OpenHexa hub: open a workspace the way the App does.

1. wait until the hub's REST API answers;
2. log in to the App (the mock App's login form) for the person's ``sessionid``
   and ``csrftoken`` cookies;
3. with the App's service token, create the user and start the server,
   forwarding those cookies, so the hub's spawn hooks can fetch the credentials;
4. poll the hub until the server is ready (a server that disappears has failed:
   that stops the wait at once);
5. GET the server's ``/api`` through the proxy;
6. stop and remove the server, delete the user.

Every wait has one deadline (``--timeout``). Needs only ``requests``::

    HUB_API_TOKEN=... python chart-values/smoke.py \\
        --hub-url http://localhost:30080 --app-url http://localhost:30800

Exits 0 when every step passed; otherwise prints the step that failed and exits 1.
tests/hub/test_chart_smoke.py runs these functions against the hub tier's hub.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from urllib.parse import quote

import requests

REQUEST_TIMEOUT = 30  # seconds for one HTTP request


class SmokeFailed(Exception):
    """A step failed; the message says which and why."""


class TimedOut(SmokeFailed):
    """A wait reached the deadline."""


class Deadline:
    """A point in time every wait of the run stops at."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.end


def poll(check, what: str, deadline: Deadline, interval: float = 2.0, sleep=time.sleep):
    """Call ``check()`` until it returns something truthy, and return that.

    A connection error counts as "not yet"; ``check`` raises :class:`SmokeFailed`
    to stop at once. Raises :class:`TimedOut` at the deadline.
    """
    last_error = None
    while True:
        try:
            result = check()
        except requests.RequestException as error:
            result, last_error = None, error
        if result:
            return result
        if deadline.expired():
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimedOut(f"timed out waiting for {what}{detail}")
        sleep(min(interval, deadline.remaining()))


class Hub:
    """The hub's REST API, called with the App's service token."""

    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.url}/hub/api{path}", timeout=REQUEST_TIMEOUT, **kwargs)


def user_path(name: str) -> str:
    return f"/users/{quote(name, safe='')}"


def server_path(name: str, server: str) -> str:
    return user_path(name) + (f"/servers/{quote(server, safe='')}" if server else "/server")


def hub_username(email: str) -> str:
    """The hub's name for an App account: its email, trimmed and lowercased."""
    return email.strip().lower()


def wait_for_hub(hub: Hub, deadline: Deadline) -> None:
    poll(lambda: hub.api("GET", "/").status_code == 200, f"the hub API at {hub.url}/hub/api/", deadline)


def app_login(app_url: str, email: str, password: str) -> dict[str, str]:
    """Log in to the App's login form as a browser does; return its session cookies."""
    app_url = app_url.rstrip("/")
    browser = requests.Session()
    form = browser.get(f"{app_url}/login", timeout=REQUEST_TIMEOUT)  # the App sends it on to its frontend's
    form.raise_for_status()
    login_url = form.url.split("?", 1)[0]
    response = browser.post(
        login_url,
        data={
            "email": email,
            "password": password,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
        },
        headers={"Referer": login_url},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    cookies = {name: browser.cookies.get(name) for name in ("sessionid", "csrftoken")}
    if response.status_code != 302 or not all(cookies.values()):
        raise SmokeFailed(f"logging in to the App as {email}: HTTP {response.status_code}")
    return cookies


def start_server(hub: Hub, name: str, server: str, cookies: dict[str, str], profile: str | None = None):
    """Create the user if new and start the server with the person's App cookies, as the App does."""
    response = hub.api("POST", user_path(name))
    if response.status_code not in (201, 409):
        raise SmokeFailed(f"creating the user {name}: HTTP {response.status_code} {response.text[:300]}")
    options = {"profile": profile} if profile else {}
    cookie_header = "; ".join(f"{key}={value}" for key, value in cookies.items())
    response = hub.api("POST", server_path(name, server), json=options, headers={"Cookie": cookie_header})
    if response.status_code not in (201, 202):
        raise SmokeFailed(f"starting {name}'s server {server!r}: HTTP {response.status_code} {response.text[:300]}")


def wait_ready(hub: Hub, name: str, server: str, deadline: Deadline, interval: float = 2.0, sleep=time.sleep):
    """Poll the hub until the server is ready; return the hub's model of it."""
    seen = {}

    def check():
        response = hub.api("GET", user_path(name))
        if response.status_code != 200:
            raise SmokeFailed(f"reading the user {name}: HTTP {response.status_code}")
        model = response.json().get("servers", {}).get(server)
        if model is None:
            raise SmokeFailed(f"{name}'s server {server!r} is gone: its start failed (see the hub's log)")
        seen["model"] = model
        return model if model.get("ready") else None

    try:
        return poll(check, f"{name}'s server {server!r} to be ready", deadline, interval, sleep)
    except TimedOut as error:
        pending = (seen.get("model") or {}).get("pending")
        raise TimedOut(f"{error}; still pending: {pending}") from None


def check_server_api(hub_url: str, model: dict) -> requests.Response:
    """GET the server's /api through the proxy: the server itself answers."""
    url = f"{hub_url.rstrip('/')}{model['url']}api"
    response = requests.get(url, timeout=REQUEST_TIMEOUT, allow_redirects=False)
    if response.status_code != 200:
        raise SmokeFailed(f"GET {url}: HTTP {response.status_code}")
    return response


def clean_up(hub: Hub, name: str, server: str, deadline: Deadline) -> None:
    """Stop and remove the server, then delete the user."""
    hub.api("DELETE", server_path(name, server), json={"remove": True} if server else None)

    def gone():
        response = hub.api("GET", user_path(name))
        return response.status_code == 404 or server not in response.json().get("servers", {})

    poll(gone, f"{name}'s server {server!r} to stop", deadline, interval=1.0)
    response = hub.api("DELETE", user_path(name))
    if response.status_code not in (204, 404):
        raise SmokeFailed(f"deleting the user {name}: HTTP {response.status_code} {response.text[:300]}")


def run(
    hub_url: str,
    app_url: str,
    token: str,
    email: str,
    password: str,
    server: str,
    profile: str | None = None,
    timeout: float = 600.0,
    log=print,
) -> dict:
    """The whole smoke test; returns the ready server's model. Raises SmokeFailed."""
    deadline = Deadline(timeout)
    hub = Hub(hub_url, token)
    name = hub_username(email)
    log(f"waiting for the hub at {hub.url}")
    wait_for_hub(hub, deadline)
    log(f"logging in to the App at {app_url} as {email}")
    cookies = app_login(app_url, email, password)
    log(f"starting {name}'s server {server!r}" + (f" with profile {profile!r}" if profile else ""))
    start_server(hub, name, server, cookies, profile)
    try:
        model = wait_ready(hub, name, server, deadline)
        log(f"ready at {model['url']}; checking its /api")
        check_server_api(hub.url, model)
    finally:
        log(f"removing {name}'s server and the user")
        clean_up(hub, name, server, Deadline(max(deadline.remaining(), 120.0)))
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hub-url", required=True, help="the hub's public URL (the proxy)")
    parser.add_argument("--app-url", required=True, help="the App's URL, for its login form")
    parser.add_argument("--email", default="alice@openhexa.test", help="an App account (default: mock App demo)")
    parser.add_argument("--password", default="alice-pass")
    parser.add_argument("--server", default="malaria-dashboards", help="a workspace slug; '' for the default server")
    parser.add_argument("--profile", default=None, help="a profile slug to ask for, as the App may")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole test")
    args = parser.parse_args(argv)
    token = os.environ.get("HUB_API_TOKEN", "").strip()
    if not token:
        print("smoke test: HUB_API_TOKEN (the App's service token) is not set", file=sys.stderr)
        return 2
    try:
        run(
            args.hub_url,
            args.app_url,
            token,
            args.email,
            args.password,
            args.server,
            args.profile,
            args.timeout,
        )
    except (SmokeFailed, requests.RequestException) as error:
        print(f"smoke test failed: {error}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
