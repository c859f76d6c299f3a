"""What the JDBC plugins share (Kestra's AbstractJdbcBaseQuery / Query / Queries).

A driver module supplies a :class:`Session` (connect, run SQL, transactions);
this module turns properties into SQL runs and result sets into Kestra's
outputs: ``row``/``rows``/``uri``/``size`` for ``Query``, a list of them under
``outputs`` for ``Queries``.

STORE files are Amazon Ion text, one value per line, as Kestra writes them
(``.ion``; dates as day-precision timestamps, local date-times and times as
annotated strings such as ``LocalDateTime::"2024-01-02T03:04:05"``), written by
``plugins/ion.py``, which the serdes family shares.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..base import Prop, TaskCancelled, TaskContext, TaskFailure, TaskPlugin
from ..ion import storage_path as storage_path  # re-exported: postgresql's CopyOut writes its file there
from ..ion import store_values

FETCH_TYPES = ("FETCH", "FETCH_ONE", "STORE", "NONE")


def connection_props(url_default: str | None = None) -> dict[str, Prop]:
    """``url``, ``username``, ``password`` (``url`` is required unless it has a default)."""
    return {
        "url": Prop("string", required=url_default is None, default=url_default,
                    description="The JDBC URL of the database."),
        "username": Prop("string", description="The database user."),
        "password": Prop("string", description="The database user's password."),
    }


QUERY_PROPS: dict[str, Prop] = {
    "sql": Prop("string", required=True, description="The SQL to run (rendered)."),
    "fetchType": Prop("enum", default="NONE", choices=FETCH_TYPES,
                      description="FETCH_ONE -> row, FETCH -> rows, STORE -> uri (Ion file), NONE."),
    "fetchSize": Prop("int", default=10000, description="Accepted; a JDBC fetch hint."),
    "parameters": Prop("map", description="Values of named `:name` placeholders in the SQL."),
    "timeZoneId": Prop("string", description="Zone that date-times with a zone are converted to."),
    "fetch": Prop("bool", default=False, description="Deprecated: fetchType FETCH."),
    "fetchOne": Prop("bool", default=False, description="Deprecated: fetchType FETCH_ONE."),
    "store": Prop("bool", default=False, description="Deprecated: fetchType STORE."),
}

QUERIES_PROPS: dict[str, Prop] = {
    **QUERY_PROPS,
    "transaction": Prop("bool", default=True,
                        description="All statements in one transaction, rolled back on any error."),
}

QUERY_OUTPUTS: dict[str, str] = {
    "row": "First row (fetchType FETCH_ONE).",
    "rows": "All rows (FETCH).",
    "uri": "kestra:// URI of an Ion file of the rows (STORE).",
    "size": "Number of rows fetched.",
}

QUERIES_OUTPUTS: dict[str, str] = {"outputs": "One entry (row/rows/uri/size) per statement that returned rows."}

# A database in a file (DuckDB, SQLite) can be uploaded when the task ends.
DATABASE_FILE_PROPS: dict[str, Prop] = {
    "outputDbFile": Prop("bool", default=False, description="Upload the database file (output `databaseUri`)."),
}

DATABASE_FILE_OUTPUTS: dict[str, str] = {"databaseUri": "kestra:// URI of the database file (outputDbFile)."}


@dataclass
class ResultSet:
    """Column labels and rows (an iterator, read once) of one statement."""

    columns: list[str]
    rows: Iterable[Sequence[Any]]


class Session(Protocol):
    """One connection of a driver, as the query tasks use it."""

    errors: tuple[type[BaseException], ...]

    def script(self, sql: str, params: dict[str, Any] | None) -> Iterator[ResultSet]:
        """Run ``sql`` now; iterate over the result sets it returned (none for DDL/DML)."""

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def interrupt(self) -> None: ...
    def close(self) -> None: ...


SessionT = TypeVar("SessionT", bound=Session)


class JdbcQueryTask(TaskPlugin, Generic[SessionT]):
    """``Query`` (``multi = False``) and ``Queries`` of a driver; subclasses open the session.

    Generic over the driver's session type, so that ``finish`` gets the session ``open`` made.

    A ``Queries`` task runs in one transaction unless ``transaction: false``; a
    ``Query`` only when ``query_transaction`` (DuckDB runs its statements one by
    one; PostgreSQL makes a multi-statement text atomic by itself).
    """

    blocking = True
    multi: ClassVar[bool] = False
    query_transaction: ClassVar[bool] = False

    def open(self, ctx: TaskContext, transactional: bool) -> SessionT:
        raise NotImplementedError

    def finish(self, ctx: TaskContext, session: SessionT, outputs: dict[str, Any]) -> dict[str, Any]:
        """Add driver-specific outputs once the connection is closed (DuckDB's files)."""
        return outputs

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        transactional = bool(ctx.get("transaction")) if self.multi else self.query_transaction
        session = self.open(ctx, transactional)
        try:
            with interrupt_on_cancel(ctx, session.interrupt):
                outputs = _run_sql(ctx, session, self.multi)
        finally:
            session.close()
        return self.finish(ctx, session, outputs)


def _run_sql(ctx: TaskContext, session: Session, multi: bool) -> dict[str, Any]:
    sql = ctx.get("sql")
    params = ctx.get("parameters") or None
    fetch_type = resolve_fetch_type(ctx)
    zone = _zone(ctx.get("timeZoneId"))
    pieces = split_statements(sql) if multi else [sql]
    session.begin()
    try:
        if multi:
            outputs: list[dict[str, Any]] = []
            for number, piece in enumerate(pieces, 1):
                with statement_errors(ctx, session.errors, piece, f"statement {number} of {len(pieces)}"):
                    result = next(session.script(piece, params), None)
                    if result is not None:
                        outputs.append(build_output(ctx, fetch_type, [result], zone, multi=True))
            out: dict[str, Any] = {"outputs": outputs}
        else:
            with statement_errors(ctx, session.errors, sql, "query"):
                out = build_output(ctx, fetch_type, session.script(sql, params), zone, multi=False)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return out


@contextmanager
def statement_errors(ctx: TaskContext, errors: tuple[type[BaseException], ...], sql: str,
                     where: str) -> Iterator[None]:
    """A driver error becomes a TaskFailure naming the statement; a kill stays a kill."""
    try:
        yield
    except errors as exc:
        if ctx.cancel.is_set():
            raise TaskCancelled() from None
        raise TaskFailure(f"SQL error in {where}: {str(exc).strip()}\nStatement: {sql.strip()}") from None


@contextmanager
def interrupt_on_cancel(ctx: TaskContext, interrupt: Callable[[], None]) -> Iterator[None]:
    """Call ``interrupt`` (from a watcher thread) if the task run is killed or times out."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if ctx.cancel.wait(0.1):
                interrupt()
                return

    watcher = threading.Thread(target=watch, name="jdbc-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def resolve_fetch_type(ctx: TaskContext) -> str:
    """``fetchType``, unless a deprecated boolean says otherwise (fetch > fetchOne > store)."""
    for flag, kind in (("fetch", "FETCH"), ("fetchOne", "FETCH_ONE"), ("store", "STORE")):
        if ctx.get(flag):
            return kind
    return ctx.get("fetchType")


def check_url(url: str | None, *schemes: str) -> str:
    """Kestra's url checks: not blank, starting with the driver's scheme."""
    if not url or not url.strip():
        raise TaskFailure("Rendered value of `url` is blank.")
    if not url.startswith(schemes):
        raise TaskFailure(f"URL scheme is invalid. URL should start with `{schemes[0]}`")
    return url


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TaskFailure(f"property 'timeZoneId': unknown time zone '{name}'") from None


# -- SQL text ---------------------------------------------------------------------------

_SPLIT = re.compile(r";[^']")


def split_statements(sql: str) -> list[str]:
    """Kestra's Queries split: on ``;`` followed by any character but a quote (consumed).

    Like Java's ``split``, nothing is understood about strings or dollar quoting;
    blank pieces (a trailing ``;``) are dropped.
    """
    return [piece for piece in _SPLIT.split(sql) if piece.strip().strip(";").strip()]


_PARAM_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|:(\w+)|%")


def rewrite_parameters(sql: str, names: Iterable[str], placeholder: Callable[[str], str],
                       escape_percent: bool = False) -> tuple[str, list[str]]:
    """Replace ``:name`` (a key of ``names``) by the driver's placeholder.

    Kestra replaces every ``:\\w+``; here quoted text, ``::`` casts and names
    that are not parameters are left alone. Returns the SQL and the names used,
    in order. ``escape_percent`` doubles ``%`` (psycopg's ``%(name)s`` style).
    """
    known = set(names)
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        text, name = match.group(0), match.group(1)
        if name is not None and name in known:
            used.append(name)
            return placeholder(name)
        return text.replace("%", "%%") if escape_percent else text

    return _PARAM_TOKENS.sub(replace, sql), used


# -- results -----------------------------------------------------------------------------

def build_output(ctx: TaskContext, fetch_type: str, results: Iterable[ResultSet],
                 zone: ZoneInfo | None, multi: bool) -> dict[str, Any]:
    """Kestra's output of one statement (Query: of the first result sets that follow each other)."""
    if fetch_type == "NONE":
        if multi:
            ctx.log("INFO", "fetchType is set to NONE, no output will be returned")
        return {}
    iterator = iter(results)
    if fetch_type == "FETCH_ONE":
        first = next(iterator, None)
        row = next(_maps(first, zone), None) if first is not None else None
        # Kestra's Queries reports size 1 even when no row came back.
        return {"row": row, "size": 1 if multi or row is not None else 0}
    rows = (row for result in iterator for row in _maps(result, zone))
    if fetch_type == "FETCH":
        fetched = list(rows)
        return {"rows": fetched, "size": len(fetched)}
    return store_rows(ctx, rows)


def _maps(result: ResultSet, zone: ZoneInfo | None) -> Iterator[dict[str, Any]]:
    for row in result.rows:
        yield {column: cell(value, zone) for column, value in zip(result.columns, row, strict=True)}


def cell(value: Any, zone: ZoneInfo | None) -> Any:
    """A driver value as a Python value: UUIDs as text, zoned date-times in ``zone``."""
    if isinstance(value, datetime) and value.tzinfo is not None and zone is not None:
        return value.astimezone(zone)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


# STORE writes Ion files as Kestra does (shared with the serdes family).
_ION_MISSING = ("fetchType STORE writes Amazon Ion files and needs the amazon.ion package: "
                "pip install 'nb-orchestra[duckdb]' (or [postgres], [sqlite])")


def store_rows(ctx: TaskContext, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Write rows as Ion lines to the task run's storage: ``{"uri", "size"}``."""
    return store_values(ctx, rows, _ION_MISSING)

