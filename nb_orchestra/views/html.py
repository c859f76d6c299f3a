"""HTML pictures of an execution: the progress tree, and a report with outputs.

Pure functions of the execution's current state: front ends call them on
their own clock (a few times a second at most), never per event. Colours
and icons come with the state's name in text, so the tree still reads where
styles are stripped (GitHub's notebook viewer).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING, Any

from ..records import states
from ..secrets import mask
from .svg import STATE_COLORS
from .text import ICONS, format_seconds

if TYPE_CHECKING:
    from ..records.execution import ExecutionView, LogView, TaskRunView

MAX_CHILDREN = 50       # task runs (or loop values) shown under one parent
MAX_LOG_LINES = 20      # log lines shown per task run (the last ones)

STYLE = """<style>
.nbo-exec{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.45}
.nbo-exec .nbo-head{margin-bottom:4px}
.nbo-exec .nbo-badge{color:#fff;border-radius:3px;padding:1px 6px;font-weight:600;font-size:12px}
.nbo-exec ul{list-style:none;margin:0;padding-left:18px}
.nbo-exec>ul{padding-left:2px}
.nbo-exec .nbo-state{font-size:11px;font-weight:600}
.nbo-exec .nbo-meta{color:#777;font-size:11px}
.nbo-exec .nbo-msg{color:#b00020}
.nbo-exec details{margin-left:18px}
.nbo-exec summary{cursor:pointer;color:#555;font-size:11px}
.nbo-exec pre{margin:2px 0;font-size:11px;white-space:pre-wrap}
.nbo-exec .nbo-lvl-ERROR{color:#b00020}.nbo-exec .nbo-lvl-WARN{color:#a15c00}
.nbo-exec table{border-collapse:collapse;margin-top:6px}
.nbo-exec td,.nbo-exec th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
</style>"""


def _color(state: str) -> str:
    return STATE_COLORS.get(state, "#888")


def state_badge(state: str) -> str:
    return f'<span class="nbo-badge" style="background:{_color(state)}">{ICONS.get(state, "?")} {escape(state)}</span>'


def execution_header_html(ex: ExecutionView) -> str:
    counts = ", ".join(f"{n} {escape(state)}" for state, n in sorted(ex.counts().items()))
    return (f'<div class="nbo-head">{state_badge(ex.state)} <b>{escape(ex.namespace)}.{escape(ex.flow_id)}</b> '
            f'<code>{escape(ex.id)}</code> <span class="nbo-meta">{format_seconds(ex.duration)}'
            f'{" · " + counts if counts else ""}</span></div>')


def execution_html(ex: ExecutionView) -> str:
    """The live progress tree: header, then task runs nested under their parents."""
    children: dict[str | None, list[TaskRunView]] = {}
    for run in ex.taskruns:
        children.setdefault(run.parent_id, []).append(run)
    logs: dict[str | None, list[LogView]] = {}
    for record in ex.logs:
        logs.setdefault(record.taskrun_id, []).append(record)
    body = _runs_html(children.get(None, []), None, children, logs)
    general = _logs_html(logs.get(None, []), ex.state == states.KILLED)
    return mask(f'<div class="nbo-exec">{STYLE}{execution_header_html(ex)}{general}{body}</div>', ex.secrets)


def _runs_html(runs: list[TaskRunView], parent: TaskRunView | None, children: dict, logs: dict) -> str:
    """The children ``runs`` of ``parent`` (None for the top-level runs)."""
    if not runs:
        return ""
    if any(run.value is not None and (parent is None or parent.value != run.value) for run in runs):
        return _loop_groups_html(runs, children, logs)
    items = [_run_html(run, children, logs) for run in runs[:MAX_CHILDREN]]
    return "<ul>" + "".join(items) + _more(len(runs) - MAX_CHILDREN, "task runs") + "</ul>"


def _loop_groups_html(runs: list[TaskRunView], children: dict, logs: dict) -> str:
    """ForEach children grouped under one row per loop value."""
    groups: dict[str | None, list[TaskRunView]] = {}
    for run in runs:
        groups.setdefault(run.value, []).append(run)
    items = []
    for value, group in list(groups.items())[:MAX_CHILDREN]:
        state = _group_state(group)
        inner = "".join(_run_html(run, children, logs) for run in group)
        items.append(f'<li><span style="color:{_color(state)}">{ICONS.get(state, "?")}</span> '
                     f'<b>[{escape(str(value))}]</b> <span class="nbo-state" style="color:{_color(state)}">'
                     f'{escape(state)}</span><ul>{inner}</ul></li>')
    return "<ul>" + "".join(items) + _more(len(groups) - MAX_CHILDREN, "values") + "</ul>"


def _group_state(group: list[TaskRunView]) -> str:
    if any(run.state not in states.TERMINAL for run in group):
        return states.RUNNING
    state = states.SUCCESS
    for run in group:
        state = states.worst(state, run.state)
    return state


def _run_html(run: TaskRunView, children: dict, logs: dict) -> str:
    color = _color(run.state)
    attempts = f" · {len(run.attempts)} attempts" if len(run.attempts) > 1 else ""
    message = f' <span class="nbo-msg">{escape(run.message)}</span>' if run.message else ""
    return (f'<li><span style="color:{color}">{ICONS.get(run.state, "?")}</span> {escape(run.task_id)} '
            f'<span class="nbo-state" style="color:{color}">{escape(run.state)}</span> '
            f'<span class="nbo-meta">{format_seconds(run.duration)}{attempts}</span>{message}'
            f'{_logs_html(logs.get(run.id, []), run.state == states.FAILED)}'
            f'{_runs_html(children.get(run.id, []), run, children, logs)}</li>')


def _logs_html(records: list[LogView], expanded: bool) -> str:
    if not records:
        return ""
    shown = records[-MAX_LOG_LINES:]
    lines = "\n".join(f'<span class="nbo-lvl-{escape(r.level)}">{r.timestamp:%H:%M:%S} {escape(r.level):<5} '
                      f'{escape(r.message)}</span>' for r in shown)
    hidden = f" (last {len(shown)})" if len(records) > len(shown) else ""
    return (f'<details{" open" if expanded else ""}><summary>{len(records)} log line'
            f'{"s" if len(records) != 1 else ""}{hidden}</summary><pre>{lines}</pre></details>')


def _more(count: int, what: str) -> str:
    return f'<li class="nbo-meta">… {count} more {what}</li>' if count > 0 else ""


def outputs_table_html(outputs: dict[str, Any], title: str = "Outputs", secrets: Iterable[str] = ()) -> str:
    """Outputs as text, with the execution's secret values masked (the table ends up in saved notebooks)."""
    if not outputs:
        return ""
    rows = "".join(f"<tr><td><code>{escape(mask(str(key), secrets))}</code></td>"
                   f"<td><pre>{escape(_short(value, secrets))}</pre></td></tr>" for key, value in outputs.items())
    return f"<table><tr><th>{escape(title)}</th><th>value</th></tr>{rows}</table>"


def _short(value: Any, secrets: Iterable[str], limit: int = 400) -> str:
    """The value as JSON text, masked, then cut to ``limit`` (cut first, a secret could show its start)."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    text = mask(text, secrets)
    return text if len(text) <= limit else text[:limit] + "…"


def execution_report_html(ex: ExecutionView) -> str:
    """The finished execution: tree, task outputs, flow outputs."""
    tree = execution_html(ex)
    tables = (outputs_table_html(dict(ex.outputs), secrets=ex.secrets)
              + outputs_table_html(ex.flow_outputs, "Flow outputs", ex.secrets))
    return tree[:-len("</div>")] + tables + "</div>"


def table_html(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A plain HTML table (for lists of flows and executions)."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="nbo-exec">{STYLE}<table><tr>{head}</tr>{body}</table></div>'
