"""Task runs at rest: JSON arrays per execution and flush, as Kestra keeps an execution as a document.

A chunk holds the task runs one flush wrote of one execution: the new ones in
the order they started, then the older ones that changed. A task run written
again (RUNNING, then SUCCESS) appears in several chunks; reading merges them
in order, so the last one wins and the first one sets its place (chunks.py).
Building an entry is a list of the run's fields: the C JSON encoder does the rest.

An entry is a list, in this order; dates are whole microseconds since the Unix epoch:

    id, task_id, task_type, value, iteration, parent_id, path, state,
    attempts [[state, start, end], ...], start_date, end_date, outputs, metrics, message

``outputs`` and ``metrics`` are stored values (serialize.py: tagged JSON,
files for what JSON cannot hold); texts that could hold a secret are masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from ..records.clock import micros, moment, seconds_micros
from ..records.execution import AttrDict
from ..records.states import TERMINAL
from .chunks import Entry, entries, latest, move_rows, pieces, v1_micros
from .records import StoredAttempt, StoredTaskRun
from .serialize import Encoder, json_text, loads, native


class ChunkWriter:
    """Entries of the task runs of one execution, masked with its secrets (``encode``); ``unfinished``
    gathers the ids of the runs it wrote before they ended."""

    def __init__(self, encode: Encoder):
        self.encode = encode
        self.unfinished: set[str] = set()

    def texts(self, runs: list[Any]) -> Iterator[str]:
        """Chunks of these task runs, made one at a time as they are written."""
        for piece in pieces(runs):
            yield json_text([self._entry(run) for run in piece])

    def _entry(self, run: Any) -> Entry:
        # The hot path of recording a loop: a Return's outputs are JSON as they are, with nothing to mask.
        encode = self.encode
        outputs, value, path, message = run.outputs, run.value, run.path, run.message
        if outputs is not None:
            # a plain dict: the JSON encoder looks up an AttrDict's items through its Python __getattribute__
            outputs = encode.encode(outputs, (run.id,)) if encode.secrets or not native(outputs) else {**outputs}
        if encode.secrets:
            value = encode.mask(value) if value is not None else None
            path = [encode.mask(key) for key in path]
            message = encode.mask(message) if message is not None else None
        parent, state, began, ended = run.parent, run.state, run.began, run.ended
        if state not in TERMINAL:
            self.unfinished.add(run.id)
        start, end = seconds_micros(began), seconds_micros(ended)
        # A run's first attempt starts with it and its last ends with it: the same floats, converted once.
        attempts = [[a.state, start if a.began is began else seconds_micros(a.began),
                     end if a.ended is ended else seconds_micros(a.ended)] for a in run.attempts]
        return [run.id, run.task_id, run.task_type, value, run.iteration, parent.id if parent else None, path,
                state, attempts, start, end, outputs, encode.encode(run.metrics) if run.metrics else None, message]


def read_chunks(texts: Iterable[str], home: Path | None) -> list[StoredTaskRun]:
    """The task runs of one execution from its chunks, oldest chunk first; parents are linked."""
    runs = [_stored(entry) for entry in latest(entries(texts, partial(loads, home=home))).values()]
    by_id = {run.id: run for run in runs}
    for run in runs:
        run.parent = by_id.get(run.parent_id) if run.parent_id else None
    return runs


def _stored(entry: Entry) -> StoredTaskRun:
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
    ended = set(terminal)
    open_runs = [entry for entry in latest(entries(texts)).values() if entry[7] not in ended]
    for entry in open_runs:
        entry[7], entry[10] = kill_state, micros(at)
    return json_text(open_runs) if open_runs else None


def count_runs(texts: Iterable[str]) -> int:
    """How many task runs these chunks hold (one written twice counts once)."""
    return len(latest(entries(texts)))


_V1_COLUMNS = "id, task_id, task_type, value, iteration, parent_id, path, state, attempts, start_date, end_date, " \
              "outputs, metrics, message"


def convert_taskruns_table(tx: Any) -> None:
    """Migration 2: the rows of the version-1 ``taskruns`` table (one per task run) become one chunk
    per execution, in their order; then the table goes."""
    move_rows(tx, f"SELECT execution_id, {_V1_COLUMNS} FROM taskruns ORDER BY execution_id, seq", _v1_entry,
              "taskruns", "taskrun_chunks")


def _v1_entry(row: tuple) -> Entry:
    """A version-1 row as an entry; stored values (outputs, metrics) move over as they are."""
    (id_, task_id, task_type, value, iteration, parent_id, path, state, attempts, start, end, outputs, metrics,
     message) = row
    return [id_, task_id, task_type, value, iteration, parent_id, json.loads(path) if path else [], state,
            [[a["state"], v1_micros(a["start_date"]), v1_micros(a["end_date"])] for a in loads(attempts) or []],
            v1_micros(start), v1_micros(end), json.loads(outputs) if outputs is not None else None,
            json.loads(metrics) if metrics else None, message]
