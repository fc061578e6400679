"""The docker-compose stack of `make up` (or the hub alone, for an App of your own), under a project name of its own."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests

from harness import ROOT
from harness.hub import HubServers
from harness.net import random_token
from harness.wait import wait_until

APP_URL = "http://localhost:8000"  # the App's backend, as the browser reaches it:
APP_FRONTEND_URL = "http://localhost:3000"  # its frontend (login, home, notebooks pages);
HUB_URL = "http://localhost:8001"  # localhost shares cookies across ports, as the App's site does


@dataclass
class Stack(HubServers):
    """The docker-compose stack of `make up`, under its own project name."""

    project: str = "openhexa-e2e"
    api_token: str = field(default_factory=random_token)  # this run's, as make up makes its own
    proxy_token: str = field(default_factory=random_token)
    crypt_key: str = field(default_factory=random_token)
    buckets: Path = Path("/tmp/openhexa-e2e-buckets")  # the 'local' engine's bucket folders
    said: str = ""  # what `make up` printed
    healthy_after: dict[str, float] = field(default_factory=dict)  # seconds_to_healthy(), when measured

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "COMPOSE_PROJECT_NAME": self.project,
            "HUB_API_TOKEN": self.api_token,
            "CONFIGPROXY_AUTH_TOKEN": self.proxy_token,
            "JUPYTERHUB_CRYPT_KEY": self.crypt_key,
            "OPENHEXA_BUCKETS": str(self.buckets),
            "APP_STORAGE": str(self.buckets),  # `make up APP=...`: your App's, the same folder
        }

    def script(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [str(ROOT / "scripts" / "stack.sh"), *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"stack.sh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    @classmethod
    def up(cls, app: str | None = None, **fields) -> Stack:
        return cls(**fields).start(app)

    def start(self, app: str | None = None) -> Stack:
        """`make up`, or with ``app`` (your own App's backend) `make up APP=<app>`: the hub alone."""
        self.down()  # leftovers of an interrupted run
        self.said = self.script("up", *([app] if app else []))
        return self

    def down(self):
        self.script("down", check=False)
        shutil.rmtree(self.buckets, ignore_errors=True)

    def seconds_to_healthy(self, deadline: float = 120) -> dict[str, float]:
        """Each running container of the stack: the seconds from its start to the first time Docker reports it
        healthy, watched from now (call it right after :meth:`start`); ``inf`` for one not healthy
        ``deadline`` seconds after its start."""
        found: dict[str, float] = {}

        def all_seen() -> bool:
            ids = subprocess.run(
                ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}"],
                capture_output=True, text=True, check=True, timeout=30,
            ).stdout.split()  # fmt: skip
            for container in map(inspect, ids):
                service = container["Config"]["Labels"]["com.docker.compose.service"]
                age = seconds_since(container["State"]["StartedAt"])
                health = container["State"].get("Health", {}).get("Status")
                if service not in found and (health == "healthy" or age > deadline):
                    found[service] = age if health == "healthy" else float("inf")
            return bool(ids) and len(found) == len(ids)

        wait_until(all_seen, f"the containers of {self.project} to be healthy or {deadline}s old", deadline, 0.5)
        return found

    def logs(self) -> str:
        return self.script("logs", check=False)

    def compose(self, *args: str):
        command = ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]
        subprocess.run([*command, *args], env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=120)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API as the App's service."""
        headers = {"Authorization": f"token {self.api_token}"}
        return requests.request(method, f"{HUB_URL}/hub/api{path}", headers=headers, timeout=30, **kwargs)


def inspect(container_id: str) -> dict:
    """``docker inspect`` of one container."""
    out = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True, check=True, timeout=30)
    return json.loads(out.stdout)[0]


def seconds_since(docker_time: str) -> float:
    """Seconds since a time as Docker writes it (``2026-12-03T14:00:00.123456789Z``)."""
    started = dt.datetime.fromisoformat(docker_time[:26].rstrip("Z") + "+00:00")
    return (dt.datetime.now(dt.UTC) - started).total_seconds()
