"""A real, throwaway PostgreSQL server for the tests (no mocks, no network).

``pg_server`` (session scope) runs ``initdb`` into a temporary folder and
starts the server with ``pg_ctl`` on a free 127.0.0.1 port, its unix socket
in the same folder; it is stopped and removed when the session ends.
``pg_db`` (per test) creates a fresh database and gives its connection facts.

PostgreSQL refuses to run as root, and CI runs as root: then every server
command runs through ``runuser -u nobody --`` (the user is created with
``useradd`` if the machine has none) and the temporary folder is handed to
that user. Binaries come from ``$PG_BIN`` or ``/usr/lib/postgresql/15/bin``;
when they are missing the tests that use the server FAIL, saying how to
install them (``apt-get install postgresql-15``), rather than skip.

Authentication: local socket and 127.0.0.1 are ``trust`` for every user except
``kestra``, who must give the password ``PASSWORD`` over TCP (scram-sha-256),
so a wrong password really fails.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "kestra"
PASSWORD = "k3stra-secret"
_RUN_AS = "nobody"

_HBA = f"""\
local all all trust
host all {USER} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


@dataclass
class PgServer:
    """A running server: where it listens and how to run a command as its owner."""

    root: Path
    port: int
    prefix: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        """The JDBC URL Kestra flows use for ``database``."""
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection (autocommit) as the superuser through the socket."""
        import psycopg

        return psycopg.connect(host=str(self.root), port=self.port, user="postgres",
                               dbname=database, autocommit=True)

    def pg(self, tool: str, *args: str) -> None:
        """Run a PostgreSQL binary as the server's owner; fail with its output."""
        done = subprocess.run([*self.prefix, str(PG_BIN / tool), *args],
                              capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}{detail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unprivileged_prefix(root: Path) -> list[str]:
    """As root: make sure the run-as user exists, hand it ``root``, run commands via runuser."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam(_RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _RUN_AS], check=True)
        account = pwd.getpwnam(_RUN_AS)
    for path in (root, *root.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", _RUN_AS, "--"]


def start_server() -> PgServer:
    """initdb + pg_ctl start; raises RuntimeError with the server's log when it can't."""
    if not (PG_BIN / "initdb").exists():
        raise FileNotFoundError(
            f"PostgreSQL 15 binaries not found in {PG_BIN} (set $PG_BIN, or install them: "
            "apt-get install postgresql-15); the PostgreSQL tests need a real server")
    root = Path(tempfile.mkdtemp(prefix="nbo-pg-"))
    root.chmod(0o755)
    server = PgServer(root, _free_port(), _unprivileged_prefix(root))
    server.pg("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync")
    (server.data / "pg_hba.conf").write_text(_HBA)
    options = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    server.pg("pg_ctl", "-D", str(server.data), "-o", options, "-l", str(root / "server.log"),
              "-w", "-t", "60", "start")
    with server.connect() as conn:
        conn.execute(f"CREATE ROLE {USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    return server


def stop_server(server: PgServer) -> None:
    try:
        server.pg("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = start_server()
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(f"cannot start the test PostgreSQL server: {exc}", pytrace=False)
    yield server
    stop_server(server)


_numbers = itertools.count(1)


@dataclass
class PgDatabase:
    """One fresh database of the test server."""

    server: PgServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def query(self, sql: str) -> list[tuple]:
        with self.server.connect(self.name) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def pg_db(pg_server: PgServer) -> PgDatabase:
    name = f"t{os.getpid()}_{next(_numbers)}"
    with pg_server.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return PgDatabase(pg_server, name)
