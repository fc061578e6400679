"""The docker-compose stack of `make up` (or the hub alone, for an App of your own), under a project name of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests

from harness import ROOT
from harness.hub import HubServers
from harness.net import random_token

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

    def logs(self) -> str:
        return self.script("logs", check=False)

    def compose(self, *args: str):
        command = ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]
        subprocess.run([*command, *args], env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=120)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API as the App's service."""
        headers = {"Authorization": f"token {self.api_token}"}
        return requests.request(method, f"{HUB_URL}/hub/api{path}", headers=headers, timeout=30, **kwargs)
