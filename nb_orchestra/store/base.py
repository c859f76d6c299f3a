"""The Store: executions, task runs, logs, flow revisions (and the tables kv.py and
triggers.py use) behind one interface. The SQL is shared: a backend only says how to
open a transaction, how to spell a placeholder and how to pass a timestamp.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

from .. import config
from ..errors import ExecutionNotFoundError, UserError
from ..records import states
from ..records.clock import micros
from . import schema
from .chunks import CHUNKS_PER_STATEMENT, groups
from .log_chunks import count_lines, kept, read_logs
from .records import StoredExecution, StoredLog, StoredTaskRun
from .serialize import loads, storable
from .taskrun_chunks import count_runs, read_chunks

EXECUTION_COLUMNS = ("id", "namespace", "flow_id", "revision", "state", "state_history", "start_date", "end_date",
                     "inputs", "labels", "trigger", "original_id", "flow_outputs", "message",
                     "owner_pid", "owner_host", "heartbeat_at")


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _upsert(table: str, columns: Sequence[str]) -> str:
    """Insert, or update every column but the key (``revision`` keeps its value when None)."""
    sets = ", ".join(f"{c} = COALESCE(excluded.{c}, {table}.{c})" if c == "revision" else f"{c} = excluded.{c}"
                     for c in columns[1:])
    return f"{_insert(table, columns)} ON CONFLICT ({columns[0]}) DO UPDATE SET {sets}"


UPSERT_EXECUTION = _upsert("executions", EXECUTION_COLUMNS)


# Tables an execution's rows live in, and the column naming it (children first).
_PURGED = (("log_chunks", "execution_id"), ("taskrun_chunks", "execution_id"),
           ("execution_labels", "execution_id"), ("executions", "id"))
TASKRUNS, LOGS = "taskrun_chunks", "log_chunks"  # the chunk tables (taskrun_chunks.py, log_chunks.py)


@functools.cache
def host() -> str:
    """This machine's name, as the owner of the executions it runs (asked once, when first needed)."""
    import socket

    return socket.gethostname()


def to_datetime(value: Any) -> datetime | None:
    """A timestamp column's value (ISO text on SQLite, a datetime on PostgreSQL) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc)


def required_datetime(value: Any) -> datetime:
    """A NOT NULL timestamp column's value (see :func:`to_datetime`)."""
    moment = to_datetime(value)
    if moment is None:
        raise ValueError("a required timestamp is missing in the store")
    return moment


def utc_text(value: datetime) -> str:
    """A datetime as sortable ISO-8601 text in UTC (naive ones are local time)."""
    if value.tzinfo is not timezone.utc:  # the engine's own are UTC already
        value = value.astimezone(timezone.utc)
    # isoformat() drops a zero microsecond, and the text must keep one width to sort
    return value.isoformat() if value.microsecond else value.isoformat(timespec="microseconds")


@dataclass
class ExecutionBatch:
    """One execution's changes since the last flush (see the *_COLUMNS tuples).

    ``row`` stops before the owner columns, which the store fills in. When ``flow``
    (namespace, flow id, source) is given the flow is saved and the row gets its revision.
    ``labels`` is None when unchanged. ``taskruns`` and ``logs`` are chunks (taskrun_chunks.py,
    log_chunks.py), made as they are written. ``next_chunks`` numbers the first chunk of each; a None
    is looked up past the chunks stored (a restart or a new process goes on after them). Once
    written it holds the numbers of the next ones.
    """

    row: tuple
    labels: dict[str, str] | None
    taskruns: Iterable[str]
    logs: Iterable[str]
    flow: tuple[str, str, str] | None = None
    next_chunks: dict[str, int | None] = field(default_factory=lambda: {TASKRUNS: None, LOGS: None})


class Tx:
    """One open transaction: ``?`` placeholders, datetimes converted as the backend needs."""

    def __init__(self, connection: Any, sql: Callable[[str], str], ts: Callable[[datetime], Any] | None):
        self._connection = connection
        self._sql = sql
        self._ts = ts

    def _params(self, params: Sequence[Any]) -> Sequence[Any]:
        ts = self._ts
        return [storable(p) if type(p) is str else ts(p) if ts is not None and isinstance(p, datetime) else p
                for p in params]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor (``rowcount``)."""
        cursor = self._connection.cursor()
        cursor.execute(self._sql(sql), self._params(params))
        return cursor

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._connection.cursor().executemany(self._sql(sql), [self._params(r) for r in rows])


class Store(ABC):
    """Where executions and their history live; one object per (home, store URL), thread-safe."""

    types: ClassVar[dict[str, str]]           # schema placeholders, e.g. {"ts": "TEXT"}
    schema_lock: ClassVar[str | None] = None  # a statement serialising migrations across processes

    def __init__(self, home: Path, url: str):
        self.home = home
        self.url = url
        self.transactions = 0  # write transactions so far (tests and benchmarks read it)
        self._count_lock = threading.Lock()

    # -- what a backend provides ------------------------------------------------------------

    @abstractmethod
    def _connect(self, write: bool) -> Any:
        """A context manager: a connection inside an open transaction, committed on success."""

    @abstractmethod
    def close(self) -> None: ...

    def _sql(self, sql: str) -> str:
        return sql

    _ts: Callable[[datetime], Any] | None = None

    def timestamp(self, value: datetime | None) -> Any:
        """A datetime as this backend's statements take it (None stays None)."""
        return value if value is None or self._ts is None else self._ts(value)

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """A transaction; ``write`` ones take the write lock at once (SQLite ``BEGIN IMMEDIATE``)."""
        with self._connect(write) as connection:
            if write:
                with self._count_lock:
                    self.transactions += 1
            yield Tx(connection, self._sql, self._ts)

    def _prepare(self) -> None:
        """Bring the schema up to date, then mark executions of dead processes KILLED."""
        from . import orphans

        with self.transaction() as tx:
            if self.schema_lock:
                tx.execute(self.schema_lock)

            def version() -> int | None:
                found = tx.rows("SELECT version FROM schema_version")
                return found[0][0] if found else None

            schema.migrate(tx, version, self.types)
        orphans.reap(self)

    def execution_dir(self, namespace: str, flow_id: str, execution_id: str) -> Path:
        """The storage folder of one execution under this store's home."""
        return replace(config.current(), home=self.home).execution_dir(namespace, flow_id, execution_id)

    # -- writing (the recorder) ------------------------------------------------------------------

    def write(self, batches: Sequence[ExecutionBatch]) -> None:
        """Write the changes of several executions in one transaction."""
        if not batches:
            return
        owner = (os.getpid(), host(), datetime.now(timezone.utc))
        with self.transaction() as tx:
            for batch in batches:
                row = batch.row
                if batch.flow is not None:
                    row = (*row[:3], self._save_flow(tx, *batch.flow), *row[4:])
                tx.execute(UPSERT_EXECUTION, (*row, *owner))
                if batch.labels is not None:
                    tx.execute("DELETE FROM execution_labels WHERE execution_id = ?", (row[0],))
                    tx.executemany("INSERT INTO execution_labels (execution_id, key, value) VALUES (?, ?, ?)",
                                   [(row[0], key, value) for key, value in batch.labels.items()])
                for table, texts in ((TASKRUNS, batch.taskruns), (LOGS, batch.logs)):
                    for group in groups(texts, CHUNKS_PER_STATEMENT):
                        batch.next_chunks[table] = self._add_chunks(tx, table, row[0], group,
                                                                    batch.next_chunks[table])

    @classmethod
    def _add_chunk(cls, tx: Tx, table: str, execution_id: str, text: str, seq: int | None = None) -> int:
        """Write one chunk of an execution (numbered ``seq``, else past the stored ones); the next number."""
        return cls._add_chunks(tx, table, execution_id, [text], seq)

    @staticmethod
    def _add_chunks(tx: Tx, table: str, execution_id: str, texts: list[str], seq: int | None = None) -> int:
        """Write chunks of an execution in one statement, numbered from ``seq`` (else past the stored
        ones); the next number."""
        if seq is None:
            seq = int(tx.rows(f"SELECT COALESCE(MAX(seq), -1) + 1 FROM {table} WHERE execution_id = ?",
                              (execution_id,))[0][0])
        values = ", ".join(["(?, ?, ?)"] * len(texts))
        tx.execute(f"INSERT INTO {table} (execution_id, seq, entries) VALUES {values}",
                   [field for number, text in enumerate(texts, seq) for field in (execution_id, number, text)])
        return seq + len(texts)

    def heartbeat(self, execution_ids: Iterable[str]) -> None:
        """Tell other processes that this one still runs these executions."""
        ids = list(execution_ids)
        if ids:
            with self.transaction() as tx:
                tx.execute(f"UPDATE executions SET heartbeat_at = ?, owner_pid = ?, owner_host = ? "
                           f"WHERE id IN ({', '.join('?' * len(ids))})",
                           (datetime.now(timezone.utc), os.getpid(), host(), *ids))

    # -- flow revisions --------------------------------------------------------------------------

    def save_flow(self, flow: Any) -> int:
        """Keep ``flow``'s source; a source that differs from the latest one is a new revision."""
        with self.transaction() as tx:
            return self._save_flow(tx, flow.namespace, flow.id, flow.source)

    def _save_flow(self, tx: Tx, namespace: str, flow_id: str, source: str) -> int:
        while True:  # another process may take the same number at the same time: then look again
            latest = tx.rows("SELECT revision, source FROM flows WHERE namespace = ? AND flow_id = ? "
                             "ORDER BY revision DESC LIMIT 1", (namespace, flow_id))
            if latest and latest[0][1] == source:
                return latest[0][0]
            revision = latest[0][0] + 1 if latest else 1
            if tx.rows("INSERT INTO flows (namespace, flow_id, revision, source, created) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING RETURNING revision",
                       (namespace, flow_id, revision, source, datetime.now(timezone.utc))):
                return revision

    def flow_source(self, namespace: str, flow_id: str, revision: int | None = None) -> str:
        """The YAML of a revision of a flow (the latest when None)."""
        sql = "SELECT source FROM flows WHERE namespace = ? AND flow_id = ?"
        params: tuple = (namespace, flow_id)
        if revision is not None:
            sql, params = sql + " AND revision = ?", (*params, revision)
        with self.transaction(write=False) as tx:
            found = tx.rows(sql + " ORDER BY revision DESC LIMIT 1", params)
        if not found:
            which = f"revision {revision}" if revision is not None else "revision"
            raise UserError(f"no stored {which} of flow {namespace}.{flow_id}")
        return found[0][0]

    def flow_revisions(self, namespace: str, flow_id: str) -> list[int]:
        with self.transaction(write=False) as tx:
            return [r[0] for r in tx.rows("SELECT revision FROM flows WHERE namespace = ? AND flow_id = ? "
                                          "ORDER BY revision", (namespace, flow_id))]

    # -- reading -----------------------------------------------------------------------------------

    def executions(self, flow_id: str | None = None, namespace: str | None = None,
                   state: str | Sequence[str] | None = None, label: str | None = None,
                   since: datetime | None = None, limit: int | None = 50) -> list[StoredExecution]:
        """Stored executions, newest first. ``namespace`` includes its child namespaces;
        ``label`` is ``key=value`` (or ``key``); ``since`` compares the start date."""
        where: list[str] = []
        params: list[Any] = []
        if flow_id:
            where.append("flow_id = ?")
            params.append(flow_id)
        if namespace:
            where.append("(namespace = ? OR substr(namespace, 1, ?) = ?)")
            params += [namespace, len(namespace) + 1, namespace + "."]
        if state:
            wanted = [state] if isinstance(state, str) else list(state)
            where.append(f"state IN ({', '.join('?' * len(wanted))})")
            params += [s.upper() for s in wanted]
        if label:
            key, has_value, value = label.partition("=")
            where.append("id IN (SELECT execution_id FROM execution_labels WHERE key = ?"
                         + (" AND value = ?)" if has_value else ")"))
            params += [key, value] if has_value else [key]
        if since is not None:
            where.append("start_date >= ?")
            params.append(since)
        sql = f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_date DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.transaction(write=False) as tx:
            return [self._execution(row) for row in tx.rows(sql, params)]

    def execution(self, id_or_prefix: str) -> StoredExecution:
        """The execution with this id, or the only one whose id starts with it."""
        sql = f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions WHERE "
        with self.transaction(write=False) as tx:
            found = tx.rows(sql + "id = ?", (id_or_prefix,)) or (
                tx.rows(sql + "substr(id, 1, ?) = ? LIMIT 2", (len(id_or_prefix), id_or_prefix))
                if id_or_prefix else [])
        if len(found) != 1:
            what = "several executions" if found else "no execution"
            raise ExecutionNotFoundError(f"{what} with an id starting '{id_or_prefix}' in the store ({self.url})")
        return self._execution(found[0])

    def _execution(self, row: tuple) -> StoredExecution:
        data = dict(zip(EXECUTION_COLUMNS, row, strict=True))
        history = loads(data["state_history"]) or []
        return StoredExecution(
            id=data["id"], namespace=data["namespace"], flow_id=data["flow_id"], revision=data["revision"],
            state=data["state"], state_history=[(s, required_datetime(at)) for s, at in history],
            start_date=required_datetime(data["start_date"]), end_date=to_datetime(data["end_date"]),
            inputs=loads(data["inputs"], self.home) or {}, labels=loads(data["labels"]) or {},
            trigger=loads(data["trigger"], self.home), original_id=data["original_id"],
            flow_outputs=loads(data["flow_outputs"], self.home) or {}, message=data["message"],
            owner=f"{data['owner_pid']}@{data['owner_host']}" if data["owner_pid"] else None, store=self)

    def _load_taskruns(self, execution_id: str) -> list[StoredTaskRun]:
        """The execution's task runs, in the order they started, their parents linked."""
        with self.transaction(write=False) as tx:
            return read_chunks(self._chunks(tx, TASKRUNS, execution_id), self.home)

    @staticmethod
    def _chunks(tx: Tx, table: str, *execution_ids: str) -> list[str]:
        """The chunks of these executions in ``table``, in order."""
        marks = ", ".join("?" * len(execution_ids))
        return [text for text, in tx.rows(f"SELECT entries FROM {table} WHERE execution_id IN ({marks}) "
                                          "ORDER BY execution_id, seq", execution_ids)]

    def _load_logs(self, execution_id: str) -> list[StoredLog]:
        with self.transaction(write=False) as tx:
            return read_logs(self._chunks(tx, LOGS, execution_id))

    # -- retention -----------------------------------------------------------------------------------

    def purge(self, older_than: timedelta, flow_id: str | None = None,
              namespace: str | None = None) -> dict[str, int]:
        """Remove executions that ended before now - ``older_than``: rows, logs and storage folders."""
        cutoff = datetime.now(timezone.utc) - older_than
        where: list[str] = ["end_date < ?"]
        params: list[Any] = [cutoff]
        if flow_id:
            where.append("flow_id = ?")
            params.append(flow_id)
        if namespace:
            where.append("namespace = ?")
            params.append(namespace)
        terminal = sorted(states.TERMINAL)
        where.append(f"state IN ({', '.join('?' * len(terminal))})")
        params += terminal
        counts = {"executions": 0, "taskruns": 0, "logs": 0, "folders": 0}
        with self.transaction() as tx:
            doomed = tx.rows(f"SELECT id, namespace, flow_id FROM executions WHERE {' AND '.join(where)}", params)
            for start in range(0, len(doomed), 500):
                ids = [row[0] for row in doomed[start:start + 500]]
                marks = ", ".join("?" * len(ids))
                counts["taskruns"] += count_runs(self._chunks(tx, TASKRUNS, *ids))
                counts["logs"] += count_lines(self._chunks(tx, LOGS, *ids))
                for table, column in _PURGED:
                    done = tx.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", ids).rowcount
                    if table == "executions":
                        counts[table] += done
        for execution_id, ns, flow in doomed:
            folder = self.execution_dir(ns, flow, execution_id)
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                counts["folders"] += 1
        return counts

    def delete_executions(self, ids: Sequence[str], rows: bool = True, logs: bool = True,
                          storage: bool = True) -> dict[str, int]:
        """Delete the stored executions ``ids``: their rows (with task runs and labels), their logs and
        their storage folders, as asked. Counts ``executions``, ``logs`` and ``files`` removed."""
        counts = {"executions": 0, "logs": 0, "files": 0}
        found: list[tuple] = []
        with self.transaction() as tx:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start:start + 500])
                marks = ", ".join("?" * len(chunk))
                found += tx.rows(f"SELECT id, namespace, flow_id FROM executions WHERE id IN ({marks})", chunk)
                if logs:
                    counts["logs"] += count_lines(self._chunks(tx, LOGS, *chunk))
                for table, column in _PURGED:
                    if (table == LOGS and not logs) or (table != LOGS and not rows):
                        continue
                    done = tx.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk).rowcount
                    if table == "executions":
                        counts[table] += done
        for execution_id, ns, flow in found if storage else ():
            folder = self.execution_dir(ns, flow, execution_id)
            if folder.is_dir():
                counts["files"] += sum(1 for path in folder.rglob("*") if path.is_file())
                shutil.rmtree(folder, ignore_errors=True)
        return counts

    def delete_logs(self, end: datetime, start: datetime | None = None, namespace: str | None = None,
                    flow_id: str | None = None, levels: Sequence[str] | None = None) -> int:
        """Delete the logs written up to ``end`` (from ``start``): of ``flow_id`` in ``namespace``, or of
        ``namespace`` and its child namespaces; at ``levels`` only when given. Returns how many."""
        until, since = micros(end), micros(start)
        wanted = set(levels or ())

        def doomed(line: list[Any]) -> bool:
            at = line[5]
            return at <= until and (since is None or at >= since) and (not wanted or line[3] in wanted)

        owners: list[str] = []
        params: list[Any] = []
        if flow_id:
            owners.append("flow_id = ?")
            params.append(flow_id)
        if namespace:
            owners.append("(namespace = ?" + (")" if flow_id else " OR substr(namespace, 1, ?) = ?)"))
            params += [namespace] if flow_id else [namespace, len(namespace) + 1, namespace + "."]
        sql = f"SELECT DISTINCT execution_id FROM {LOGS}"
        if owners:
            sql += f" WHERE execution_id IN (SELECT id FROM executions WHERE {' AND '.join(owners)})"
        gone = 0
        with self.transaction() as tx:
            for (execution_id,) in tx.rows(sql, params):
                rest, removed = kept(self._chunks(tx, LOGS, execution_id), doomed)
                if removed:  # the lines left become the execution's first chunk
                    gone += removed
                    tx.execute(f"DELETE FROM {LOGS} WHERE execution_id = ?", (execution_id,))
                    if rest is not None:
                        self._add_chunk(tx, LOGS, execution_id, rest, 0)
        return gone

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
