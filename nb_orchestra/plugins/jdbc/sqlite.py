"""io.kestra.plugin.jdbc.sqlite.Query and Queries, on Python's sqlite3.

``url`` is ``jdbc:sqlite:<file>`` (a relative file is in the task's working
directory) or ``jdbc:sqlite::memory:``. ``sqliteFile`` (a kestra:// URI) is
copied to that file first; ``outputDbFile`` uploads it afterwards
(``databaseUri``). Named ``:name`` parameters are SQLite's own syntax.
Cells come back as SQLite stores them (no date conversion by declared type).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...internal_storage import put_file
from ..base import Prop, TaskContext, TaskFailure
from ..files import stored_file
from .common import (
    DATABASE_FILE_OUTPUTS,
    DATABASE_FILE_PROPS,
    QUERIES_OUTPUTS,
    QUERIES_PROPS,
    QUERY_OUTPUTS,
    QUERY_PROPS,
    JdbcQueryTask,
    ResultSet,
    check_url,
    connection_props,
)

SCHEME = "jdbc:sqlite:"
_MEMORY = ("", ":memory:")

_SQLITE_PROPS: dict[str, Prop] = {
    **connection_props(),
    "sqliteFile": Prop("string", description="kestra:// URI of a database file copied to the url's file first."),
    **DATABASE_FILE_PROPS,
}


class SqliteSession:
    """An sqlite3 connection in autocommit mode; transactions are explicit BEGIN/COMMIT."""

    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, database: str, transactional: bool):
        self.database = database
        self.transactional = transactional
        try:
            self.con = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise TaskFailure(f"Cannot open the SQLite database {database}: {exc}") from None

    def script(self, sql: str, params: dict[str, Any] | None) -> Iterator[ResultSet]:
        cursor = self.con.execute(sql, params or {})
        if cursor.description is None:
            return iter([])
        return iter([ResultSet([column[0] for column in cursor.description], cursor)])

    def begin(self) -> None:
        if self.transactional:
            self.con.execute("BEGIN")

    def commit(self) -> None:
        if self.con.in_transaction:
            self.con.execute("COMMIT")

    def rollback(self) -> None:
        if self.con.in_transaction:
            self.con.execute("ROLLBACK")

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()


class _SqliteTask(JdbcQueryTask[SqliteSession]):
    def open(self, ctx: TaskContext, transactional: bool) -> SqliteSession:
        name = check_url(ctx.get("url"), SCHEME)[len(SCHEME):]
        database = name if name in _MEMORY else str(ctx.working_dir / name)
        source = ctx.get("sqliteFile")
        if source:
            if name in _MEMORY:
                raise TaskFailure("property 'sqliteFile' needs a file url, e.g. jdbc:sqlite:my.db")
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stored_file(source, "sqliteFile"), database)
        return SqliteSession(database, transactional)

    def finish(self, ctx: TaskContext, session: SqliteSession, outputs: dict[str, Any]) -> dict[str, Any]:
        if ctx.get("outputDbFile") and session.database not in _MEMORY:
            outputs["databaseUri"] = put_file(Path(session.database), ctx.storage_dir)
        return outputs


class Query(_SqliteTask):
    """Run one SQL statement on SQLite."""

    type = "io.kestra.plugin.jdbc.sqlite.Query"
    outputs = {**QUERY_OUTPUTS, **DATABASE_FILE_OUTPUTS}
    properties = {**_SQLITE_PROPS, **QUERY_PROPS}


class Queries(_SqliteTask):
    """Run several statements on SQLite; one output per statement that returns rows."""

    type = "io.kestra.plugin.jdbc.sqlite.Queries"
    outputs = {**QUERIES_OUTPUTS, **DATABASE_FILE_OUTPUTS}
    multi = True
    properties = {**_SQLITE_PROPS, **QUERIES_PROPS}
