"""The mock OpenHexa App: its process, and what a browser and the App's backend do with it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests
import yaml

from harness import ROOT
from harness.net import free_ports
from harness.process import Process
from harness.wait import wait_until

# The mock App's demo data, read in one place.
FIXTURE_FILE = ROOT / "mockapp" / "fixtures.yaml"
FIXTURES = yaml.safe_load(FIXTURE_FILE.read_text())


def _short_name(email: str) -> str:
    return email.split("@")[0].split(".")[0].split("+")[0].lower()


# The demo people by first name (alice, bob, carol, mixed): (email, password).
DEMO = {_short_name(user["email"]): (user["email"], user["password"]) for user in FIXTURES["users"]}


# The App's refusals of alice's malaria-dashboards launch (its status), and what the hub answers
# (status, words): a 404 stays one, a 400 too, a 401 is a 403, only a failing App a 503.
APP_REFUSALS = [
    (404, 404, "There is no workspace 'malaria-dashboards' in OpenHexa."),
    (400, 400, "could not read the request for the workspace 'malaria-dashboards'"),
    (401, 403, "You may not open notebooks in the workspace 'malaria-dashboards'."),
    (500, 503, "The OpenHexa App is unavailable"),
]


def app_session(
    frontend_url: str, email: str, password: str, session: requests.Session | None = None
) -> requests.Session:
    """A browser-like session logged in to the App's frontend at ``frontend_url`` (cookies sessionid, csrftoken);
    ``session``: the browser to log in with (someone else may have logged in with it before)."""
    session = session or requests.Session()
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

    def __init__(self, process: Process, url: str, frontend_url: str, browser_url: str | None = None):
        self.process = process
        self.url = url  # the backend, as the hub reaches it
        self.frontend_url = frontend_url
        self.browser_url = browser_url or url  # the backend, as browsers reach it (its cookies' host)

    @classmethod
    def start(
        cls,
        log_dir: Path,
        hub_url: str = "http://127.0.0.1:9",
        hub_api_token: str = "",
        env=None,
        ports: tuple[int, int] | None = None,
        host: str = "127.0.0.1",
        hub_api_url: str | None = None,
    ) -> MockApp:
        """Start it for ``hub_url`` (the hub's proxy, as browsers reach it), with its test switches on (``env``
        overrides any setting); its backend and frontend on ``ports`` (default: free ones) of 127.0.0.1;
        ``host``: the name browsers reach the App by; ``hub_api_url``: the hub as the App's backend reaches it,
        when not ``hub_url``."""
        port, frontend_port = ports or free_ports(2)
        url, frontend_url = f"http://127.0.0.1:{port}", f"http://{host}:{frontend_port}"
        browser_url = f"http://{host}:{port}"
        settings = {
            "NEW_FRONTEND_DOMAIN": frontend_url,
            "NOTEBOOKS_HUB_URL": f"{hub_api_url or hub_url}/hub",
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
            [sys.executable, "-m", "mockapp", "--port", str(port), "--frontend-port", str(frontend_port),
             "--backend-url", browser_url],
            log_dir / "mockapp.log",
            env={**os.environ, "PYTHONPATH": str(ROOT), **settings, **(env or {})},
        )  # fmt: skip
        app = cls(process, url, frontend_url, browser_url)
        process.wait_ready(f"{frontend_url}/login")
        return app

    def set_mode(self, mode: str = "ok", delay: float = 0.0):
        response = requests.post(f"{self.url}/_mock/mode", json={"mode": mode, "delay": delay}, timeout=5)
        response.raise_for_status()

    def answer(self, status: int = 200, body: str = "", headers: dict | None = None, path: str | None = None):
        """Make the contract endpoints (or only ``path``) answer exactly this, until ``set_mode``."""
        answer = {"status": status, "body": body, "headers": headers or {}, "for": path}
        requests.post(f"{self.url}/_mock/answer", json=answer, timeout=5).raise_for_status()

    def expire(self, session: requests.Session):
        """End the session of ``session``'s App cookies as an expiry does: the hub hears nothing."""
        expired = {"sessionid": session.cookies["sessionid"]}
        response = requests.post(f"{self.url}/_mock/expire", json=expired, timeout=5)
        response.raise_for_status()

    def calls(self) -> list[dict]:
        return requests.get(f"{self.url}/_mock/calls", timeout=5).json()["calls"]

    def clear_calls(self):
        requests.delete(f"{self.url}/_mock/calls", timeout=5)

    def login(self, email: str, password: str, session: requests.Session | None = None) -> requests.Session:
        return app_session(self.frontend_url, email, password, session)

    def launch(self, session: requests.Session, slug: str, timeout: float = 180) -> dict:
        return launch_notebook_server(self.frontend_url, session, slug, timeout)

    def logout(self, session: requests.Session) -> requests.Response:
        """Log out of the App as its frontend does: ``POST /auth/logout/`` (the App then calls the hub)."""
        return session.post(
            f"{self.browser_url}/auth/logout/",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{self.frontend_url}/"},
            allow_redirects=False,
            timeout=120,
        )

    def stop(self):
        self.process.stop()
