"""Smoke test of a deployed OpenHexa hub: a person's visit, as the App and a browser make it.

1. wait until the hub's REST API answers;
2. log in to the App (the mock App's login form) for the person's ``sessionid``
   and ``csrftoken`` cookies, then to the hub with them (``/hub/login``), as the
   App's iframe does;
3. with the App's service token, create the user and start the server,
   forwarding those cookies, so the hub's spawn hooks can fetch the credentials;
4. poll the hub until the server is ready (a server that disappears has failed:
   that stops the wait at once);
5. GET the server's ``/api`` through the proxy;
6. as the person's browser, open the server (the hub's OAuth), start a kernel and
   run a cell in it (``--no-cell`` skips this, for servers without kernels);
7. log out as the App's backend does (``GET /hub/logout`` with the App's cookies
   only): the server stops and the hub cookie stops working;
8. remove whatever is left, delete the user.

Every wait has one deadline (``--timeout``). Needs ``requests`` and ``tornado``
(for the kernel's websocket)::

    HUB_API_TOKEN=... python chart-values/smoke.py \\
        --hub-url http://localhost:30080 --app-url http://localhost:30800

Exits 0 when every step passed; otherwise prints the step that failed and exits 1.
tests/hub/test_chart_smoke.py runs these functions against the hub tier's hub.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

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


def hub_login(hub_url: str, cookies: dict[str, str]) -> requests.Session:
    """The person's browser logged in to the hub from their App cookies (``/hub/login``)."""
    browser = requests.Session()
    for key, value in cookies.items():
        browser.cookies.set(key, value)
    response = browser.get(f"{hub_url.rstrip('/')}/hub/login", allow_redirects=False, timeout=REQUEST_TIMEOUT)
    if response.status_code != 302 or not browser.cookies.get("jupyterhub-hub-login"):
        raise SmokeFailed(f"logging in to the hub with the App's cookies: HTTP {response.status_code}")
    return browser


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


def server_cookie_header(browser: requests.Session, path: str) -> str:
    """The cookies the browser sends to the server at ``path``."""
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies if path.startswith(c.path.rstrip("/") + "/"))


def run_cell(hub_url: str, model: dict, browser: requests.Session, code: str, deadline: Deadline) -> str:
    """Open the server as the person's browser, run ``code`` in a new kernel; return what it printed."""
    base = f"{hub_url.rstrip('/')}{model['url']}"
    page = browser.get(f"{base}lab", timeout=REQUEST_TIMEOUT)  # the hub's OAuth, then the server's own cookie
    if page.status_code != 200 or not page.url.startswith(base):
        raise SmokeFailed(f"opening JupyterLab at {base}lab: HTTP {page.status_code} at {page.url}")
    xsrf = max((c for c in browser.cookies if c.name == "_xsrf" and model["url"].startswith(c.path)),
               key=lambda c: len(c.path), default=None)  # fmt: skip
    headers = {"X-XSRFToken": xsrf.value} if xsrf else {}
    kernel = browser.post(f"{base}api/kernels", json={}, headers=headers, timeout=REQUEST_TIMEOUT)
    if kernel.status_code != 201:
        raise SmokeFailed(f"starting a kernel: HTTP {kernel.status_code} {kernel.text[:300]}")
    kernel_id = kernel.json()["id"]
    try:
        url = base.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels"
        request = HTTPRequest(url, headers={"Cookie": server_cookie_header(browser, model["url"])})
        return asyncio.run(asyncio.wait_for(_execute(request, code), max(deadline.remaining(), 1.0)))
    except TimeoutError:
        raise TimedOut(f"timed out running {code!r} in the kernel") from None
    finally:
        browser.delete(f"{base}api/kernels/{kernel_id}", headers=headers, timeout=REQUEST_TIMEOUT)


async def _execute(request: HTTPRequest, code: str) -> str:
    """One execute_request on the kernel's channels websocket; the stream output until the kernel is idle."""
    connection = await websocket_connect(request)
    msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
    header = {"msg_id": msg_id, "session": session, "username": "smoke", "msg_type": "execute_request",
              "version": "5.3"}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False}
    message = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
    await connection.write_message(json.dumps(message))
    output = []
    try:
        while True:
            raw = await connection.read_message()
            if raw is None:
                raise SmokeFailed("the kernel's websocket closed before the cell finished")
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply["header"]["msg_type"]
            if kind == "stream":
                output.append(reply["content"]["text"])
            elif kind == "error":
                raise SmokeFailed(f"the cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
            elif kind == "status" and reply["content"]["execution_state"] == "idle":
                return "".join(output)
    finally:
        connection.close()


def logout_as_app(hub: Hub, name: str, cookies: dict[str, str], browser: requests.Session, deadline: Deadline):
    """What the App's logout does (``GET <hub>/hub/logout`` with only the App's cookies, no redirect
    followed); then the person's servers stop and their hub cookie no longer works."""
    cookie_header = "; ".join(f"{key}={value}" for key, value in cookies.items())
    response = requests.get(
        f"{hub.url}/hub/logout", headers={"Cookie": cookie_header}, allow_redirects=False, timeout=REQUEST_TIMEOUT
    )
    if response.status_code >= 400:
        raise SmokeFailed(f"logging out as the App does: HTTP {response.status_code}")

    def stopped():
        response = hub.api("GET", user_path(name))
        return response.status_code == 200 and not response.json().get("servers")

    poll(stopped, f"{name}'s servers to stop after logging out", deadline, interval=1.0)
    if browser.get(f"{hub.url}/hub/api/user", timeout=REQUEST_TIMEOUT).status_code == 200:
        raise SmokeFailed("the hub cookie still works after logging out")


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
    cell: bool = True,
) -> dict:
    """The whole smoke test; returns the ready server's model. Raises SmokeFailed."""
    deadline = Deadline(timeout)
    hub = Hub(hub_url, token)
    name = hub_username(email)
    log(f"waiting for the hub at {hub.url}")
    wait_for_hub(hub, deadline)
    log(f"logging in to the App at {app_url} as {email}, then to the hub with its cookies")
    cookies = app_login(app_url, email, password)
    browser = hub_login(hub.url, cookies)
    log(f"starting {name}'s server {server!r}" + (f" with profile {profile!r}" if profile else ""))
    start_server(hub, name, server, cookies, profile)
    try:
        model = wait_ready(hub, name, server, deadline)
        log(f"ready at {model['url']}; checking its /api")
        check_server_api(hub.url, model)
        if cell:
            log("running a cell in a new kernel, as the person's browser")
            printed = run_cell(hub.url, model, browser, "print(6 * 7)", deadline)
            if printed.strip() != "42":
                raise SmokeFailed(f"the cell printed {printed!r}, not 42")
        log("logging out as the App does")
        logout_as_app(hub, name, cookies, browser, deadline)
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
    parser.add_argument("--no-cell", action="store_true", help="skip running a cell (servers without kernels)")
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
            cell=not args.no_cell,
        )
    except (SmokeFailed, requests.RequestException) as error:
        print(f"smoke test failed: {error}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
