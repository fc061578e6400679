#!/usr/bin/env python3
"""A stand-in for a FUSE mount tool (gcsfuse, blobfuse2) where the real one cannot be installed.

Installed in the container as the tool's name, first on PATH. It records what the tool would
receive to RECORDS/<tool>.json: its arguments, working folder, the names of its environment,
the values of the settings named in VISIBLE, the SHA-256 of the credentials named in HASHED,
every process's command line while it runs and, for gcsfuse, what the --token-url answers.
Then it behaves as ``behaviour.json`` beside it says for this tool: {"exit": N, "say": "..."},
where "say" may quote the credential as {secret} (a tool that prints what it was given).
It mounts nothing.
"""

import contextlib
import hashlib
import http.client
import json
import os
import socket
import stat
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDS = Path("/opt/stand-in-records")
VISIBLE = ["AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_CONTAINER", "AZURE_STORAGE_AUTH_TYPE", "HOME", "PATH"]
HASHED = {"gcsfuse": [], "blobfuse2": ["AZURE_STORAGE_SAS_TOKEN"]}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=5)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.unix_path)


def token_from(url: str) -> dict:
    """GET the token URL as gcsfuse does (unix:// is a socket path); what came back, the token hashed."""
    assert url.startswith("unix://"), url
    path = url[len("unix://") :]
    folder = os.stat(os.path.dirname(path))
    connection = UnixHTTPConnection(path)
    connection.request("GET", "/")
    response = connection.getresponse()
    answer = json.loads(response.read())
    return {
        "status": response.status,
        "fields": sorted(answer),
        "other": {name: value for name, value in answer.items() if name != "access_token"},
        "token_sha256": sha256(answer.get("access_token", "")),
        "socket_mode": oct(stat.S_IMODE(os.stat(path).st_mode)),
        "folder_mode": oct(stat.S_IMODE(folder.st_mode)),
        "folder_uid": folder.st_uid,
    }


def command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return lines


def main() -> int:
    tool = Path(sys.argv[0]).name
    record = {
        "argv": [tool, *sys.argv[1:]],
        "cwd": os.getcwd(),
        "cwd_files": sorted(os.listdir(".")),
        "uid": os.getuid(),
        "env_names": sorted(os.environ),
        "env": {name: os.environ[name] for name in VISIBLE if name in os.environ},
        "env_sha256": {name: sha256(os.environ[name]) for name in HASHED.get(tool, []) if name in os.environ},
        "command_lines": command_lines(),
    }
    if "--token-url" in sys.argv:
        record["token_url"] = token_from(sys.argv[sys.argv.index("--token-url") + 1])
    (RECORDS / f"{tool}.json").write_text(json.dumps(record, indent=2))
    behaviour = json.loads((HERE / "behaviour.json").read_text()).get(tool, {})
    secret = os.environ.get((HASHED.get(tool) or ["-"])[0], "")
    if behaviour.get("say"):
        print(behaviour["say"].replace("{secret}", secret), file=sys.stderr)
    return int(behaviour.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
