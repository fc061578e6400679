"""Hand the workspace's Google Cloud Storage access token to gcsfuse, off any command line.

Usage: storage-token-server.py SOCKET   (the token: environment variable OPENHEXA_GCS_ACCESS_TOKEN)

The OpenHexa App sends a short-lived OAuth access token, not a key file; gcsfuse takes a
token from a URL (``--token-url unix://SOCKET``). This answers every GET on the Unix socket
SOCKET, in a folder only the notebook user can enter, with the token as an OAuth token
response, until it is stopped. No expiry is given, so gcsfuse keeps the token (the start hook
stops this server once the mount is checked). Nothing of a request is logged.
"""

import contextlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler
from socketserver import UnixStreamServer


class TokenHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: storage-token-server.py SOCKET", file=sys.stderr)
        return 64
    token = os.environ.pop("OPENHEXA_GCS_ACCESS_TOKEN", "")
    if not token:
        print("storage-token-server: OPENHEXA_GCS_ACCESS_TOKEN is empty", file=sys.stderr)
        return 64
    TokenHandler.body = json.dumps({"access_token": token, "token_type": "Bearer"}).encode()
    socket_path = sys.argv[1]
    binding = f"{socket_path}.binding"
    os.umask(0o077)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(binding)
    # Bound and listening under another name first: once SOCKET exists, gcsfuse can connect.
    server = UnixStreamServer(binding, TokenHandler)
    os.rename(binding, socket_path)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
