"""The team store: PostgreSQL through psycopg 3 and a small connection pool.

Same tables and SQL as SQLite (``?`` placeholders become ``%s``); timestamps
are ``TIMESTAMPTZ``. Migrations run under an advisory lock so two processes
opening a new database at once do not both create the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..secrets import redact_url
from .base import Store

POOL_SIZE = 4
CONNECT_TIMEOUT = 10.0
_SCHEMA_LOCK_ID = 0x6E626F  # "nbo"


class PostgresStore(Store):
    types = {"ts": "TIMESTAMPTZ"}
    schema_lock = f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_ID})"

    def __init__(self, url: str, home: Path):
        try:
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise UserError("a PostgreSQL store needs psycopg and psycopg_pool: "
                            "pip install 'nb-orchestra[postgres]'") from None
        super().__init__(home, redact_url(url))
        self._pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, kwargs={"autocommit": True},
                                    open=False, name="nb_orchestra-store")
        self._pool.open(wait=False)
        try:
            self._pool.wait(timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            self._pool.close()
            raise UserError(f"cannot connect to the store {self.url}: {exc}") from None
        self._prepare()

    @contextmanager
    def _connect(self, write: bool) -> Iterator[Any]:
        with self._pool.connection() as connection, connection.transaction():
            yield connection

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def close(self) -> None:
        self._pool.close()
