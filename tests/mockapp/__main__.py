"""Run the mock OpenHexa App: ``python -m tests.mockapp [--host 127.0.0.1] [--port 8000]``."""

import argparse
import asyncio
import logging

from .app import Settings, make_app


async def serve(host: str, port: int) -> None:
    conf = Settings.from_env()
    app = make_app(conf)
    app.listen(port, address=host, xheaders=True)
    logging.info("mock OpenHexa App on http://%s:%d (fixtures %s, hub %s)", host, port, conf.fixtures, conf.hub_url)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s mockapp %(message)s")
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
