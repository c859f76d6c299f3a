"""Executions as text (terminal, CLI, text/plain): the tree of task runs, log lines, tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..records.states import LOG_LEVELS, TERMINAL
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


_Node = tuple[str, list]  # a line of the tree, and the nodes under it


def execution_tree(ex: ExecutionView, max_children: int = 50) -> str:
    """The header, then one line per task run nested under its parent.

    Each loop is one progress row (``each  RUNNING  ▕████▌     ▏ 27/50 · 4 running``) with its
    failed and running iterations under it and a count of the finished ones; other parents show
    their first ``max_children`` runs and a count of the rest.
    """
    from .loops import MAX_ACTIVE, Item, Loop, is_loop, progress

    children: dict[str | None, list[TaskRunView]] = {}
    for run in ex.taskruns:
        children.setdefault(run.parent_id, []).append(run)

    def runs(kids: list[TaskRunView]) -> list[_Node]:
        more: list[_Node] = [(f"… {len(kids) - max_children} more", [])] if len(kids) > max_children else []
        return [node(run) for run in kids[:max_children]] + more

    def node(run: TaskRunView) -> _Node:
        value = f" [{run.value}]" if run.value is not None else ""
        attempts = f" ×{len(run.attempts)}" if len(run.attempts) > 1 else ""
        message = f"  — {run.message}" if run.message else ""
        kids = children.get(run.id, [])
        head = f"{ICONS.get(run.state, '?')} {run.task_id}{value}  {run.state}{attempts}"
        if not is_loop(kids, run):
            reported: list[_Node] = [(line, [])] if (line := metrics_line(run)) else []
            return f"{head}  {format_seconds(run.duration)}{message}", reported + runs(kids)
        loop = Loop(kids, run, max_children)
        shown = progress(ex, run, loop)
        failed, running, finished = loop.failed, loop.running, loop.finished_count
        under = [item_node(item) for item in failed[:MAX_ACTIVE] + running[-MAX_ACTIVE:]]
        under += [(f"… {n} more {what}", []) for n, what in ((len(failed) - MAX_ACTIVE, "failed"),
                                                              (len(running) - MAX_ACTIVE, "running")) if n > 0]
        if finished:  # listed (the first ones) once the execution ended, counted while it runs
            listed = [item_node(item) for item in loop.finished] if ex.state in TERMINAL else []
            rest: list[_Node] = [(f"… {finished - max_children} more", [])] if len(listed) < finished else []
            under.append((f"{finished} finished", listed + rest if listed else []))
        return (f"{head}  {shown.bar()} {' · '.join(shown.parts())}  {format_seconds(run.duration)}{message}",
                under)

    def item_node(item: Item) -> _Node:
        if item.value is None:
            return node(item.runs[0])
        return f"{ICONS.get(item.state, '?')} [{item.value}]  {item.state}", runs(item.runs)

    lines = [execution_header(ex)]

    def walk(nodes: list[_Node], indent: str) -> None:
        for i, (line, under) in enumerate(nodes):
            last = i == len(nodes) - 1
            lines.append(f"{indent}{'└─' if last else '├─'} {line}")
            walk(under, indent + ("   " if last else "│  "))

    walk(runs(children.get(None, [])), "")
    return mask("\n".join(lines), ex.secrets)


MAX_METRICS = 8  # metrics named on a task's line; the rest counted


def metrics_line(run: TaskRunView) -> str:
    """``metrics: rows=42 · duration=1.2s`` for a run that reported metrics, else "". Tags are
    named only where one name has several: ``rows{table=a}=3 · rows{table=b}=4``."""
    metrics = run.metrics or []
    names = [entry["name"] for entry in metrics]
    parts = []
    for entry in metrics[:MAX_METRICS]:
        tags = entry.get("tags") or {}
        label = entry["name"]
        if tags and names.count(label) > 1:
            label += "{" + ",".join(f"{k}={v}" for k, v in tags.items()) + "}"
        value = entry["value"]
        shown = format_seconds(value) if entry["type"] == "timer" else _number(value)
        parts.append(f"{label}={shown}")
    if len(metrics) > MAX_METRICS:
        parts.append(f"… {len(metrics) - MAX_METRICS} more")
    return "metrics: " + " · ".join(parts) if parts else ""


def _number(value: float) -> str:
    """42, 3.5, 0.125, 2e-05: integral values without a fraction, others to three decimals at most
    (three significant digits below a thousandth)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) < 0.001:
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def log_line(record: LogView) -> str:
    """One log line as the command line and ``%flow logs`` print it: ``12:00:01 INFO  task[value]: message``."""
    value = f"[{record.value}]" if record.value is not None else ""
    return f"{record.timestamp:%H:%M:%S} {record.level:<5} {record.task_id or '-'}{value}: {record.message}"


def log_lines(records: Iterable[LogView], level: str = "TRACE", task_id: str | None = None) -> list[str]:
    """The lines of the records at ``level`` or above; only ``task_id``'s when it is given; then a note
    of the lines the level hides ("3 DEBUG lines hidden: --level DEBUG shows them")."""
    lowest = LOG_LEVELS.index(level)
    mine = [record for record in records if not task_id or record.task_id == task_id]
    shown = [log_line(record) for record in mine if LOG_LEVELS.index(record.level) >= lowest]
    hidden: dict[str, int] = {}
    for record in mine:
        if LOG_LEVELS.index(record.level) < lowest:
            hidden[record.level] = hidden.get(record.level, 0) + 1
    if hidden:
        counts = ", ".join(f"{n} {lvl}" for lvl, n in sorted(hidden.items(), key=lambda i: LOG_LEVELS.index(i[0])))
        lowest_hidden = min(hidden, key=LOG_LEVELS.index)
        shown.append(f"({counts} {plural(sum(hidden.values()), 'line')} hidden: --level {lowest_hidden} shows them)")
    return shown


def plural(count: int, word: str) -> str:
    """``word`` as it goes with ``count``: 1 task, 2 tasks."""
    return word if count == 1 else f"{word}s"


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
