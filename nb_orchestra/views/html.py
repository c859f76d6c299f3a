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
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..internal_storage import preview
from ..records import states
from ..secrets import mask
from .loops import MAX_ACTIVE, Item, Loop, grouped, is_loop, members, progress
from .svg import STATE_COLORS
from .text import ICONS, format_seconds, metrics_line

if TYPE_CHECKING:
    from ..records.execution import ExecutionView, LogView, TaskRunView

MAX_CHILDREN = 50       # task runs (or loop values) shown under one parent
MAX_LOG_LINES = 20      # log lines shown per task run (the last ones)
MAX_PREVIEWS = 5        # file outputs previewed per task in the report
LIVE_HEIGHT = 420       # pixels: the height of a running tree, newest activity at the bottom
_TASKRUN_ID = attrgetter("taskrun_id")  # what log lines are grouped by

# Styles are inline: JupyterLab drops <style> from untrusted outputs (nbconvert and GitHub keep
# attributes), and its sanitizer drops declarations with var(). So coloured text is never set
# on the page's background, whose theme is unknown: states are badges (white on a colour dark
# enough for it), error text takes the theme's own colour beside a red rule, and muted text is
# faded rather than greyed.

# Kestra's state colours (views/svg.py) darkened where needed so white text on them reads at
# >= 4.5:1 (WCAG AA), in every theme.
BADGE_COLORS: dict[str, str] = {
    **STATE_COLORS,
    "QUEUED": "#756E93", "PAUSED": "#756E93", "RETRYING": "#756E93", "RETRIED": "#756E93",
    "CANCELLED": "#756E93", "SKIPPED": "#776E9C",
    "SUCCESS": "#028561", "WARNING": "#BE5200", "KILLED": "#8C7000",
}
_UNKNOWN_BADGE = "#756E93"
ERROR_RULE = f"border-left:3px solid {BADGE_COLORS['FAILED']};padding-left:4px"
BORDER = "var(--jp-border-color2,#ddd)"
_UL = ' style="list-style:none;margin:0;padding-left:18px"'
_LI = ' style="list-style:none;margin:0"'
_META = "opacity:0.7;font-size:11px"
_MONO = "font-family:var(--jp-code-font-family,monospace);white-space:pre"
STYLE = f"""<style>
.nbo-exec table{{border-collapse:collapse;margin-top:6px}}
.nbo-exec td,.nbo-exec th{{border:1px solid {BORDER};padding:2px 6px;text-align:left;vertical-align:top}}
</style>"""
_ROOT = ("font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.45;"
         "color:var(--jp-ui-font-color1,#1f2430)")
_LEVEL_STATES = {"ERROR": "FAILED", "WARN": "WARNING"}


def badge(text: str, state: str, size: int = 11) -> str:
    """``text`` in white on the colour of ``state`` (escaped)."""
    return (f'<span class="nbo-state" style="background:{BADGE_COLORS.get(state, _UNKNOWN_BADGE)};color:#fff;'
            f'border-radius:3px;padding:0 4px;font-size:{size}px;font-weight:600">{escape(text)}</span>')


def state_badge(state: str) -> str:
    return (f'<span class="nbo-badge" style="background:{BADGE_COLORS.get(state, _UNKNOWN_BADGE)};color:#fff;'
            f'border-radius:3px;padding:1px 6px;font-weight:600;font-size:12px">{ICONS.get(state, "?")} '
            f"{escape(state)}</span>")


def _icon(state: str) -> str:
    return ICONS.get(state, "?")


def error_text(text: str, tag: str = "span", css: str = "") -> str:
    """A message in the theme's text colour, marked by a red rule (readable in any theme)."""
    return f'<{tag} class="nbo-msg" style="{ERROR_RULE}{css}">{escape(text)}</{tag}>'


def _meta(text: str) -> str:
    return f'<span class="nbo-meta" style="{_META}">{text}</span>' if text else ""


def execution_header_html(ex: ExecutionView) -> str:
    done = sum(1 for run in ex.taskruns if run.state in states.TERMINAL)
    counts = ", ".join(f"{n} {escape(state)}" for state, n in sorted(ex.counts().items()))
    totals = f"{done}/{len(ex.taskruns)} task runs done · {counts}" if ex.taskruns else ""
    return (f'<div class="nbo-head" style="margin-bottom:4px">{state_badge(ex.state)} '
            f'<b>{escape(ex.namespace)}.{escape(ex.flow_id)}</b> <code>{escape(ex.id)}</code> '
            f'{_meta(format_seconds(ex.duration) + (" · " + totals if totals else ""))}</div>')


class _Tree:
    """One drawing of an execution: its task runs by parent, its log lines by task run."""

    def __init__(self, ex: ExecutionView):
        self.ex = ex
        self.running = ex.state not in states.TERMINAL
        self.children: dict[str | None, list[TaskRunView]] = {}
        for run in ex.taskruns:
            self.children.setdefault(run.parent_id, []).append(run)
        self.logs = grouped(ex.logs, _TASKRUN_ID)  # one line alone, not in a list: members()

    def runs(self, runs: list[TaskRunView], parent: TaskRunView | None) -> str:
        """The children ``runs`` of ``parent`` (None for the top-level runs): the main ones, then
        the labelled ``errors`` and ``finally`` sections; once ``parent`` ended, its tasks that
        never ran are drawn greyed as "not run"."""
        sections = self._sections(parent)
        section_of = {task.id: label for label, tasks in sections for task in tasks}
        ended = (parent.state if parent is not None else self.ex.state) in states.TERMINAL
        ran = {run.task_id for run in runs}
        parts = []
        for label, tasks in sections or [("", [])]:
            mine = [run for run in runs if section_of.get(run.task_id, "") == label]
            items = [self.run(run) for run in mine[:MAX_CHILDREN]] + [_more(len(mine) - MAX_CHILDREN, "task runs")]
            if not label and ended:
                items += [_not_run(task.id) for task in tasks if task.id not in ran]
            if not any(items):
                continue
            parts += [f"<li{_LI}>{_meta(label)}<ul{_UL}>{''.join(items)}</ul></li>"] if label else items
        return f"<ul{_UL}>" + "".join(parts) + "</ul>" if parts else ""

    def _sections(self, parent: TaskRunView | None) -> list[tuple[str, list]]:
        """The task lists of ``parent`` in its flow, labelled ("" for the main one); the main list
        only where every task is meant to run (not an If's branches, not a Switch's cases)."""
        flow = getattr(self.ex, "flow", None)
        if flow is None:
            return []
        if parent is None:
            return [("", flow.tasks), ("errors", flow.errors), ("finally", flow.finally_),
                    ("afterExecution", flow.after_execution)]
        try:
            children = flow.task(parent.task_id).children
        except KeyError:
            return []
        branches = any(key not in ("tasks", "errors", "finally") for key in children)
        return [("", [] if branches else children.get("tasks", [])), ("errors", children.get("errors", [])),
                ("finally", children.get("finally", []))]

    def run(self, run: TaskRunView) -> str:
        """A task run's row, its log lines, then its children (a loop as one progress row)."""
        attempts = f" · {len(run.attempts)} attempts" if len(run.attempts) > 1 else ""
        message = " " + error_text(run.message) if run.message else ""
        children = self.children.get(run.id, [])
        if is_loop(children, run):
            loop = Loop(children, run, MAX_CHILDREN)
            head, body = self._progress(run, loop), self._loop_body(loop)
        else:
            head, body = "", self.runs(children, run)
        records = members(self.logs.get(run.id))
        child = (run.outputs or {}).get("executionId") if (run.task_type or "").endswith(".Subflow") else None
        head += f"→ <code>{escape(str(child))}</code> " if child else ""
        return (f"<li{_LI}>{_icon(run.state)} {escape(run.task_id)} {badge(run.state, run.state)} {head}"
                f"{_meta(format_seconds(run.duration) + attempts)}{message}{_metrics_html(run)}"
                f"{_logs_html(records, _says_more(run, records))}{body}</li>")

    def _progress(self, run: TaskRunView, loop: Loop) -> str:
        """``▕████▌     ▏ 27/50 · 4 running · 1 failed · ETA 3s``."""
        shown = progress(self.ex, run, loop)
        # the failed count as a badge, outside the faded text (a faded badge would not read)
        parts = [badge(part, states.FAILED) if part.endswith(" failed") else _meta(part) for part in shown.parts()]
        return f'<span style="{_MONO}">{shown.bar()}</span> {_meta(" · ").join(parts)} '

    def _loop_body(self, loop: Loop) -> str:
        """Running and failed iterations; finished ones folded (listed, expandable, once all ended)."""
        failed, running, finished = loop.failed, loop.running, loop.finished_count
        shown = [self._item(item) for item in failed[:MAX_ACTIVE] + running[-MAX_ACTIVE:]]
        more = _more(len(failed) - MAX_ACTIVE, "failed") + _more(len(running) - MAX_ACTIVE, "running")
        folded = ""
        if finished and not self.running:
            inner = "".join(self._item(item) for item in loop.finished)
            folded = (f'<li{_LI}><details><summary style="cursor:pointer;{_META}">{finished} finished</summary>'
                      f'<ul{_UL}>{inner}{_more(finished - MAX_CHILDREN, "finished")}</ul></details></li>')
        elif finished:
            folded = f"<li{_LI}>{_meta(f'{finished} finished')}</li>"
        return f"<ul{_UL}>" + "".join(shown) + more + folded + "</ul>" if shown or more or folded else ""

    def _item(self, item: Item) -> str:
        if item.value is None:
            return self.run(item.runs[0])
        inner = "".join(self.run(run) for run in item.runs)
        return (f"<li{_LI}>{_icon(item.state)} <b>[{escape(str(item.value))}]</b> {badge(item.state, item.state)}"
                f"<ul{_UL}>{inner}</ul></li>")


def _not_run(task_id: str) -> str:
    return (f'<li class="nbo-not-run" style="list-style:none;margin:0;opacity:0.65">· '
            f'{escape(task_id)} <span style="font-size:11px;font-style:italic">not run</span></li>')


def execution_html(ex: ExecutionView) -> str:
    """The progress tree: header, then task runs nested under their parents, each loop as one
    progress row. While the execution runs, the tree has a bounded height, scrolled to its end."""
    tree = _Tree(ex)
    body = tree.runs(tree.children.get(None, []), None)
    general = _logs_html(members(tree.logs.get(None)), ex.state == states.KILLED)
    if tree.running and body:  # column-reverse: the box starts scrolled to the bottom
        body = (f'<div class="nbo-scroll" style="max-height:{LIVE_HEIGHT}px;overflow-y:auto;display:flex;'
                f'flex-direction:column-reverse"><div>{body}</div></div>')
    return mask(f'<div class="nbo-exec" style="{_ROOT}">{STYLE}{execution_header_html(ex)}{general}{body}</div>',
                ex.secrets)


def _metrics_html(run: TaskRunView) -> str:
    """The ``metrics: rows=42 · duration=1.2s`` line under a run that reported metrics."""
    line = metrics_line(run)
    return f'<div class="nbo-metrics" style="margin-left:18px;{_META}">{escape(line)}</div>' if line else ""


def _says_more(run: TaskRunView, records: list[LogView]) -> bool:
    """Open the log of a failed run only when it tells more than the message on the row."""
    said = run.message or ""
    return run.state == states.FAILED and any(record.message not in said for record in records)


def _logs_html(records: list[LogView], expanded: bool) -> str:
    if not records:
        return ""
    shown = records[-MAX_LOG_LINES:]
    lines = "\n".join(f'<span class="nbo-lvl-{escape(r.level)}">{r.timestamp:%H:%M:%S} {_level(r.level)} '
                      f'{escape(r.message)}</span>' for r in shown)
    hidden = f" (last {len(shown)})" if len(records) > len(shown) else ""
    return (f'<details{" open" if expanded else ""} style="margin-left:18px">'
            f'<summary style="cursor:pointer;{_META}">{len(records)} log line'
            f'{"s" if len(records) != 1 else ""}{hidden}</summary>'
            f'<pre style="margin:2px 0;font-size:11px;white-space:pre-wrap">{lines}</pre></details>')


def _level(level: str) -> str:
    """A log level, padded to five; ERROR and WARN as badges."""
    state = _LEVEL_STATES.get(level)
    return badge(level, state) if state else escape(f"{level:<5}")


def _more(count: int, what: str) -> str:
    return f'<li class="nbo-meta" style="list-style:none;{_META}">… {count} more {what}</li>' if count > 0 else ""


def outputs_table_html(outputs: dict[str, Any], title: str = "Outputs", secrets: Iterable[str] = ()) -> str:
    """Outputs as text, with the execution's secret values masked (the table ends up in saved notebooks)."""
    if not outputs:
        return ""
    rows = "".join(f"<tr><td><code>{escape(mask(str(key), secrets))}</code></td>"
                   f"<td><pre>{escape(_short(value, secrets))}</pre>{_previews(value, secrets)}</td></tr>"
                   for key, value in outputs.items())
    return f"<table><tr><th>{escape(title)}</th><th>value</th></tr>{rows}</table>"


def _previews(outputs: Any, secrets: Iterable[str]) -> str:
    """The first lines of each text file among a task's outputs (``uri``, ``outputFiles``...)."""
    if not isinstance(outputs, dict):
        return ""
    # dict's own methods: an output may be named "values" or "get" (AttrDict reads keys first)
    files = [(str(k), v) for k, v in dict.items(outputs) if isinstance(v, str) and v.startswith("kestra://")]
    output_files = dict.get(outputs, "outputFiles")
    if isinstance(output_files, dict):
        files += [(str(k), v) for k, v in dict.items(output_files) if isinstance(v, str)]
    shown = []
    for name, uri in files[:MAX_PREVIEWS]:
        text = preview(uri)
        if text is not None:
            shown.append(f"<details><summary>{escape(mask(name, secrets))}</summary>"
                         f"<pre>{escape(mask(text, secrets))}</pre></details>")
    return "".join(shown)


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
    head = "".join(f'<th style="{_LEFT}">{escape(str(h))}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f'<div class="nbo-exec">{STYLE}<table><tr>{head}</tr>{body}</table></div>'


_LEFT = "text-align:left"  # inline: JupyterLab right-aligns table cells, and drops <style> when untrusted


def _cell(value: Any) -> str:
    """A table cell, left-aligned; a state name as its badge."""
    text = str(value)
    return f'<td style="{_LEFT}">{badge(text, text) if text in STATE_COLORS else escape(text)}</td>'
