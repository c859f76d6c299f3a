"""io.kestra.plugin.jdbc.duckdb.Query and Queries, on DuckDB's Python package.

As in Kestra: the database is a file in the task's working directory unless
``url`` names an absolute file (then that file's folder is the working
directory) or ``databaseUri`` brings one; ``inputFiles`` are written there,
``outputFiles`` are names whose paths the SQL reaches as
``{{ outputFiles.<name> }}`` and that are uploaded afterwards, ``{{ workingDir }}``
is defined, and ``file_search_path`` points at the working directory so
``read_csv_auto('data.csv')`` finds the input files.

Offline: ``INSTALL <ext>`` of an extension that is already there (DuckDB's
wheel has json, parquet, icu built in) is skipped with a log line, since
DuckDB would otherwise try to download it and fail without a network.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...internal_storage import put_file
from ..base import Prop, TaskContext, TaskFailure
from ..extras import require
from ..files import stored_file, write_input_files
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
    rewrite_parameters,
)

SCHEME = "jdbc:duckdb:"
_INSTALL = re.compile(r"^\s*INSTALL\s+['\"]?(\w+)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_NAMED = re.compile(r"\$(\w+)")

_DUCKDB_PROPS: dict[str, Prop] = {
    **connection_props(SCHEME),
    "inputFiles": Prop("map_or_string", description="Files written to the working directory: "
                       "name -> text or kestra:// URI."),
    "outputFiles": Prop("list", description="Names of files the SQL writes to `{{ outputFiles.<name> }}`; "
                        "uploaded after the run."),
    "databaseUri": Prop("string", description="kestra:// URI of an existing DuckDB database file to open."),
    **DATABASE_FILE_PROPS,
}
_DUCKDB_OUTPUTS: dict[str, str] = {"outputFiles": "outputFiles name -> kestra:// URI.", **DATABASE_FILE_OUTPUTS}


class DuckDbSession:
    """A DuckDB connection; remembers the files the task uploads when it ends."""

    def __init__(self, ctx: TaskContext, database: Path, output_files: dict[str, str], transactional: bool):
        duckdb = require("duckdb", "duckdb", "DuckDB")
        self.ctx = ctx
        self.duckdb = duckdb
        self.errors: tuple[type[BaseException], ...] = (duckdb.Error,)
        self.database = database
        self.output_files = output_files
        self.transactional = transactional
        try:
            self.con = duckdb.connect(str(database))
        except duckdb.Error as exc:
            raise TaskFailure(f"Cannot open the DuckDB database {database}: {exc}") from None
        self.con.execute(f"SET file_search_path = '{_quote(str(database.parent))}'")

    def script(self, sql: str, params: dict[str, Any] | None) -> Iterator[ResultSet]:
        """Run every statement of ``sql``; the last one's rows, if it returns rows."""
        values = params or {}
        text, used = rewrite_parameters(sql, values, lambda name: f"${name}")
        result = None
        for statement in self.duckdb.extract_statements(text):
            if self._skip_install(statement.query):
                continue
            names = set(used).intersection(_NAMED.findall(statement.query))
            if names:
                self.con.execute(statement.query, {name: values[name] for name in names})
            else:
                self.con.execute(statement.query)
            result = ResultSet(self._columns(), self._rows()) if self._returns_rows(statement) else None
        return iter([result] if result is not None else [])

    def _returns_rows(self, statement: Any) -> bool:
        """What the JDBC driver reports as a result set: queries, and DML with RETURNING."""
        kinds = {kind.name for kind in statement.expected_result_type}
        if kinds == {"QUERY_RESULT"}:
            return True
        return "CHANGED_ROWS" in kinds and bool(_RETURNING.search(statement.query))

    def _skip_install(self, query: str) -> bool:
        match = _INSTALL.match(query)
        if match is None:
            return False
        found = self.con.execute("SELECT loaded OR installed FROM duckdb_extensions() WHERE extension_name = ?",
                                 [match.group(1).lower()]).fetchone()
        if not (found and found[0]):
            return False
        self.ctx.log("INFO", f"skipped INSTALL {match.group(1)}: already available offline")
        return True

    def _columns(self) -> list[str]:
        return [column[0] for column in self.con.description or []]

    def _rows(self) -> Iterator[tuple]:
        while batch := self.con.fetchmany(1000):
            yield from batch

    def begin(self) -> None:
        if self.transactional:
            self.con.begin()

    def commit(self) -> None:
        if self.transactional:
            self.con.commit()

    def rollback(self) -> None:
        if self.transactional:
            try:
                self.con.rollback()
            except self.duckdb.Error:  # nothing to roll back once DuckDB aborted it
                pass

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()


class _DuckDbTask(JdbcQueryTask[DuckDbSession]):
    query_transaction = True

    def open(self, ctx: TaskContext, transactional: bool) -> DuckDbSession:
        database, workdir = _database(ctx, check_url(ctx.get("url"), SCHEME))
        ctx.variables["workingDir"] = str(workdir)
        write_input_files(ctx.get("inputFiles") or {}, workdir, ctx.execution.namespace)
        database_uri = ctx.get("databaseUri")
        if database_uri:
            database = workdir / uuid.uuid4().hex
            shutil.copyfile(stored_file(database_uri, "databaseUri"), database)
        output_files = {}
        for name in ctx.get("outputFiles") or []:
            _check_name(str(name), "outputFiles")
            output_files[str(name)] = str(workdir / f"{name}_{uuid.uuid4().hex[:12]}")
            Path(output_files[str(name)]).touch()
        ctx.variables["outputFiles"] = output_files
        return DuckDbSession(ctx, database, output_files, transactional)

    def finish(self, ctx: TaskContext, session: DuckDbSession, outputs: dict[str, Any]) -> dict[str, Any]:
        outputs["outputFiles"] = {name: put_file(Path(path), ctx.storage_dir)
                                  for name, path in session.output_files.items()}
        if ctx.get("outputDbFile"):
            outputs["databaseUri"] = put_file(session.database, ctx.storage_dir)
        return outputs


def _database(ctx: TaskContext, url: str) -> tuple[Path, Path]:
    """The database file and the working directory, as Kestra derives them from ``url``."""
    if url == SCHEME:
        workdir = ctx.working_dir
        return workdir / f"{uuid.uuid4().hex}.db", workdir
    path = Path(url[len(SCHEME):])
    if not path.is_absolute():
        raise TaskFailure("The database file path is not valid (Path to database file must be absolute)")
    path.parent.mkdir(parents=True, exist_ok=True)
    ctx.variables["dbFilePath"] = str(path)
    return path, path.parent


def _check_name(name: str, prop: str) -> None:
    if name.startswith(("./", "..", "/")):
        raise TaskFailure(f"property '{prop}': Invalid file name (only relative path is supported) '{name}'")


def _quote(text: str) -> str:
    return text.replace("'", "''")


class Query(_DuckDbTask):
    """Run SQL on DuckDB; the last statement's rows become the output."""

    type = "io.kestra.plugin.jdbc.duckdb.Query"
    outputs = {**QUERY_OUTPUTS, **_DUCKDB_OUTPUTS}
    properties = {**_DUCKDB_PROPS, **QUERY_PROPS}


class Queries(_DuckDbTask):
    """Run several statements on DuckDB; one output per statement that returns rows."""

    type = "io.kestra.plugin.jdbc.duckdb.Queries"
    outputs = {**QUERIES_OUTPUTS, **_DUCKDB_OUTPUTS}
    multi = True
    properties = {**_DUCKDB_PROPS, **QUERIES_PROPS}
