"""The stack a bench part runs against: the mock App and a real hub with the production config.

The hub is ``hub/jupyterhub_config.py`` with DockerSpawner (``OPENHEXA_SPAWNER=docker``) on free
ports, its servers labelled with the stack ``openhexa-bench``, and the limits the Zero to
JupyterHub chart gives it (``hub.concurrentSpawnLimit``, ``hub.consecutiveFailureLimit`` of
``chart-values/values.yaml``, else the chart's defaults 64 and 5). The mock App launches
workspace servers on it, as the App does. Whatever happens, ``close`` stops both processes and
removes every container and volume of that stack.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import requests
import yaml

from harness import ROOT
from harness.app import MockApp
from harness.containers import remove_spawned
from harness.hub import CHART_VALUES, Hub
from harness.net import free_port, random_token
from openhexa_hub.chart import hub_limits, read_values

STACK = "openhexa-bench"
HUB_CONFIG = ROOT / "hub" / "jupyterhub_config.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WORKSPACE = "bench-workspace"  # every bench person is an editor of it


def chart_limits(values: Path = CHART_VALUES) -> dict[str, int]:
    """``hub.concurrentSpawnLimit`` and ``hub.consecutiveFailureLimit`` as the chart runs them (the hub's own
    reading of the values, openhexa_hub.chart, with the chart's defaults where they say nothing)."""
    limits = hub_limits(read_values(values) if values.exists() else {})
    return {
        "concurrentSpawnLimit": limits["concurrent_spawn_limit"],
        "consecutiveFailureLimit": limits["consecutive_failure_limit"],
    }


def limit_args(limits: dict[str, int]) -> list[str]:
    """The chart's limits as the hub's command line (the chart sets them in its own hub config)."""
    return [
        f"--JupyterHub.concurrent_spawn_limit={limits['concurrentSpawnLimit']}",
        f"--Spawner.consecutive_failure_limit={limits['consecutiveFailureLimit']}",
    ]


def bench_people(count: int, prefix: str = "bench") -> list[tuple[str, str]]:
    """``count`` (email, password) pairs: bench-001@openhexa.test ..."""
    return [(f"{prefix}-{i:03d}@openhexa.test", f"{prefix}-{i:03d}-pass") for i in range(1, count + 1)]


def write_fixtures(path: Path, people: list[tuple[str, str]]) -> Path:
    """A MOCK_APP_FIXTURES file for ``people``, each with default credentials like the demo users'
    and an editor of WORKSPACE (so each may launch a server there through the App)."""
    users = [
        {
            "email": email,
            "password": password,
            "workspaces": {WORKSPACE: "editor"},
            "default_credentials": {"env": {"HEXA_TOKEN": f"bench-token-{i}"}, "files": {}},
        }
        for i, (email, password) in enumerate(people)
    ]
    workspace = {"env": {"WORKSPACE_BUCKET_NAME": f"hexa-{WORKSPACE}", "HEXA_TOKEN": "bench-workspace-token"}}
    path.write_text(yaml.safe_dump({"users": users, "workspaces": {WORKSPACE: workspace}}))
    return path


# -- the hub's CPU and memory --------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc/<pid>/stat, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int, key: str) -> int:
    """A line of /proc/<pid>/status in KiB, e.g. VmRSS or VmHWM (the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


@dataclass
class Usage:
    """CPU and memory of one process over a window of the run, sampled in a thread."""

    pid: int
    interval: float = 0.5
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (time, cpu s, rss KiB)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        with contextlib.suppress(OSError):
            self.samples.append((time.monotonic(), cpu_seconds(self.pid), memory_kib(self.pid, "VmRSS")))

    def start(self) -> Usage:
        self.sample()

        def loop():
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict:
        """Stop sampling; CPU as % of one core over the window, peak RSS seen and VmHWM (lifetime peak)."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self.sample()
        peak_lifetime = 0
        with contextlib.suppress(OSError):
            peak_lifetime = memory_kib(self.pid, "VmHWM")
        if len(self.samples) < 2:
            return {}
        (t0, cpu0, _), (t1, cpu1, _) = self.samples[0], self.samples[-1]
        return {
            "seconds": round(t1 - t0, 1),
            "cpu_seconds": round(cpu1 - cpu0, 2),
            "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / max(t1 - t0, 1e-6), 1),
            "rss_peak_mb": round(max(s[2] for s in self.samples) / 1024, 1),
            "rss_end_mb": round(self.samples[-1][2] / 1024, 1),
            "vmhwm_mb": round(peak_lifetime / 1024, 1),
        }


# -- the stack -----------------------------------------------------------------------


@dataclass
class BenchStack:
    """The mock App and the hub for one part; use it as a context manager."""

    work: Path
    people: list[tuple[str, str]]
    image: str
    app: MockApp | None = None
    hub: Hub | None = None
    limits: dict[str, int] = field(default_factory=chart_limits)
    config: Path = HUB_CONFIG  # the hub's configuration file: production's, or a peer's (bench/plain_hub_config.py)
    hub_args: list[str] = field(default_factory=list)  # more of the hub's command line, after the chart's limits

    def __enter__(self) -> BenchStack:
        remove_spawned(docker.from_env(), STACK)  # an interrupted run's
        self.work.mkdir(parents=True, exist_ok=True)
        fixtures = write_fixtures(self.work / "fixtures.yaml", self.people)
        port, token = free_port(), random_token()
        # The workspace's bucket is a folder here, bound into each server (the App's `local` storage).
        app_env = {"MOCK_APP_FIXTURES": str(fixtures), "MOCK_APP_STORAGE_ENGINE": "local"}
        try:
            self.app = MockApp.start(self.work, hub_url=f"http://127.0.0.1:{port}", hub_api_token=token, env=app_env)
            self.hub = Hub.start(
                self.app.url,
                self.work / "hub",
                self.config,
                extra_env={
                    "OPENHEXA_SPAWNER": "docker",
                    "NOTEBOOK_IMAGE": self.image,
                    "OPENHEXA_STACK": STACK,
                    "LOCAL_STORAGE_ROOT": str(self.work / "buckets"),  # MockApp.start's MOCK_APP_STORAGE_DIR
                },
                port=port,
                api_token=token,
                extra_args=[*limit_args(self.limits), *self.hub_args],
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.hub:
            self.hub.stop()
        if self.app:
            self.app.stop()
        remove_spawned(docker.from_env(), STACK)

    @property
    def hub_pid(self) -> int:
        return self.hub.process.popen.pid

    def proxy_pid(self) -> int | None:
        path = self.hub.data_dir / "proxy.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().strip())
        return None

    def usage(self) -> dict[str, Usage]:
        """Samplers for the hub's Python process and, when found, the proxy (node)."""
        samplers = {"hub": Usage(self.hub_pid).start()}
        proxy = self.proxy_pid()
        if proxy:
            samplers["proxy"] = Usage(proxy).start()
        return samplers

    def stop_every_server(self) -> None:
        """As the App's service: stop whatever server is still running (after a failed journey)."""
        for email, _ in self.people:
            with contextlib.suppress(Exception):
                name = email.lower()
                for server in self.hub.servers(name):
                    self.hub.api("DELETE", f"/users/{name}/servers/{server}" if server else f"/users/{name}/server")

    def hub_answers(self) -> list[dict]:
        """The hub's answers to the App's server launches (the mock App's test switch)."""
        response = requests.get(f"{self.app.url}/_mock/hub-answers", timeout=30)
        response.raise_for_status()
        return response.json()["answers"]
