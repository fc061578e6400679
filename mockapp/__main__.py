"""Run the mock OpenHexa App: ``python -m mockapp [--host 127.0.0.1] [--port 8000]``.

The backend listens on ``--port``; the frontend on ``--frontend-port`` (default: the
port of NEW_FRONTEND_DOMAIN, http://localhost:3000). Settings: see mockapp/README.md.
"""

import argparse
import asyncio
import logging

from .app import make_apps
from .state import Settings


async def serve(host: str, port: int, frontend_port: int | None, backend_url: str | None) -> None:
    conf = Settings.from_env()
    backend, frontend = make_apps(conf, backend_url or f"http://localhost:{port}")
    backend.listen(port, address=host, xheaders=True)
    frontend.listen(frontend_port or conf.frontend_port or 3000, address=host, xheaders=True)
    logging.info(
        "mock OpenHexa App: backend on %s:%d, frontend %s, hub %s, fixtures %s, test controls %s",
        host, port, conf.frontend_url, conf.notebooks_hub_url, conf.fixtures, "on" if conf.test_controls else "off",
    )  # fmt: skip
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--frontend-port", type=int, help="default: the port of NEW_FRONTEND_DOMAIN")
    parser.add_argument("--backend-url", help="the backend as browsers reach it (default http://localhost:PORT)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s mockapp %(message)s")
    asyncio.run(serve(args.host, args.port, args.frontend_port, args.backend_url))


if __name__ == "__main__":
    main()
