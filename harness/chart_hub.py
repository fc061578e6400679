"""A hub configured exactly as the chart's hub pod, with the chart's proxy beside it, in containers.

The hub runs in this project's hub image (its ``-local`` variant: the production image plus
DockerSpawner) with the command, mounts and environment of the chart's hub Deployment: the
chart's own ``jupyterhub_config.py`` and ``z2jh.py`` over our merged values (harness/chart.py),
tornado's curl client and every other global switch of that file included, nothing of the
chart stubbed. configurable-http-proxy runs as the chart's proxy pod runs it, in a container of
its own. What only Kubernetes has is replaced, each named where it is replaced:

- the Services' names (``hub``, ``proxy-api``) resolve to 127.0.0.1 in both containers and in
  the servers (Docker's ``--add-host``), their ports given as Kubernetes gives them
  (``HUB_SERVICE_PORT``, ``PROXY_API_SERVICE_PORT``), free ports here;
- the values ``overlay`` (the chart-config tier's) swaps KubeSpawner for the project's Docker
  spawner and binds the hub to loopback instead of every interface;
- the proxy (our proxy image, proxy.chp.image) listens on 127.0.0.1 instead of every interface,
  the hub pod's PVC is a folder, and
  the hub reaches the Docker engine through its socket (the group that owns it).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import requests

from harness.chart import MOUNT, deployment_env, generated_secrets, lay_out_mount, user_values
from harness.hub import HubServers, app_settings
from harness.net import free_ports
from harness.wait import WaitTimeout, wait_until

SERVICES = {"hub": "127.0.0.1", "proxy-api": "127.0.0.1"}  # the chart's Services, resolved as DNS would
HUB_UID = "1000:1000"  # the chart's hub.containerSecurityContext: runAsUser and runAsGroup 1000
PROXY_UID = "65534:65534"  # the chart's proxy.chp.containerSecurityContext: nobody
HUB_API_SECRET = "openhexa-notebooks/hub-api-token"  # the Secret values.yaml's HUB_API_TOKEN refers to


@dataclass
class ChartHub(HubServers):
    """The chart's hub pod and proxy pod as two containers on the host network."""

    docker_client: object
    url: str  # the proxy, as people reach the hub
    api_token: str
    data_dir: Path
    containers: list = field(default_factory=list)

    @classmethod
    def start(
        cls,
        docker_client,
        chart_dir: Path,
        image: str,
        proxy_image: str,
        overlay: dict,
        data_dir: Path,
        app_url: str,
        app_frontend_url: str,
        port: int,
        api_token: str,
        notebook_image: str,
    ) -> ChartHub:
        """Start the hub (``image``) for the App at ``app_url`` behind its proxy (``proxy_image``) on ``port``;
        ``overlay``: values merged over chart-values/values.yaml (the tier's replacements of Kubernetes)."""
        hub_port, api_port = free_ports(2)
        name, _, tag = notebook_image.rpartition(":")
        here = {
            "hub": {
                "extraEnv": {
                    **app_settings(app_url),
                    "APP_LOGIN_URL": f"{app_frontend_url}/login",
                    "CONTENT_SECURITY_POLICY": f"frame-ancestors 'self' {app_url} {app_frontend_url}",
                }
            },
            "singleuser": {"image": {"name": name, "tag": tag}},
        }
        values = user_values("base", overlay, here)
        generated = generated_secrets()
        etc, srv = data_dir / "etc", data_dir / "srv"
        secret = lay_out_mount(chart_dir, values, generated, etc)
        srv.mkdir(parents=True)
        os.chown(srv, 1000, 1000)  # the PVC, writable by the hub's user (the chart's fsGroup)
        env = deployment_env(secret, {HUB_API_SECRET: api_token}, generated, {"hub": hub_port, "proxy-api": api_port})
        hub = cls(docker_client, f"http://127.0.0.1:{port}", api_token, data_dir)
        try:
            hub._run(
                "hub",
                image,
                # templates/hub/deployment.yaml's command, as it is.
                ["jupyterhub", "--config", f"{MOUNT}/jupyterhub_config.py", "--debug", "--upgrade-db"],
                env,
                user=HUB_UID,
                group_add=[str(os.stat("/var/run/docker.sock").st_gid)],
                volumes={
                    str(etc / "jupyterhub_config.py"): {"bind": f"{MOUNT}/jupyterhub_config.py", "mode": "ro"},
                    str(etc / "z2jh.py"): {"bind": f"{MOUNT}/z2jh.py", "mode": "ro"},
                    str(etc / "config"): {"bind": f"{MOUNT}/config", "mode": "ro"},
                    str(etc / "secret"): {"bind": f"{MOUNT}/secret", "mode": "ro"},
                    str(srv): {"bind": "/srv/jupyterhub", "mode": "rw"},
                    "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                },
            )
            hub._run(
                "proxy",
                proxy_image,
                # templates/proxy/deployment.yaml's command (a pod's command is the image's entrypoint),
                # on loopback and free ports.
                ["--ip=127.0.0.1", f"--port={port}", "--api-ip=127.0.0.1",
                 f"--api-port={api_port}", f"--default-target=http://hub:{hub_port}",
                 f"--error-target=http://hub:{hub_port}/hub/error"],
                {"CONFIGPROXY_AUTH_TOKEN": env["CONFIGPROXY_AUTH_TOKEN"]},
                user=PROXY_UID,
                entrypoint=["configurable-http-proxy"],
            )  # fmt: skip
            hub._wait_up()
        except BaseException:
            hub.stop()
            raise
        return hub

    def _run(self, role: str, image: str, command: list[str], env: dict, **kwargs):
        container = self.docker_client.containers.run(
            image,
            command,
            detach=True,
            network_mode="host",
            extra_hosts=SERVICES,
            environment=env,
            labels={"org.openhexa.chart-hub": role},
            **kwargs,
        )
        self.containers.append((role, container))

    def _wait_up(self, timeout: float = 120):
        def ready():
            for role, container in self.containers:
                container.reload()
                if container.status == "exited":
                    raise AssertionError(f"the chart's {role} exited:\n{self.logs()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{self.url}/hub/api/", timeout=5).status_code == 200
            return False

        try:
            wait_until(ready, f"the chart-configured hub at {self.url}", timeout, interval=1)
        except WaitTimeout as timeout_error:
            raise AssertionError(f"{timeout_error}\n{self.logs()[-4000:]}") from None

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API as the App's service."""
        headers = {"Authorization": f"token {self.api_token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def logs(self) -> str:
        parts = []
        for role, container in self.containers:
            with contextlib.suppress(Exception):
                parts.append(f"--- the chart's {role} ---\n" + container.logs().decode(errors="replace"))
        return "\n".join(parts)

    def stop(self):
        """Remove both containers; their logs stay in ``data_dir``."""
        (self.data_dir / "containers.log").write_text(self.logs())
        for _, container in self.containers:
            with contextlib.suppress(Exception):
                container.remove(force=True)
        self.containers.clear()
