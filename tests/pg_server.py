"""A real, throwaway PostgreSQL server for the tests (no mocks, no network).

The server itself is :mod:`nb_orchestra.teaching.postgres` (the teaching
notebooks start the same one). ``pg_server`` (session scope) starts it with
the user ``USER`` / ``PASSWORD`` and stops it when the session ends; ``pg_db``
(per test) creates a fresh database and gives its connection facts. When the
binaries are missing the tests that use the server FAIL, saying how to install
them (``apt-get install postgresql-15``), rather than skip.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest

from nb_orchestra.teaching.postgres import PgServer, start_server, stop_server

USER = "kestra"
PASSWORD = "k3stra-secret"


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = start_server(USER, PASSWORD)
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
