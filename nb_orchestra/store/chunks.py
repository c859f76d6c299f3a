"""What task-run and log chunks share: bounded pieces, merging, and
moving version-1 rows (one per task run or log line) into chunks.

A chunk is one row of an execution's JSON array of entries (taskrun_chunks.py, log_chunks.py):
one statement per flush instead of one per row. SQLite releases the interpreter lock around every
statement, so a row per entry made the writer thread trade the lock with a busy engine once per
row and barely run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from ..records.clock import micros
from .serialize import json_text

# Entries per chunk at most: a flush is written piece by piece, in bounded memory (the JSON encoder
# holds a small string per value until it joins them: about 1.5 KB per entry while a chunk is made).
CHUNK_SIZE = 250

# Chunks written by one statement at most. SQLite lets go of the interpreter lock around each
# statement, and while the engine is busy getting it back takes the writer a switch interval (5 ms):
# a statement per chunk capped the writer at about 150 chunks a second, fewer than a busy loop makes.
CHUNKS_PER_STATEMENT = 8

Entry = list[Any]


def pieces(items: list[Any]) -> Iterator[list[Any]]:
    """``items`` in lists of ``CHUNK_SIZE`` at most."""
    for start in range(0, len(items), CHUNK_SIZE):
        yield items[start:start + CHUNK_SIZE]


def groups(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    """``texts`` in lists of ``size`` at most, taken as they come (they are made one at a time)."""
    found = iter(texts)
    while group := list(islice(found, size)):
        yield group


def entries(texts: Iterable[str], load: Callable[[str], list[Entry]] = json.loads) -> Iterator[Entry]:
    """The entries of these chunks, in order (``load`` reads one chunk's text)."""
    for text in texts:
        yield from load(text)


def latest(found: Iterable[Entry]) -> dict[str, Entry]:
    """Entries by id (their first field): a later write wins, a known id keeps its place."""
    return {entry[0]: entry for entry in found}


def move_rows(tx: Any, select: str, entry_of: Callable[[tuple], Entry], table: str, chunks: str) -> None:
    """Rows of a version-1 ``table`` (``select`` gives the execution id first, ordered by it) as one chunk
    per execution in ``chunks``; then ``table`` goes."""
    execution_id: str | None = None
    found: list[Entry] = []
    for row in [*tx.execute(select).fetchall(), (None,)]:
        if row[0] != execution_id and found:
            tx.execute(f"INSERT INTO {chunks} (execution_id, seq, entries) VALUES (?, 0, ?)",
                       (execution_id, json_text(found)))
            found = []
        execution_id = row[0]
        if execution_id is not None:
            found.append(entry_of(row[1:]))
    tx.execute(f"DROP TABLE {table}")


def v1_micros(value: Any) -> int | None:
    """A version-1 date: ISO text (SQLite, attempts), a datetime (PostgreSQL, older attempts) or None."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return micros(value)
