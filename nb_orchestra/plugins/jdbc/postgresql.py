"""io.kestra.plugin.jdbc.postgresql: Query, Queries, CopyIn and CopyOut, on psycopg 3.

``url`` is Kestra's JDBC form ``jdbc:postgresql://host:port/db`` (a plain
``postgresql://`` URI works too). A ``Query`` sends its text in one call, so
PostgreSQL runs several statements there as one implicit transaction; a
``Queries`` task splits the text like Kestra and runs the statements in one
transaction (``transaction: false``: each commits). ``CopyIn``/``CopyOut``
build ``COPY ... FROM STDIN`` / ``TO STDOUT WITH (...)`` from the same options
as Kestra and stream the file through the connection in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..extras import require
from ..files import stored_file
from .common import (
    QUERIES_OUTPUTS,
    QUERIES_PROPS,
    QUERY_OUTPUTS,
    QUERY_PROPS,
    JdbcQueryTask,
    ResultSet,
    check_url,
    connection_props,
    interrupt_on_cancel,
    rewrite_parameters,
    statement_errors,
    storage_path,
)

SCHEMES = ("jdbc:postgresql:", "postgresql:", "postgres:")
SSL_MODES = ("DISABLE", "ALLOW", "PREFER", "REQUIRE", "VERIFY_CA", "VERIFY_FULL")
CONNECT_TIMEOUT = 10
_EXTENSIONS = {"CSV": "csv", "TEXT": "tsv", "BINARY": "bin"}

_PG_PROPS: dict[str, Prop] = {
    **connection_props(),
    "ssl": Prop("bool", default=False, description="Use SSL (sslmode require unless sslMode says otherwise)."),
    "sslMode": Prop("enum", choices=SSL_MODES, description="libpq sslmode."),
}


def _psycopg() -> Any:
    return require("psycopg", "postgres", "PostgreSQL")


def connect(ctx: TaskContext, autocommit: bool) -> Any:
    """A psycopg connection from the task's url/username/password/ssl properties."""
    psycopg = _psycopg()
    url = check_url(ctx.get("url"), *SCHEMES)
    options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    for prop, key in (("username", "user"), ("password", "password")):
        value = ctx.get(prop)
        if value is not None:
            options[key] = value
    mode = ctx.get("sslMode")
    if mode or ctx.get("ssl"):
        options["sslmode"] = (mode or "REQUIRE").lower().replace("_", "-")
    try:
        return psycopg.connect(url.removeprefix("jdbc:"), autocommit=autocommit, **options)
    except psycopg.Error as exc:
        raise TaskFailure(f"Cannot connect to PostgreSQL: {' '.join(str(exc).split())}") from None


class PgSession:
    """A psycopg connection: autocommit unless the statements share a transaction."""

    def __init__(self, ctx: TaskContext, transactional: bool):
        self.psycopg = _psycopg()
        self.errors: tuple[type[BaseException], ...] = (self.psycopg.Error,)
        self.conn = connect(ctx, autocommit=not transactional)

    def script(self, sql: str, params: dict[str, Any] | None) -> Iterator[ResultSet]:
        cursor = self.conn.cursor()
        if params:
            sql, _ = rewrite_parameters(sql, params, lambda name: f"%({name})s", escape_percent=True)
            cursor.execute(sql, params)
        else:
            cursor.execute(sql)
        return _result_sets(cursor)

    def begin(self) -> None:
        """psycopg opens the transaction by itself when autocommit is off."""

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()

    def interrupt(self) -> None:
        self.conn.cancel_safe()

    def close(self) -> None:
        self.conn.close()


def _result_sets(cursor: Any) -> Iterator[ResultSet]:
    """Like JDBC: the first result when it has rows, then each following one with rows."""
    while cursor.description is not None:
        yield ResultSet([column.name for column in cursor.description], cursor)
        if not cursor.nextset():
            return


class _PgQueryTask(JdbcQueryTask[PgSession]):
    def open(self, ctx: TaskContext, transactional: bool) -> PgSession:
        return PgSession(ctx, transactional)


class Query(_PgQueryTask):
    """Run SQL on PostgreSQL in one call."""

    type = "io.kestra.plugin.jdbc.postgresql.Query"
    outputs = QUERY_OUTPUTS
    properties = {**_PG_PROPS, **QUERY_PROPS}


class Queries(_PgQueryTask):
    """Run several statements on PostgreSQL in one transaction; one output per row-returning statement."""

    type = "io.kestra.plugin.jdbc.postgresql.Queries"
    outputs = QUERIES_OUTPUTS
    multi = True
    properties = {**_PG_PROPS, **QUERIES_PROPS}


# -- COPY ----------------------------------------------------------------------------------

_COPY_PROPS: dict[str, Prop] = {
    **_PG_PROPS,
    "table": Prop("string", description="The (optionally schema-qualified) table."),
    "columns": Prop("list", description="Columns to copy; all when empty."),
    "format": Prop("enum", default="TEXT", choices=("TEXT", "CSV", "BINARY"), description="Data format."),
    "oids": Prop("bool", description="COPY option OIDS."),
    "freeze": Prop("bool", description="COPY option FREEZE."),
    "delimiter": Prop("string", description="Column separator (tab for TEXT, comma for CSV by default)."),
    "nullString": Prop("string", description="The text that stands for NULL."),
    "header": Prop("bool", description="CSV: the file has (CopyIn) / gets (CopyOut) a header line."),
    "quote": Prop("string", description="CSV quoting character."),
    "escape": Prop("string", description="CSV escape character."),
    "forceQuote": Prop("list", description="CopyOut CSV: columns always quoted (`*` for all)."),
    "forceNotNull": Prop("list", description="CopyIn CSV: columns never matched against the null string."),
    "forceNull": Prop("list", description="CopyIn CSV: quoted values equal to the null string become NULL."),
    "encoding": Prop("string", description="Encoding of the file."),
}


def copy_statement(ctx: TaskContext, query: str | None, direction: str) -> Any:
    """``COPY <table> (<columns>) | (<query>) <direction> WITH (...)`` with only the options set,
    composed by psycopg: names are quoted identifiers, values are literals."""
    sql = _psycopg().sql
    parts = [sql.SQL("COPY")]
    if query is None:
        table = ctx.get("table")
        if not table:
            raise TaskFailure("property 'table' is required" + ("" if direction.startswith("FROM")
                                                                 else " when 'sql' is not set"))
        parts.append(_name(sql, "table", table, qualified=True))
        columns = ctx.get("columns") or []
        if columns:
            parts.append(_names(sql, "columns", columns))
    else:
        parts.append(sql.SQL("({})").format(sql.SQL(query)))  # the task's own SQL, as Query runs it
    parts.append(sql.SQL(direction))
    data_format = ctx.get("format")
    if data_format not in _FORMATS:
        raise TaskFailure(f"property 'format': {data_format!r} is not one of {', '.join(_FORMATS)}")
    options = [] if data_format == "TEXT" else [sql.SQL(f"FORMAT {data_format}")]
    options += [sql.SQL(name.upper()) for name in ("oids", "freeze") if ctx.get(name)]
    for prop, option in (("delimiter", "DELIMITER"), ("nullString", "NULL"), ("quote", "QUOTE"),
                         ("escape", "ESCAPE"), ("encoding", "ENCODING")):
        if ctx.get(prop) is not None:
            options.append(sql.SQL(f"{option} {{}}").format(sql.Literal(str(ctx.get(prop)))))
    if ctx.get("header") is not None:
        options.append(sql.SQL("HEADER TRUE" if ctx.get("header") else "HEADER FALSE"))
    force_quote = ctx.get("forceQuote") or []
    if force_quote:
        options.append(sql.SQL("FORCE_QUOTE {}").format(
            sql.SQL("*") if force_quote == ["*"] else _names(sql, "forceQuote", force_quote)))
    for prop, option in (("forceNotNull", "FORCE_NOT_NULL"), ("forceNull", "FORCE_NULL")):
        if ctx.get(prop):
            options.append(sql.SQL(f"{option} {{}}").format(_names(sql, prop, ctx.get(prop))))
    if options:
        parts.append(sql.SQL("WITH ({})").format(sql.SQL(", ").join(options)))
    return sql.SQL(" ").join(parts)


_FORMATS = ("TEXT", "CSV", "BINARY")
# A name as PostgreSQL reads it unquoted (then folded to lower case), or one in double quotes.
_NAME = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")'
_TABLE = re.compile(rf"{_NAME}(?:\.{_NAME})?")
_COLUMN = re.compile(_NAME)


def _name(sql: Any, prop: str, text: Any, qualified: bool = False) -> Any:
    """``text`` as a quoted identifier (``schema.table`` when ``qualified``), meaning what PostgreSQL
    makes of it unquoted; anything else is refused, so a value never becomes SQL."""
    text = str(text).strip()
    if not (_TABLE if qualified else _COLUMN).fullmatch(text):
        what = "a table name or schema.table" if qualified else "a column name"
        raise TaskFailure(f"property '{prop}': {text!r} is not {what} (letters, digits and _, or a \"quoted name\")")
    parts = re.findall(_NAME, text)
    return sql.Identifier(*(p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts))


def _names(sql: Any, prop: str, names: list[Any]) -> Any:
    return sql.SQL("({})").format(sql.SQL(", ").join(_name(sql, prop, name) for name in names))


class _Copy(TaskPlugin):
    blocking = True

    def copy(self, ctx: TaskContext, statement: Any, transfer: Any) -> int:
        """Run ``statement`` (a composed COPY) in one transaction, ``transfer(copy)`` moving the data;
        the row count."""
        conn = connect(ctx, autocommit=False)
        try:
            sql = statement.as_string(conn)
            ctx.log("DEBUG", f"Starting query: {sql}")
            with interrupt_on_cancel(ctx, conn.cancel_safe), statement_errors(ctx, (_psycopg().Error,), sql, "COPY"):
                with conn.cursor() as cursor:
                    with cursor.copy(sql) as copy:
                        transfer(copy)
                    rows = cursor.rowcount
                conn.commit()
        finally:
            conn.close()  # closing without commit rolls back
        return rows


class CopyIn(_Copy):
    """Load a file of the execution storage into a table with COPY FROM STDIN; output `rowCount`."""

    type = "io.kestra.plugin.jdbc.postgresql.CopyIn"
    outputs = {"rowCount": "Rows copied in."}
    properties = {**_COPY_PROPS, "from": Prop("string", required=True, description="kestra:// URI of the file.")}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source = stored_file(ctx.get("from"), "from")
        sql = copy_statement(ctx, None, "FROM STDIN")

        def send(copy: Any) -> None:
            with source.open("rb") as data:
                while chunk := data.read(1 << 16):
                    copy.write(chunk)

        return {"rowCount": self.copy(ctx, sql, send)}


class CopyOut(_Copy):
    """Copy a table or a query's rows to a file with COPY TO STDOUT; outputs `uri`, `rowCount`."""

    type = "io.kestra.plugin.jdbc.postgresql.CopyOut"
    outputs = {"uri": "kestra:// URI of the file written.", "rowCount": "Rows copied out."}
    properties = {**_COPY_PROPS, "sql": Prop("string", description="A query whose rows are copied (else `table`).")}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        sql = copy_statement(ctx, ctx.get("sql"), "TO STDOUT")
        path = storage_path(ctx, f"{ctx.run.task_id}.{_EXTENSIONS[ctx.get('format')]}")

        def receive(copy: Any) -> None:
            with path.open("wb") as out:
                for chunk in copy:
                    out.write(chunk)

        rows = self.copy(ctx, sql, receive)
        return {"uri": to_uri(path), "rowCount": rows}
