"""``python -m bench.start``: what a workspace server's start costs, beside the plain base image.

Each run starts a container as a spawner would (the image's CMD, the hub's JUPYTERHUB_* variables,
a stand-in for the hub's API, ``--network host``), polls ``/user/<name>/api`` until it answers 200,
then reads the CPU time of every process the container ran so far from its cgroup (v1 cpuacct or
v2 cpu.stat). Then, as JupyterLab's first notebook would, it starts a kernel and runs ``print(6 * 7)``
over its websocket. Figures per run: ``cpu_s`` (container start to /api), ``wall_s`` (from just
before ``docker run`` to the 200), ``idle_mb`` (the container's own memory, page cache excluded, 2 s
after), ``first_result_s`` (the kernel asked for to its result) and ``kernel_mb`` (what the container
holds more 2 s after that). The images take turns run by run (the order reversed every other run), so
all see the same machine.

    python -m bench.start [--runs 10] [--image IMAGE ...] [--out FILE]

Default images: ``$NOTEBOOK_IMAGE`` (blsq/openhexa-base-notebook:$TAG) and the base it was built on
(its ``org.openhexa.base`` label); the second image is the one the others' ratios are to. Writes
JSON (every run, medians, ratios) to ``--out`` and the medians and ratios to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jupyterhub import __version__ as jupyterhub_version

from harness.net import StandInServer, answers_ok, free_port
from harness.wait import WaitTimeout, wait_until

USER = "alice"
SETTLE = 2.0  # seconds for a server or a kernel to settle before its memory is read


def cgroup_figure(container_id: str, v2: tuple[str, str], v1: tuple[str, str, str | None]) -> tuple[int, int]:
    """A figure of the container's cgroup and the cgroup version it came from: ``v2`` (file, key), else ``v1``
    (controller, file, and key or None for a file of one number); systemd and cgroupfs layouts alike."""
    controller, v1_file, v1_key = v1
    candidates = [
        (2, Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/{v2[0]}"), v2[1]),
        (2, Path(f"/sys/fs/cgroup/docker/{container_id}/{v2[0]}"), v2[1]),
        (1, Path(f"/sys/fs/cgroup/{controller}/docker/{container_id}/{v1_file}"), v1_key),
        (1, Path(f"/sys/fs/cgroup/{controller}/system.slice/docker-{container_id}.scope/{v1_file}"), v1_key),
    ]
    for version, path, key in candidates:
        if path.exists():
            if key is None:
                return int(path.read_text()), version
            for line in path.read_text().splitlines():
                name, value = line.split()
                if name == key:
                    return int(value), version
    raise RuntimeError(f"no cgroup figures ({v2[0]} or {v1_file}) found for {container_id}")


def cpu_usec(container_id: str) -> int:
    """The container's CPU time so far, in microseconds (cgroup v1 counts nanoseconds)."""
    value, version = cgroup_figure(container_id, ("cpu.stat", "usage_usec"), ("cpuacct", "cpuacct.usage", None))
    return value if version == 2 else value // 1000


def memory_mb(container_id: str) -> float:
    """The container's anonymous memory (its processes' own, no page cache), in MB."""
    value, _ = cgroup_figure(container_id, ("memory.stat", "anon"), ("memory", "memory.stat", "total_rss"))
    return round(value / 2**20, 1)


def one_run(image: str, hub_api: str, timeout: float = 60, docker_args: tuple = (), kernel: bool = True) -> dict:
    """One start of ``image``: its figures (see the module's docstring); ``kernel``: the memory and first-kernel
    figures too."""
    port = free_port()
    env = {
        "JUPYTERHUB_API_TOKEN": "bench-token",
        "JUPYTERHUB_API_URL": hub_api,
        "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{USER}",
        "JUPYTERHUB_USER": USER,
        "JUPYTERHUB_SERVICE_PREFIX": f"/user/{USER}/",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}/user/{USER}/",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([f"access:servers!server={USER}/", f"access:servers!user={USER}"]),
    }
    args = ["docker", "run", "-d", "--network", "host"]
    for name, value in env.items():
        args += ["-e", f"{name}={value}"]
    args += docker_args
    url = f"http://127.0.0.1:{port}/user/{USER}/api"
    started = time.monotonic()
    container_id = subprocess.run([*args, image], check=True, capture_output=True, text=True).stdout.strip()
    try:
        try:
            wait_until(lambda: answers_ok(url), f"{image}'s /api", timeout, interval=0.02)
        except WaitTimeout as late:
            logs = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True)
            raise RuntimeError(f"{late}:\n{(logs.stdout + logs.stderr)[-3000:]}") from None
        figures = {"cpu_s": round(cpu_usec(container_id) / 1e6, 3), "wall_s": round(time.monotonic() - started, 3)}
        if not kernel:
            return figures
        time.sleep(SETTLE)
        figures["idle_mb"] = memory_mb(container_id)
        figures["first_result_s"] = round(first_result(url, timeout), 3)
        time.sleep(SETTLE)
        figures["kernel_mb"] = round(memory_mb(container_id) - figures["idle_mb"], 1)
    finally:
        subprocess.run(["docker", "rm", "-f", container_id], check=False, capture_output=True)
    return figures


def first_result(api: str, timeout: float) -> float:
    """Start the server's first kernel and run ``print(6 * 7)`` on it as JupyterLab does (``POST api/kernels``,
    then its websocket); seconds until the result."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    from bench.client import execute

    headers = {"Authorization": "token bench-token", "Content-Type": "application/json"}
    started = time.monotonic()
    request = urllib.request.Request(f"{api}/kernels", data=b"{}", headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        kernel = json.loads(response.read())["id"]

    async def run_cell():
        channels = HTTPRequest(f"{api}/kernels/{kernel}/channels".replace("http://", "ws://", 1), headers=headers)
        connection = await websocket_connect(channels)
        try:
            await execute(connection, "print(6 * 7)", "42", timeout)
        finally:
            connection.close()

    asyncio.run(run_cell())
    return time.monotonic() - started


def summarise(runs: dict[str, list[dict]], count: int) -> dict:
    """Each image's runs with their medians; each other image's medians over the second image's (by
    default the base), as ``ratio_to_base``."""
    images = list(runs)
    result = {
        "runs": count,
        "images": {
            image: {
                **{f"{key}_median": round(statistics.median(r[key] for r in rs), 3) for key in rs[0]},
                "runs": rs,
            }
            for image, rs in runs.items()
        },
    }
    if len(images) >= 2:
        base = result["images"][images[1]]
        result["ratio_to_base"] = {
            image: {
                "cpu": round(result["images"][image]["cpu_s_median"] / base["cpu_s_median"], 2),
                "wall": round(result["images"][image]["wall_s_median"] / base["wall_s_median"], 2),
            }
            for image in images
            if image != images[1]
        }
    return result


def base_of(image: str) -> str:
    """The base ``image`` was built on (its ``org.openhexa.base`` label)."""
    return subprocess.run(
        ["docker", "image", "inspect", "-f", '{{index .Config.Labels "org.openhexa.base"}}', image],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def default_images(image: str | None = None) -> list[str]:
    """``image`` (default ``$NOTEBOOK_IMAGE``, else the notebook image of ``$TAG``) and the base it was built on."""
    image = image or os.environ.get("NOTEBOOK_IMAGE") or f"blsq/openhexa-base-notebook:{os.environ.get('TAG', 'dev')}"
    return [image, base_of(image)]


def hub_api(request) -> tuple[int, dict, dict]:
    """The hub's API as the server needs it: its version, and the bench's token as alice's."""
    version = {"X-JupyterHub-Version": jupyterhub_version}
    if request.path.split("?")[0].endswith("/hub/api/user"):
        return 200, version, {"kind": "user", "name": USER, "groups": [], "scopes": [f"access:servers!server={USER}/"]}
    return 200, version, {"version": jupyterhub_version}


def measure(images: list[str], runs: int, docker_args: tuple = (), log=print, at_the_same_time: int = 0) -> dict:
    """``runs`` starts of each image, taking turns after a first, unmeasured start of each (page cache and
    layers warm), then ``at_the_same_time`` servers of each image at once (``at_once``); the summary of
    ``summarise``, with ``at_once`` when it ran."""
    measured: dict[str, list[dict]] = {image: [] for image in images}
    with StandInServer(hub_api) as hub:
        for image in images:
            one_run(image, f"{hub.url}/hub/api", docker_args=docker_args)
        for index in range(runs):
            for image in images if index % 2 == 0 else reversed(images):
                measured[image].append(one_run(image, f"{hub.url}/hub/api", docker_args=docker_args))
                log(f"{index + 1:2} {image}: {measured[image][-1]}")
        together = {image: at_once(image, f"{hub.url}/hub/api", at_the_same_time, docker_args) for image in images}
    for image, figures in together.items():
        log(f"{at_the_same_time} at once, {image}: {figures}")
    result = summarise(measured, runs)
    if at_the_same_time > 1:
        result["at_once"] = together
    return {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result}


def at_once(image: str, hub_api: str, count: int, docker_args: tuple = ()) -> dict:
    """``count`` servers of ``image`` started at the same instant: the median CPU of a start, and when the last
    one answered."""
    if count < 2:
        return {}
    with ThreadPoolExecutor(count) as pool:
        starts = list(pool.map(lambda _: one_run(image, hub_api, 120, docker_args, kernel=False), range(count)))
    return {
        "count": count,
        "cpu_s_median": round(statistics.median(s["cpu_s"] for s in starts), 3),
        "last_wall_s": max(s["wall_s"] for s in starts),
    }


def run(image: str, log=print, runs: int = 10, at_the_same_time: int = 4) -> dict:
    """The ``start`` part of ``python -m bench``: ``image`` beside its base, ``runs`` starts each, then
    ``at_the_same_time`` of each at once."""
    return measure(default_images(image), runs, log=log, at_the_same_time=at_the_same_time)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--at-once", type=int, default=4, help="then this many servers of each image at once")
    parser.add_argument("--image", action="append", help="an image to measure (repeat); default: ours and its base")
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    parser.add_argument("--docker-arg", action="append", default=[], help="an extra `docker run` argument (repeat)")
    options = parser.parse_args(argv)
    images = options.image or default_images()
    result = measure(
        images, options.runs, tuple(options.docker_arg), lambda line: print(line, file=sys.stderr), options.at_once
    )
    text = json.dumps(result, indent=2)
    if options.out:
        Path(options.out).parent.mkdir(parents=True, exist_ok=True)
        Path(options.out).write_text(text + "\n")
    print(json.dumps({image: {k: v for k, v in f.items() if k != "runs"} for image, f in result["images"].items()}))
    if "ratio_to_base" in result:
        print(json.dumps(result["ratio_to_base"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
