"""Task runs at rest: one JSON array per execution and flush, as Kestra keeps an execution as a document.

A chunk holds the task runs one flush wrote of one execution: the new ones in
the order they started, then the older ones that changed. A task run written
again (RUNNING, then SUCCESS) appears in several chunks; reading merges them
in order, so the last one wins and the first one sets its place. One wide row
per flush costs the store a fraction of a row per task run, and building an
entry is a list of the run's fields: the C JSON encoder does the rest.

An entry is a list, in this order (``FIELDS``); dates are whole microseconds
since the Unix epoch (exact, and cheap to write):

    id, task_id, task_type, value, iteration, parent_id, path, state,
    attempts [[state, start, end], ...], start_date, end_date, outputs, metrics, message

``outputs`` and ``metrics`` are stored values (serialize.py: tagged JSON,
files for what JSON cannot hold); texts that could hold a secret are masked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..records.execution import AttrDict
from .records import StoredAttempt, StoredTaskRun
from .serialize import Encoder, json_text, loads, native

# Entries per chunk at most: a flush is written piece by piece, in bounded memory (the JSON encoder
# holds a small string per value until it joins them: about 1.5 KB per entry while a chunk is made).
CHUNK_SIZE = 250

FIELDS = ("id", "task_id", "task_type", "value", "iteration", "parent_id", "path", "state", "attempts",
          "start_date", "end_date", "outputs", "metrics", "message")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime | None) -> int | None:
    """A datetime as whole microseconds since the epoch (naive ones are local time)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone(timezone.utc)
    return (moment - _EPOCH) // _MICROSECOND


def moment(value: int | None) -> datetime | None:
    """:func:`micros` back: an aware UTC datetime."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def pieces(items: list[Any]) -> Iterator[list[Any]]:
    """``items`` in lists of ``CHUNK_SIZE`` at most."""
    for start in range(0, len(items), CHUNK_SIZE):
        yield items[start:start + CHUNK_SIZE]


class ChunkWriter:
    """Entries of the task runs of one execution, masked with its secrets (``encode``)."""

    def __init__(self, encode: Encoder):
        self.encode = encode

    def texts(self, runs: list[Any]) -> Iterator[str]:
        """Chunks of these task runs, made one at a time as they are written."""
        entry = self._plain if not self.encode.secrets else self._masked
        for piece in pieces(runs):
            yield json_text([entry(run) for run in piece])

    def _plain(self, run: Any) -> list[Any]:
        # The hot path of recording a loop: a Return's outputs are JSON as they are.
        outputs = run.outputs
        if outputs is not None and not native(outputs):
            outputs = self.encode.encode(outputs, (run.id,))
        parent = run.parent
        return [run.id, run.task_id, run.task_type, run.value, run.iteration, parent.id if parent else None,
                run.path, run.state, [[a.state, micros(a.start_date), micros(a.end_date)] for a in run.attempts],
                micros(run.start_date), micros(run.end_date), outputs,
                self.encode.encode(run.metrics) if run.metrics else None, run.message]

    def _masked(self, run: Any) -> list[Any]:
        entry = self._plain(run)
        mask, encode = self.encode.mask, self.encode.encode
        entry[3] = mask(run.value) if run.value is not None else None
        entry[6] = [mask(key) for key in run.path]
        entry[11] = encode(run.outputs, (run.id,)) if run.outputs is not None else None
        entry[13] = mask(run.message) if run.message is not None else None
        return entry


def read_chunks(texts: Iterable[str], home: Path | None) -> list[StoredTaskRun]:
    """The task runs of one execution from its chunks, oldest chunk first; parents are linked."""
    latest: dict[str, list[Any]] = {}
    for text in texts:
        for entry in loads(text, home):
            latest[entry[0]] = entry  # a later write wins; a known id keeps its place
    runs = [_stored(entry) for entry in latest.values()]
    by_id = {run.id: run for run in runs}
    for run in runs:
        run.parent = by_id.get(run.parent_id) if run.parent_id else None
    return runs


def _stored(entry: list[Any]) -> StoredTaskRun:
    (id_, task_id, task_type, value, iteration, parent_id, path, state, attempts, start, end, outputs, metrics,
     message) = entry
    return StoredTaskRun(
        id=id_, task_id=task_id, task_type=task_type, value=value, iteration=iteration, parent_id=parent_id,
        path=tuple(path), state=state,
        attempts=[StoredAttempt(a_state, moment(a_start), moment(a_end)) for a_state, a_start, a_end in attempts],
        start_date=moment(start), end_date=moment(end), outputs=AttrDict(outputs) if outputs is not None else None,
        metrics=metrics or [], message=message)


def killed(texts: Iterable[str], at: datetime, terminal: Iterable[str], kill_state: str) -> str | None:
    """A chunk marking the unfinished task runs of these chunks ``kill_state``, ended ``at`` (None when
    every run had ended). Reads the entries as stored: nothing is decoded or re-encoded."""
    latest: dict[str, list[Any]] = {}
    for text in texts:
        for entry in json.loads(text):
            latest[entry[0]] = entry
    ended = set(terminal)
    open_runs = [entry for entry in latest.values() if entry[7] not in ended]
    for entry in open_runs:
        entry[7], entry[10] = kill_state, micros(at)
    return json_text(open_runs) if open_runs else None


_V1_COLUMNS = "id, task_id, task_type, value, iteration, parent_id, path, state, attempts, start_date, end_date, " \
              "outputs, metrics, message"


def convert_taskruns_table(tx: Any) -> None:
    """Migration 2: the rows of the version-1 ``taskruns`` table (one per task run) become one chunk
    per execution, in their order; then the table goes."""
    move_rows(tx, f"SELECT execution_id, {_V1_COLUMNS} FROM taskruns ORDER BY execution_id, seq", _v1_entry,
              "taskruns", "taskrun_chunks")


def move_rows(tx: Any, select: str, entry_of: Callable[[tuple], list[Any]], table: str, chunks: str) -> None:
    """Rows of a version-1 ``table`` (``select`` gives the execution id first, ordered by it) as one chunk
    per execution in ``chunks``; then ``table`` goes."""
    execution_id: str | None = None
    entries: list[list[Any]] = []
    for row in [*tx.execute(select).fetchall(), (None,)]:
        if row[0] != execution_id and entries:
            tx.execute(f"INSERT INTO {chunks} (execution_id, seq, entries) VALUES (?, 0, ?)",
                       (execution_id, json_text(entries)))
            entries = []
        execution_id = row[0]
        if execution_id is not None:
            entries.append(entry_of(row[1:]))
    tx.execute(f"DROP TABLE {table}")


def _v1_entry(row: tuple) -> list[Any]:
    """A version-1 row as an entry; stored values (outputs, metrics) move over as they are."""
    (id_, task_id, task_type, value, iteration, parent_id, path, state, attempts, start, end, outputs, metrics,
     message) = row
    return [id_, task_id, task_type, value, iteration, parent_id, json.loads(path) if path else [], state,
            [[a["state"], v1_micros(a["start_date"]), v1_micros(a["end_date"])] for a in loads(attempts) or []],
            v1_micros(start), v1_micros(end), json.loads(outputs) if outputs is not None else None,
            json.loads(metrics) if metrics else None, message]


def v1_micros(value: Any) -> int | None:
    """A version-1 date: ISO text (SQLite, attempts), a datetime (PostgreSQL, older attempts) or None."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return micros(value)


def count_runs(texts: Iterable[str]) -> int:
    """How many task runs these chunks hold (one written twice counts once)."""
    return len({entry[0] for text in texts for entry in json.loads(text)})
