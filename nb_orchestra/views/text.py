"""A compact text tree of an execution's task runs (terminal, CLI, text/plain)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.execution import Execution, TaskRun

ICONS = {"SUCCESS": "✓", "WARNING": "!", "FAILED": "✗", "KILLED": "■", "SKIPPED": "-",
         "RUNNING": "▶", "RETRYING": "↻", "RESTARTED": "↻", "CREATED": "·", "PAUSED": "‖", "CANCELLED": "■", "QUEUED": "·"}


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{seconds % 60:02.0f}s"


def execution_header(ex: "Execution") -> str:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(ex.counts().items()))
    return (f"{ICONS.get(ex.state, '?')} {ex.namespace}.{ex.flow_id}  {ex.id}  {ex.state}  "
            f"{format_seconds(ex.duration)}" + (f"  ({counts})" if counts else ""))


def execution_tree(ex: "Execution", max_children: int = 50) -> str:
    """The header, then one line per task run nested under its parent.

    Long loops show their first ``max_children`` runs and a count of the rest,
    so a 10,000-iteration ForEach stays readable.
    """
    children: dict[str | None, list["TaskRun"]] = {}
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
    return "\n".join(lines)
