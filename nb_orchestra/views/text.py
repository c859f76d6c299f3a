"""Executions as text (terminal, CLI, text/plain): the tree of task runs, log lines, tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..records.states import LOG_LEVELS
from ..secrets import mask

if TYPE_CHECKING:
    from ..records.execution import ExecutionView, LogView, TaskRunView

ICONS = {"SUCCESS": "✓", "WARNING": "!", "FAILED": "✗", "KILLED": "■", "SKIPPED": "-",
         "RUNNING": "▶", "RETRYING": "↻", "RESTARTED": "↻", "CREATED": "·", "PAUSED": "‖", "CANCELLED": "■",
         "QUEUED": "·"}


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{seconds % 60:02.0f}s"


def execution_header(ex: ExecutionView) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(ex.counts().items()))
    return (f"{ICONS.get(ex.state, '?')} {ex.namespace}.{ex.flow_id}  {ex.id}  {ex.state}  "
            f"{format_seconds(ex.duration)}" + (f"  ({counts})" if counts else ""))


def execution_tree(ex: ExecutionView, max_children: int = 50) -> str:
    """The header, then one line per task run nested under its parent.

    Long loops show their first ``max_children`` runs and a count of the rest,
    so a 10,000-iteration ForEach stays readable.
    """
    children: dict[str | None, list[TaskRunView]] = {}
    for run in ex.taskruns:
        children.setdefault(run.parent_id, []).append(run)
    lines = [execution_header(ex)]

    def walk(parent_id: str | None, indent: str) -> None:
        runs = children.get(parent_id, [])
        shown = runs[:max_children]
        for i, run in enumerate(shown):
            last = i == len(shown) - 1 and len(runs) <= max_children
            value = f" [{run.value}]" if run.value is not None else ""
            attempts = f" ×{len(run.attempts)}" if len(run.attempts) > 1 else ""
            message = f"  — {run.message}" if run.message else ""
            lines.append(f"{indent}{'└─' if last else '├─'} {ICONS.get(run.state, '?')} {run.task_id}{value}  "
                         f"{run.state}{attempts}  {format_seconds(run.duration)}{message}")
            walk(run.id, indent + ("   " if last else "│  "))
        if len(runs) > max_children:
            lines.append(f"{indent}└─ … {len(runs) - max_children} more")

    walk(None, "")
    return mask("\n".join(lines), ex.secrets)


def log_line(record: LogView) -> str:
    """One log line as the command line and ``%flow logs`` print it: ``12:00:01 INFO  task[value]: message``."""
    value = f"[{record.value}]" if record.value is not None else ""
    return f"{record.timestamp:%H:%M:%S} {record.level:<5} {record.task_id or '-'}{value}: {record.message}"


def log_lines(records: Iterable[LogView], level: str = "TRACE", task_id: str | None = None) -> list[str]:
    """The lines of the records at ``level`` or above; only ``task_id``'s when it is given."""
    lowest = LOG_LEVELS.index(level)
    return [log_line(record) for record in records
            if LOG_LEVELS.index(record.level) >= lowest and (not task_id or record.task_id == task_id)]


EXECUTION_COLUMNS = ("id", "flow", "state", "started (UTC)", "duration", "labels")


def execution_row(ex: ExecutionView) -> tuple[str, ...]:
    """One execution as a row under :data:`EXECUTION_COLUMNS`."""
    return (ex.id, f"{ex.namespace}.{ex.flow_id}", ex.state, f"{ex.start_date:%Y-%m-%d %H:%M:%S}",
            format_seconds(ex.duration), ", ".join(f"{k}={v}" for k, v in ex.labels.items()))


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The headers, then the rows, each column padded to its widest cell."""
    lines = [list(map(str, headers)), *(list(map(str, row)) for row in rows)]
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines)
