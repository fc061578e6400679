"""Helpers every test tier shares: waits with deadlines, free ports, processes, the mock App."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent


class WaitTimeout(AssertionError):
    """A wait ran out of time; the message says what it waited for."""


def wait_until(predicate, what: str, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; return that.

    Fails with ``what`` in the message once ``timeout`` seconds have passed.
    Exceptions from ``predicate`` count as "not yet" and the last one is shown.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except WaitTimeout:
            raise  # the predicate knows it can never succeed
        except Exception as error:  # noqa: BLE001 - "not yet", reported on timeout
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on right now."""
    with contextlib.ExitStack() as held:  # all held at once, so no two are the same
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


@dataclass
class Request:
    """What a stand-in server received."""

    method: str
    path: str
    headers: dict
    body: str


class StandInServer:
    """An HTTP server on 127.0.0.1 that records each request and answers ``answer(request)``.

    ``answer`` returns ``(status, headers, body)``; a dict or list body is sent as JSON.
    Use it as a context manager; ``url`` is its base URL.
    """

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[Request] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                request = Request(self.command, self.path, dict(self.headers), body)
                stand_in.requests.append(request)
                status, headers, content = stand_in.answer(request)
                if isinstance(content, (dict, list)):
                    content = json.dumps(content)
                    headers = {"Content-Type": "application/json", **headers}
                data = (content or "").encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandInServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def answers_ok(url: str) -> bool:
    """True once ``url`` answers 200."""
    try:
        return requests.get(url, timeout=2, allow_redirects=False).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Process:
    """A background process whose output goes to a log file; always stopped."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @classmethod
    def start(cls, name: str, args: list[str], log_path: Path, env: dict | None = None, cwd=ROOT):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        log.close()
        return cls(name, popen, log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_ready(self, url: str, timeout: float = 60.0):
        """Wait until ``url`` answers 200; fail at once, with the log, if the process dies."""

        def ready():
            if not self.alive():
                raise WaitTimeout(f"{self.name} exited ({self.popen.returncode}):\n{self.log()[-3000:]}")
            return answers_ok(url)

        wait_until(ready, f"{self.name} to answer 200 at {url}", timeout)

    def stop(self, timeout: float = 15.0):
        """Stop the process and everything it started (its process group), even once it has exited.

        A hub that exits on its own (a consecutive failure limit) leaves its proxy running.
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        with contextlib.suppress(WaitTimeout):
            wait_until(lambda: not group_alive(self.popen.pid), f"{self.name}'s children to exit", 5, 0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # what ignored SIGTERM


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def app_session(frontend_url: str, email: str, password: str) -> requests.Session:
    """A browser-like session logged in to the App's frontend at ``frontend_url`` (cookies sessionid, csrftoken)."""
    session = requests.Session()
    session.get(f"{frontend_url}/login", timeout=10)
    response = session.post(
        f"{frontend_url}/login?next=/",
        data={"email": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{frontend_url}/login"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, f"login as {email} failed: {response.status_code}"
    return session


def app_cookie_header(session: requests.Session) -> str:
    """The App cookies a browser holds, as the App's backend forwards them to the hub (a Cookie header)."""
    return "; ".join(f"{k}={session.cookies[k]}" for k in ("sessionid", "csrftoken") if k in session.cookies)


def launch_notebook_server(frontend_url: str, session: requests.Session, slug: str, timeout: float = 180) -> dict:
    """What the App's frontend does for a workspace's notebooks: ``launchNotebookServer`` every second until ready.

    Returns the mutation's last result, or ``{"errors": [...]}`` when GraphQL answered an
    error (a refusal of the hub's REST API, as the App words it).
    """
    body = {
        "operationName": "launchNotebookServer",
        "variables": {"input": {"workspaceSlug": slug}},
    }

    def ask():
        response = session.post(
            f"{frontend_url}/graphql/",
            json=body,
            headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{frontend_url}/"},
            timeout=60,
        )
        response.raise_for_status()
        answer = response.json()
        if answer.get("errors"):
            return {"errors": answer["errors"]}
        result = answer["data"]["launchNotebookServer"]
        return result if not result["success"] or result["server"]["ready"] else None

    return wait_until(ask, f"the App's launch of {slug}", timeout=timeout, interval=1.0)


class MockApp:
    """The mock OpenHexa App in its own process (backend and frontend), with its test switches."""

    def __init__(self, process: Process, url: str, frontend_url: str):
        self.process = process
        self.url = url  # the backend, as the hub and browsers reach it
        self.frontend_url = frontend_url

    @classmethod
    def start(cls, log_dir: Path, hub_url: str = "http://127.0.0.1:9", hub_api_token: str = "", env=None) -> MockApp:
        """Start it for ``hub_url`` (the hub's proxy), with its test switches on."""
        port, frontend_port = free_port(), free_port()
        url, frontend_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{frontend_port}"
        settings = {
            "NEW_FRONTEND_DOMAIN": frontend_url,
            "NOTEBOOKS_HUB_URL": f"{hub_url}/hub",
            "NOTEBOOKS_URL": hub_url,
            "HUB_API_TOKEN": hub_api_token,
            "MOCK_APP_TEST_CONTROLS": "1",
            # A cloud engine, as Kubernetes deployments have; its endpoint refuses at once.
            "MOCK_APP_STORAGE_ENGINE": "s3",
            "MOCK_APP_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "MOCK_APP_STORAGE_DIR": str(log_dir / "buckets"),
        }
        process = Process.start(
            "mock App",
            [sys.executable, "-m", "mockapp", "--port", str(port), "--backend-url", url],
            log_dir / "mockapp.log",
            env={**os.environ, "PYTHONPATH": str(ROOT), **settings, **(env or {})},
        )
        app = cls(process, url, frontend_url)
        process.wait_ready(f"{frontend_url}/login")
        return app

    def set_mode(self, mode: str = "ok", delay: float = 0.0):
        response = requests.post(f"{self.url}/_mock/mode", json={"mode": mode, "delay": delay}, timeout=5)
        response.raise_for_status()

    def answer(self, status: int = 200, body: str = "", headers: dict | None = None, path: str | None = None):
        """Make the contract endpoints (or only ``path``) answer exactly this, until ``set_mode``."""
        answer = {"status": status, "body": body, "headers": headers or {}, "for": path}
        requests.post(f"{self.url}/_mock/answer", json=answer, timeout=5).raise_for_status()

    def calls(self) -> list[dict]:
        return requests.get(f"{self.url}/_mock/calls", timeout=5).json()["calls"]

    def clear_calls(self):
        requests.delete(f"{self.url}/_mock/calls", timeout=5)

    def login(self, email: str, password: str) -> requests.Session:
        return app_session(self.frontend_url, email, password)

    def launch(self, session: requests.Session, slug: str, timeout: float = 180) -> dict:
        return launch_notebook_server(self.frontend_url, session, slug, timeout)

    def logout(self, session: requests.Session) -> requests.Response:
        """Log out of the App as its frontend does: ``POST /auth/logout/`` (the App then calls the hub)."""
        return session.post(
            f"{self.url}/auth/logout/",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{self.frontend_url}/"},
            allow_redirects=False,
            timeout=120,
        )

    def stop(self):
        self.process.stop()


class HubServers:
    """A person's servers through a hub's REST API (``api``, as the App's service)."""

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        raise NotImplementedError

    def servers(self, name: str) -> dict:
        """The person's servers by name ("" the default one); none when the person is unknown."""
        response = self.api("GET", f"/users/{quote(name, safe='')}")
        return response.json().get("servers", {}) if response.status_code == 200 else {}

    def server(self, name: str, server: str = "") -> dict | None:
        """The hub's model of one server, or None when it does not exist."""
        return self.servers(name).get(server)

    def launch_as_app(self, name: str, server: str, session: requests.Session, body: dict | None = None):
        """What the App does to open a workspace: create the user (409 when known), then POST the
        named server with the person's App cookies and the App's token; returns that answer."""
        user = quote(name, safe="")
        self.api("POST", f"/users/{user}")
        cookies = {"Cookie": app_cookie_header(session)}
        return self.api("POST", f"/users/{user}/servers/{server}", json=body or {}, headers=cookies)

    def stop_servers(self, name: str):
        """Stop every server of the person, and wait until they are gone."""
        user = quote(name, safe="")
        for server in self.servers(name):
            path = f"/users/{user}/servers/{quote(server)}" if server else f"/users/{user}/server"
            self.api("DELETE", path)
        wait_until(lambda: not self.servers(name), f"{name}'s servers to stop", timeout=60)


@dataclass
class Hub(HubServers):
    """A real JupyterHub (with its proxy) in its own process group."""

    process: Process
    url: str  # the proxy, as people reach the hub
    api_token: str
    data_dir: Path

    @classmethod
    def start(
        cls,
        app_url: str,
        data_dir: Path,
        config: Path,
        extra_env: dict | None = None,
        port: int | None = None,
        api_token: str | None = None,
        extra_args: list[str] | None = None,
    ) -> Hub:
        """Start a hub for the App at ``app_url``; ``port`` and ``api_token`` when the App must know them first;
        ``extra_args``: more command-line configuration (``--Spawner.x=y``)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        token = api_token or os.urandom(16).hex()
        for attempt in (1, 2):
            try:
                return cls._start(app_url, data_dir, config, extra_env, port, token, extra_args)
            except WaitTimeout as failure:
                # A port chosen free can be taken before the hub binds it (a server another
                # test started, say): the hub exits at once. Once more, on new ports.
                if attempt == 2 or "exited" not in str(failure):
                    raise
                print(f"hub exited while starting; starting it again on other ports: {str(failure)[:300]}")
        raise AssertionError("unreachable")

    @classmethod
    def _start(cls, app_url, data_dir, config, extra_env, port, token, extra_args) -> Hub:
        public, hub_port, api_port = free_ports(3)
        port = port or public
        env = {
            **os.environ,
            "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex(),
            "HUB_API_TOKEN": token,
            **app_settings(app_url),
            **(extra_env or {}),
        }
        args = [
            sys.executable, "-m", "jupyterhub", "-f", str(config),
            "--ip=127.0.0.1", f"--port={port}",
            "--JupyterHub.hub_ip=127.0.0.1", f"--JupyterHub.hub_port={hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
            f"--ConfigurableHTTPProxy.pid_file={data_dir / 'proxy.pid'}",
            f"--JupyterHub.db_url=sqlite:///{data_dir / 'jupyterhub.sqlite'}",
            f"--JupyterHub.cookie_secret_file={data_dir / 'cookie_secret'}",
            *(extra_args or []),
        ]  # fmt: skip
        process = Process.start("hub", args, data_dir / "hub.log", env=env, cwd=data_dir)
        hub = cls(process, f"http://127.0.0.1:{port}", token, data_dir)
        process.wait_ready(f"{hub.url}/hub/api/")
        return hub

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's REST API as the OpenHexa App's service."""
        headers = {"Authorization": f"token {self.api_token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def database_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.data_dir.glob("jupyterhub.sqlite*"))

    def stop(self):
        self.process.stop(timeout=30)
        # The proxy runs in a session of its own; a hub that exited by itself (its
        # consecutive failure limit) left it running, its pid in the file.
        pid_file = self.data_dir / "proxy.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def app_settings(app_url: str) -> dict[str, str]:
    """The hub's environment for an App at ``app_url``, as deployments set it."""
    return {
        "AUTHENTICATION_URL": f"{app_url}/notebooks/authenticate/",
        "DEFAULT_CREDENTIALS_URL": f"{app_url}/notebooks/default-credentials/",
        "WORKSPACE_CREDENTIALS_URL": f"{app_url}/workspaces/credentials/",
        "LOGOUT_REDIRECT_URL": f"{app_url}/login",
        "HEXA_SERVER_URL": app_url,
        "CONTENT_SECURITY_POLICY": f"frame-ancestors 'self' {app_url}",
    }


class TrackedContainer:
    """Containers of one image for one test, on the host network; all removed by ``remove_all``.

    Three verbs, as in Jupyter Docker Stacks' tests: ``run_detached``,
    ``run_and_wait`` (to completion, with its logs) and ``exec`` (wrapped in
    ``timeout``, since the Docker SDK's exec has none).
    """

    def __init__(self, client, image: str, **defaults):
        self.client = client
        self.image = image
        self.defaults = {"network_mode": "host", **defaults}
        self.containers = []

    def run_detached(self, **kwargs):
        container = self.client.containers.run(self.image, detach=True, **{**self.defaults, **kwargs})
        self.containers.append(container)
        return container

    def run_and_wait(self, timeout: float = 120, expect_exit: int | None = 0, **kwargs) -> tuple[int, str]:
        container = self.run_detached(**kwargs)
        status = container.wait(timeout=timeout)["StatusCode"]
        logs = container.logs().decode(errors="replace")
        if expect_exit is not None:
            assert status == expect_exit, f"exit {status}, expected {expect_exit}:\n{logs[-3000:]}"
        return status, logs

    def exec(self, container, command: list[str], timeout: int = 60, **kwargs) -> tuple[int, str]:
        result = container.exec_run(["timeout", str(timeout), *command], **kwargs)
        return result.exit_code, result.output.decode(errors="replace")

    def remove_all(self):
        for container in self.containers:
            with contextlib.suppress(Exception):  # already gone
                container.remove(force=True)
        self.containers.clear()


def remove_spawned(client, stack: str):
    """Remove the servers a hub of ``stack`` (OPENHEXA_STACK) started, and their volumes."""
    for container in client.containers.list(all=True, filters={"label": f"org.openhexa.notebooks.stack={stack}"}):
        with contextlib.suppress(Exception):  # already gone
            container.remove(force=True)
    for volume in client.volumes.list(filters={"name": f"{stack}-"}):
        with contextlib.suppress(Exception):
            volume.remove(force=True)


class LogRecorder:
    """Every log line of every server a hub starts, kept even after the hub removes its container.

    Follows Docker's events; each server that starts is followed until it stops. ``files``
    lists the logs of hubs run as processes, read when ``text()`` is called.
    """

    def __init__(self, client):
        self.client = client
        self.logs: dict[str, list[bytes]] = {}
        self.files: list[Path] = []
        self.events = client.events(decode=True, filters={"event": "start", "label": "org.openhexa.notebooks=server"})
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        with contextlib.suppress(Exception):  # the event stream closes on stop()
            for event in self.events:
                threading.Thread(target=self._follow, args=(event["id"],), daemon=True).start()

    def _follow(self, container_id: str):
        chunks = self.logs.setdefault(container_id, [])
        with contextlib.suppress(Exception):  # the container went away
            for chunk in self.client.containers.get(container_id).logs(stream=True, follow=True):
                chunks.append(chunk)

    def text(self) -> str:
        containers = [b"".join(chunks).decode(errors="replace") for chunks in list(self.logs.values())]
        return "\n".join(containers + [path.read_text(errors="replace") for path in self.files if path.exists()])

    def stop(self):
        self.events.close()


# -- the docker-compose stack and the browser ---------------------------------------

APP_URL = "http://localhost:8000"  # the App's backend, as the browser reaches it:
APP_FRONTEND_URL = "http://localhost:3000"  # its frontend (login, home, notebooks pages);
HUB_URL = "http://localhost:8001"  # localhost shares cookies across ports, as the App's site does


@dataclass
class Stack(HubServers):
    """The docker-compose stack of `make up`, under its own project name."""

    project: str = "openhexa-e2e"
    api_token: str = field(default_factory=lambda: os.urandom(16).hex())  # this run's, as make up makes its own
    proxy_token: str = field(default_factory=lambda: os.urandom(16).hex())
    buckets: Path = Path("/tmp/openhexa-e2e-buckets")  # the 'local' engine's bucket folders

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "COMPOSE_PROJECT_NAME": self.project,
            "HUB_API_TOKEN": self.api_token,
            "CONFIGPROXY_AUTH_TOKEN": self.proxy_token,
            "OPENHEXA_BUCKETS": str(self.buckets),
        }

    def script(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [str(ROOT / "scripts" / "stack.sh"), *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"stack.sh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    @classmethod
    def up(cls) -> Stack:
        stack = cls()
        stack.down()  # leftovers of an interrupted run
        stack.script("up")
        return stack

    def down(self):
        self.script("down", check=False)
        shutil.rmtree(self.buckets, ignore_errors=True)

    def logs(self) -> str:
        return self.script("logs", check=False)

    def compose(self, *args: str):
        command = ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]
        subprocess.run([*command, *args], env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=120)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API as the App's service."""
        headers = {"Authorization": f"token {self.api_token}"}
        return requests.request(method, f"{HUB_URL}/hub/api{path}", headers=headers, timeout=30, **kwargs)


def new_browser():
    """Debian's headless Chromium through Debian's ChromeDriver; nothing is downloaded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(120)
    return driver
