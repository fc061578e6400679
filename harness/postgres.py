"""A workspace database as the OpenHexa App hands one out: Debian's PostgreSQL on 127.0.0.1, always stopped.

The App gives each workspace a database on its PostgreSQL server and its servers the
``WORKSPACE_DATABASE_*`` variables. Here a throwaway server (``initdb`` and ``postgres`` of
Debian's ``postgresql`` package, which `make test-image` and `make test-e2e` install) listens on
127.0.0.1 only, runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses
root), keeps its data in a folder of its own, and is stopped with its folder removed.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.net import free_port, listening_pids
from harness.process import Process
from harness.wait import WaitTimeout, wait_until

SUPERUSER = "postgres"
# The table a workspace database holds in the tests, and its rows: what a notebook reads back.
CASES_TABLE = "cases"
CASES = [{"district": "Boke", "cases": 7}, {"district": "Kindia", "cases": 12}]


def postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL programs (/usr/lib/postgresql/<version>/bin), the newest."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql package")
    return Path(found[-1]).parent


@dataclass(frozen=True)
class Database:
    """One workspace's database and its owner, as the App's workspace answer names them."""

    host: str
    port: int
    name: str
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The ``WORKSPACE_DATABASE_*`` variables of the App's workspace answer (mockapp/fixtures.yaml)."""
        return {
            "WORKSPACE_DATABASE_HOST": self.host,
            "WORKSPACE_DATABASE_PORT": str(self.port),
            "WORKSPACE_DATABASE_DB_NAME": self.name,
            "WORKSPACE_DATABASE_USERNAME": self.user,
            "WORKSPACE_DATABASE_PASSWORD": self.password,
            "WORKSPACE_DATABASE_URL": f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}",
        }


class Postgres:
    """A PostgreSQL server on 127.0.0.1:``port``; ``stop()`` always ends it and removes its data."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.password = os.urandom(12).hex()
        self.folder = Path(tempfile.mkdtemp(prefix="openhexa-postgres-"))
        self.process: Process | None = None

    def _as_server_user(self, *args: str) -> list[str]:
        return ["runuser", "-u", SUPERUSER, "--", *args] if os.geteuid() == 0 else list(args)

    def start(self, timeout: float = 60) -> Postgres:
        if os.geteuid() == 0:
            shutil.chown(self.folder, SUPERUSER, SUPERUSER)
        data, secret = self.folder / "data", self.folder / "superuser-password"
        secret.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(secret, SUPERUSER, SUPERUSER)
        subprocess.run(
            self._as_server_user(str(postgres_bin() / "initdb"), "-D", str(data), "-U", SUPERUSER,
                                 "--auth=scram-sha-256", f"--pwfile={secret}", "--encoding=UTF8", "--no-instructions"),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        secret.unlink()
        self.process = Process.start(
            "postgres",
            self._as_server_user(
                str(postgres_bin() / "postgres"), "-D", str(data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
            ),
            self.folder / "postgres.log",
        )  # fmt: skip
        wait_until(self._answers, f"PostgreSQL on 127.0.0.1:{self.port}", timeout=timeout, interval=0.5)
        return self

    def _answers(self) -> bool:
        if self.process and not self.process.alive():
            raise WaitTimeout(f"postgres exited:\n{self.process.log()[-3000:]}")
        self.connect().close()
        return True

    def connect(self, database: Database | None = None):
        """A psycopg2 connection: as the superuser to ``postgres``, or as ``database``'s owner to it."""
        import psycopg2

        if database is None:
            return psycopg2.connect(host="127.0.0.1", port=self.port, dbname="postgres", user=SUPERUSER,
                                    password=self.password, connect_timeout=5)  # fmt: skip
        return psycopg2.connect(host=database.host, port=database.port, dbname=database.name, user=database.user,
                                password=database.password, connect_timeout=5)  # fmt: skip

    def create_database(self, name: str, user: str, password: str) -> Database:
        """A database owned by a role of its own that logs in with ``password``, as the App makes them."""
        from psycopg2 import sql

        connection = self.connect()
        connection.autocommit = True  # CREATE DATABASE runs outside a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(user)), [password])
                owned = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(user))
                cursor.execute(owned)
        finally:
            connection.close()
        return Database("127.0.0.1", self.port, name, user, password)

    def stop(self):
        if self.process is not None:
            self.process.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def cases_csv() -> str:
    """CASES as a CSV file, with its header: what the App's bucket holds for a notebook to read."""
    return "district,cases\n" + "".join(f"{row['district']},{row['cases']}\n" for row in CASES)


def cases_json() -> str:
    """CASES as R's jsonlite writes a data frame of them (compact, row by row)."""
    return json.dumps(CASES, separators=(",", ":"))


@contextlib.contextmanager
def workspace_database(name: str, user: str, password: str, port: int | None = None):
    """A PostgreSQL server on 127.0.0.1 with one workspace database whose CASES_TABLE holds CASES.

    Yields its Database (``env()`` gives the ``WORKSPACE_DATABASE_*`` variables); the server
    always stops and its data goes. ``port``: the one the App's answer names (default: a free one).
    """
    if port is not None and (holders := listening_pids(port)):
        raise AssertionError(f"port {port} is taken (by {sorted(holders)}): the workspace database listens there")
    server = Postgres(port)
    try:
        server.start()
        database = server.create_database(name, user, password)
        connection = server.connect(database)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(f"CREATE TABLE {CASES_TABLE} (district text PRIMARY KEY, cases integer NOT NULL)")
                cursor.executemany(f"INSERT INTO {CASES_TABLE} VALUES (%(district)s, %(cases)s)", CASES)
        finally:
            connection.close()
        yield database
    finally:
        server.stop()
