"""A PostgreSQL to load data into: yours (``NB_ORCHESTRA_PG_URL``), or a throwaway local one.

:func:`database_url` gives the connection facts a flow's ``pluginDefaults``
need. The throwaway server (:func:`start_server`, also used by the test
suite) runs ``initdb`` into a temporary folder and ``pg_ctl`` on a free
127.0.0.1 port, with binaries from ``$PG_BIN`` or
``/usr/lib/postgresql/15/bin``. PostgreSQL refuses to run as root: then every
server command runs through ``runuser -u nobody --`` (the user is created if
missing) and the folder is handed to that user.

Authentication: the unix socket and 127.0.0.1 are ``trust`` for every user
except the one :func:`start_server` creates, who must give the password over
TCP (scram-sha-256), so a wrong password really fails.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

ENV_URL = "NB_ORCHESTRA_PG_URL"
_RUN_AS = "nobody"
_LOCAL_USER, _LOCAL_PASSWORD, _LOCAL_DATABASE = "kestra", "k3str4", "ny_taxi"


def pg_bin() -> Path:
    """Where the PostgreSQL binaries are: ``$PG_BIN`` or Debian's PostgreSQL 15 folder."""
    return Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


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

    def connect(self, database: str = "postgres") -> Any:
        """A psycopg connection (autocommit) as the superuser through the socket."""
        import psycopg

        return psycopg.connect(host=str(self.root), port=self.port, user="postgres",
                               dbname=database, autocommit=True)

    def pg(self, tool: str, *args: str) -> None:
        """Run a PostgreSQL binary as the server's owner; RuntimeError with its output on failure."""
        done = subprocess.run([*self.prefix, str(pg_bin() / tool), *args],
                              capture_output=True, text=True, cwd=self.root, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}{detail}")


def start_server(user: str, password: str) -> PgServer:
    """initdb + pg_ctl start, and a superuser ``user`` who logs in over TCP with ``password``.

    FileNotFoundError when the binaries are missing; RuntimeError with the server's log when it can't start.
    """
    if not (pg_bin() / "initdb").exists():
        raise FileNotFoundError(
            f"PostgreSQL 15 binaries not found in {pg_bin()} (set $PG_BIN, or install them: "
            "apt-get install postgresql-15)")
    root = Path(tempfile.mkdtemp(prefix="nbo-pg-"))
    root.chmod(0o755)
    server = PgServer(root, _free_port(), _unprivileged_prefix(root))
    server.pg("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync")
    (server.data / "pg_hba.conf").write_text(
        f"local all all trust\nhost all {user} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n")
    options = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    server.pg("pg_ctl", "-D", str(server.data), "-o", options, "-l", str(root / "server.log"),
              "-w", "-t", "60", "start")
    with server.connect() as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN SUPERUSER PASSWORD '{password}'")
    return server


def stop_server(server: PgServer) -> None:
    """Stop the server at once and delete its folder."""
    try:
        server.pg("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


class Database(NamedTuple):
    """Connection facts for a flow's ``pluginDefaults``; ``kind`` is "env" or "local"."""

    kind: str
    jdbc_url: str
    username: str
    password: str

    def query(self, sql: str) -> list[tuple]:
        """Run ``sql`` (autocommit) and return its rows, to look at what a flow loaded."""
        import psycopg

        where = urlsplit(self.jdbc_url.removeprefix("jdbc:"))
        with psycopg.connect(host=where.hostname, port=where.port or 5432, dbname=where.path.lstrip("/"),
                             user=self.username, password=self.password, autocommit=True) as conn:
            return conn.execute(sql).fetchall()


_local: Database | None = None


def database_url() -> Database | None:
    """``$NB_ORCHESTRA_PG_URL`` (``postgresql://user:pw@host:port/db``), else a throwaway local
    PostgreSQL (one per process, stopped at exit) when the binaries are present, else None."""
    global _local
    if os.environ.get(ENV_URL):
        return _from_url(os.environ[ENV_URL])
    if _local is None and (pg_bin() / "initdb").exists():
        server = start_server(_LOCAL_USER, _LOCAL_PASSWORD)
        atexit.register(stop_server, server)
        with server.connect() as conn:
            conn.execute(f"CREATE DATABASE {_LOCAL_DATABASE} OWNER {_LOCAL_USER}")
        _local = Database("local", server.url(_LOCAL_DATABASE), _LOCAL_USER, _LOCAL_PASSWORD)
    return _local


def _from_url(url: str) -> Database:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ValueError(f"{ENV_URL} must look like postgresql://user:password@host:5432/database, not {url!r}")
    database = parts.path.lstrip("/") or "postgres"
    jdbc = f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}/{database}"
    return Database("env", jdbc, unquote(parts.username or ""), unquote(parts.password or ""))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unprivileged_prefix(root: Path) -> list[str]:
    """As root: make sure the run-as user exists, hand it ``root``, run commands via runuser."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    import pwd  # POSIX only, like running as root

    try:
        account = pwd.getpwnam(_RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _RUN_AS], check=True)
        account = pwd.getpwnam(_RUN_AS)
    for path in (root, *root.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", _RUN_AS, "--"]
