"""Ports on 127.0.0.1, who listens on them, and HTTP stand-ins: what a test needs to listen and answer."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import random
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import requests


def random_token() -> str:
    """A random secret as deployments make one (`openssl rand -hex 32`): the App's hub token, a crypt key."""
    return secrets.token_hex(32)


@contextlib.contextmanager
def names_on_loopback(domain: str):
    """In this process, ``domain`` and every name under it resolve to 127.0.0.1, as the browser of
    ``harness.browser.new_browser(loopback_domain=...)`` resolves them (Python asks the system, which
    knows none of them)."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and (host == domain or host.endswith(f".{domain}")):
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = resolve


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def ephemeral_ports() -> tuple[int, int]:
    """Linux's ephemeral range: where the kernel picks the source port of every outgoing connection and
    the port of every bind to port 0."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


HANDED_OUT: set[int] = set()  # every port free_ports gave in this process


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on right now, none given before
    in this process, from below the ephemeral range.

    A port is often listened on well after it is chosen (the hub tier's hub, once the mock App that
    must know its URL is up). A port from the ephemeral range could meanwhile be the source port of any
    outgoing connection, or another bind to 0: then the hub's proxy fails with EADDRINUSE.
    """
    high = ephemeral_ports()[0] - 1
    low = max(1024, high - 12000)
    ports: list[int] = []
    with contextlib.ExitStack() as held:  # all held at once, so no two are the same
        for _ in range(2000):
            if len(ports) == count:
                break
            port = random.randint(low, high)
            if port in HANDED_OUT or port in ports:
                continue
            sock = held.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
    if len(ports) < count:
        raise RuntimeError(f"no {count} free ports between {low} and {high} on 127.0.0.1")
    HANDED_OUT.update(ports)
    return ports


@dataclass
class Request:
    """What a stand-in server received."""

    method: str
    path: str
    headers: dict
    body: str


class StandInServer:
    """An HTTP server on 127.0.0.1 that records each request and answers ``answer(request)``.

    ``answer`` returns ``(status, headers, body)``; headers a dict, or ``(name, value)`` pairs where a name
    repeats (``Set-Cookie``); a dict or list body is sent as JSON.
    ``port``: the port to listen on (default: a free one). Use it as a context manager;
    ``url`` is its base URL.
    """

    def __init__(self, answer, port: int = 0):
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
                for name, value in headers.items() if isinstance(headers, dict) else headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
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


LISTEN = "0A"  # a socket's state in /proc/net/tcp: listening


def listening_sockets(port: int) -> set[str]:
    """The sockets that listen on TCP ``port`` in this network namespace (the host's, which host-network
    containers share), as /proc names them (``socket:[inode]``)."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                sockets.add(f"socket:[{fields[9]}]")
    return sockets


def listening_pids(port: int) -> set[int]:
    """The processes that listen on TCP ``port`` (:func:`listening_sockets`), from /proc: root sees every
    process's."""
    sockets = listening_sockets(port)
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):  # a process or descriptor gone meanwhile
            if os.readlink(fd) in sockets:
                pids.add(int(fd.parts[2]))
    return pids
