"""Log lines at rest: JSON arrays of lines, one or more per execution and flush, like task runs
(chunks.py). A line is a list:

    task_id, taskrun_id, value, level, message, timestamp (microseconds since the epoch)

Lines are only ever appended, so reading is the chunks' lines in order. Deleting
some (``PurgeLogs``) rewrites the chunks of the executions concerned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..records.clock import micros, moment, seconds_micros
from .chunks import Entry, entries, move_rows, pieces, v1_micros
from .records import StoredLog
from .serialize import Encoder, json_text


def log_texts(logs: list[Any], encode: Encoder) -> Iterator[str]:
    """Chunks of these log lines (masked), made one at a time as they are written."""
    mask = encode.mask
    for piece in pieces(logs):
        yield json_text([[log.task_id, log.taskrun_id, mask(log.value) if log.value is not None else None,
                          log.level, mask(log.message), seconds_micros(log.at)] for log in piece])


def read_logs(texts: Iterable[str]) -> list[StoredLog]:
    """The log lines of one execution from its chunks, in order."""
    return [StoredLog(task_id=task_id, taskrun_id=taskrun_id, value=value, level=level, message=message,
                      timestamp=moment(at))  # type: ignore[arg-type]  # a line always has its time
            for task_id, taskrun_id, value, level, message, at in entries(texts)]


def line(level: str, message: str, at: Any) -> str:
    """A chunk of one line of the execution itself (no task), e.g. why it was killed."""
    return json_text([[None, None, None, level, message, micros(at)]])


def kept(texts: Iterable[str], doomed: Callable[[Entry], bool]) -> tuple[str | None, int]:
    """The chunks without the lines ``doomed`` picks, as one chunk (None when none is left), and how
    many went."""
    keep: list[Entry] = []
    gone = 0
    for entry in entries(texts):
        if doomed(entry):
            gone += 1
        else:
            keep.append(entry)
    return (json_text(keep) if keep else None), gone


def count_lines(texts: Iterable[str]) -> int:
    return sum(1 for _ in entries(texts))


def convert_logs_table(tx: Any) -> None:
    """Migration 2: the rows of the version-1 ``logs`` table become one chunk per execution."""
    move_rows(tx, "SELECT execution_id, task_id, taskrun_id, value, level, message, timestamp FROM logs "
                  "ORDER BY execution_id, seq",
              lambda row: [*row[:5], v1_micros(row[5])], "logs", "log_chunks")
