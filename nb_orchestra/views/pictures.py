"""SVG pictures for people: a flow's topology and an execution's Gantt chart.

Plain string building, no Graphviz: every text and attribute goes through
``_text``/``_attr``, so ids, case keys, loop values and messages are escaped.
Styles are inline attributes (no ``<style>``, no element ids), so the SVG can
be inlined in a notebook page without touching anything around it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterator
from xml.sax.saxutils import escape

from ..engine import states
from ..engine.execution import now
from .text import format_seconds

if TYPE_CHECKING:
    from ..engine.execution import Execution, TaskRun
    from ..model.flow import Flow, Task

# Kestra's UI state colours (ui/src/utils/state.js). KILLED is a darker gold than
# Kestra's #FCE07C and SKIPPED a lighter grey, so that every bar stands out on white.
STATE_COLORS: dict[str, str] = {
    "CREATED": "#1761FD",
    "QUEUED": "#918BA9",
    "RUNNING": "#8405FF",
    "PAUSED": "#918BA9",
    "RETRYING": "#918BA9",
    "RETRIED": "#918BA9",
    "RESTARTED": "#1761FD",
    "SUCCESS": "#029E73",
    "WARNING": "#DD5F00",
    "FAILED": "#AB0009",
    "KILLED": "#C9A100",
    "CANCELLED": "#918BA9",
    "SKIPPED": "#C4C0D4",
}
UNKNOWN_COLOR = "#918BA9"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
INK = "#1f2430"
MUTED = "#6b7080"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# -- escaping and measuring -------------------------------------------------------

def _text(value: object) -> str:
    """Text content, escaped, without the control characters XML 1.0 forbids."""
    return escape(_CONTROL.sub("", str(value)))


def _attr(value: object) -> str:
    """An attribute value for double quotes, escaped."""
    return escape(_CONTROL.sub("", str(value)), {'"': "&quot;", "\n": "&#10;"})


def _width(text: str, size: float) -> float:
    """A generous estimate of the rendered width of ``text`` in a sans font."""
    return len(text) * size * 0.62


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_attr(FONT)}" role="img">'
            f"<title>{_text(title)}</title>"
            f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(body) + "</svg>")


def _label(x: float, y: float, text: str, size: float, fill: str = INK, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}"{extra}>{_text(text)}</text>'


def short_type(type_name: str) -> str:
    """``io.kestra.plugin.core.log.Log`` -> ``Log``."""
    return type_name.rsplit(".", 1)[-1]


# -- topology: nodes measure themselves, then render at a position ------------------

BOX_H = 44
BOX_MIN_W = 110
ARROW_GAP = 26
LANE_PAD = 12
LANE_LABEL_H = 18
LANE_GAP = 12
BOX_PAD = 10
HEADER_H = 40
MARGIN = 16
TITLE_H = 30
ID_LIMIT = 40

# Lane kind -> (frame colour, dash pattern, label colour); "tasks" lanes have no frame.
DEFAULT_LANE = ("#9aa3b5", "5 4", MUTED)
LANE_STYLES: dict[str, tuple[str, str, str]] = {
    "branch": ("#c5cad6", "", MUTED),
    "errors": (STATE_COLORS["FAILED"], "6 4", STATE_COLORS["FAILED"]),
    "finally": ("#918BA9", "6 4", "#6f6a88"),
    "afterExecution": ("#918BA9", "2 3", "#6f6a88"),
}
_SIDE_LISTS = ("errors", "finally")


class _Leaf:
    """A runnable task: a rounded box with its id and short type."""

    def __init__(self, task: "Task"):
        self.task = task
        self.label = _clip(task.id, ID_LIMIT)
        self.kind = short_type(task.type)
        self.width = max(BOX_MIN_W, _width(self.label, 13), _width(self.kind, 11)) + 24
        self.height = BOX_H

    def render(self, x: float, y: float, out: list[str]) -> None:
        cx = x + self.width / 2
        out.append(f'<g class="task">{_tooltip(self.task)}'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{self.width:.1f}" height="{self.height}" rx="8" '
                   f'fill="#ffffff" stroke="#8c93a8" stroke-width="1.2"/>'
                   + _label(cx, y + 19, self.label, 13, extra=' text-anchor="middle" font-weight="600"')
                   + _label(cx, y + 35, self.kind, 11, MUTED, ' text-anchor="middle"') + "</g>")


class _Sequence:
    """Tasks one under the other, joined by arrows, centred on one axis."""

    def __init__(self, tasks: list["Task"]):
        self.nodes = [_node(task) for task in tasks]
        self.width = max((node.width for node in self.nodes), default=0)
        self.height = sum(node.height for node in self.nodes) + ARROW_GAP * max(len(self.nodes) - 1, 0)

    def render(self, x: float, y: float, out: list[str]) -> None:
        cx = x + self.width / 2
        for i, node in enumerate(self.nodes):
            if i:
                out.append(_arrow(cx, y - ARROW_GAP, y))
            node.render(cx - node.width / 2, y, out)
            y += node.height + ARROW_GAP


@dataclass
class _Lane:
    """A labelled (or bare) column holding a sequence of tasks."""

    kind: str
    label: str | None
    body: _Sequence

    @property
    def width(self) -> float:
        return max(self.body.width, _width(self.label or "", 11)) + 2 * LANE_PAD

    @property
    def height(self) -> float:
        return self.body.height + 2 * LANE_PAD + (LANE_LABEL_H if self.label else 0)

    def render(self, x: float, y: float, width: float, height: float, out: list[str]) -> None:
        out.append(f'<g class="lane {_attr(self.kind)}">')
        if self.kind != "tasks":
            stroke, dash, ink = LANE_STYLES.get(self.kind, DEFAULT_LANE)
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" rx="6" '
                       f'fill="none" stroke="{stroke}" stroke-width="1.2"{dashes}/>')
            if self.label:
                out.append(_label(x + 8, y + 15, self.label, 11, ink, ' font-style="italic" class="lane-label"'))
        top = y + LANE_PAD + (LANE_LABEL_H if self.label else 0)
        self.body.render(x + (width - self.body.width) / 2, top, out)
        out.append("</g>")


class _Row:
    """Lanes side by side, stretched to the tallest one when ``stretch``."""

    def __init__(self, lanes: list[_Lane], stretch: bool = True):
        self.lanes = lanes
        self.stretch = stretch
        self.width = sum(lane.width for lane in lanes) + LANE_GAP * max(len(lanes) - 1, 0)
        self.height = max((lane.height for lane in lanes), default=0)

    def render(self, x: float, y: float, width: float, out: list[str]) -> None:
        x += (width - self.width) / 2
        for lane in self.lanes:
            lane.render(x, y, lane.width, self.height if self.stretch else lane.height, out)
            x += lane.width + LANE_GAP


class _Container:
    """A flowable task: a shaded box with a header, around the lanes of its children."""

    def __init__(self, task: "Task"):
        self.task = task
        self.title = _clip(task.id, ID_LIMIT)
        self.caption = " · ".join(filter(None, (short_type(task.type), _caption(task))))
        self.row = _Row(_lanes(task))
        header = max(_width(self.title, 13), _width(self.caption, 11))
        self.width = max(self.row.width, header, BOX_MIN_W) + 2 * BOX_PAD
        self.height = HEADER_H + self.row.height + (BOX_PAD if self.row.lanes else 0)

    def render(self, x: float, y: float, out: list[str]) -> None:
        out.append(f'<g class="container">{_tooltip(self.task)}'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{self.width:.1f}" height="{self.height:.1f}" rx="10" '
                   f'fill="#5b6b9a" fill-opacity="0.06" stroke="#8c93a8" stroke-width="1.2"/>'
                   + _label(x + BOX_PAD, y + 18, self.title, 13, extra=' font-weight="600"')
                   + _label(x + BOX_PAD, y + 33, self.caption, 11, MUTED))
        self.row.render(x + BOX_PAD, y + HEADER_H, self.width - 2 * BOX_PAD, out)
        out.append("</g>")


def _node(task: "Task") -> _Leaf | _Container:
    return _Container(task) if task.plugin.flowable else _Leaf(task)


def _tooltip(task: "Task") -> str:
    description = task.props.get("description")
    return f"<title>{_text(task.id)} ({_text(task.type)})" + (
        f"\n{_text(description)}" if description else "") + "</title>"


def _arrow(x: float, y1: float, y2: float) -> str:
    tip = y2 - 1
    return (f'<path d="M{x:.1f},{y1 + 2:.1f} L{x:.1f},{tip - 5:.1f}" stroke="#8c93a8" stroke-width="1.4"/>'
            f'<path d="M{x - 4:.1f},{tip - 6:.1f} L{x + 4:.1f},{tip - 6:.1f} L{x:.1f},{tip:.1f} Z" fill="#8c93a8"/>')


def _caption(task: "Task") -> str:
    """What a flowable task does with its children, in a few words."""
    kind, props = short_type(task.plugin.type), task.props
    if kind == "If":
        return f"if {_clip(str(props.get('condition', '')), 40)}"
    if kind == "Switch":
        return f"switch on {_clip(str(props.get('value', '')), 40)}"
    if kind in ("ForEach", "EachSequential", "EachParallel"):
        default = 0 if kind == "EachParallel" else 1
        limit = props.get("concurrent" if kind == "EachParallel" else "concurrencyLimit", default)
        return " · ".join(filter(None, ("for each value", _concurrency(limit))))
    if kind == "Parallel":
        return _concurrency(props.get("concurrent", 0))
    if kind == "WorkingDirectory":
        return "shared working directory"
    return ""


def _concurrency(limit: object) -> str:
    """How many children or values run at once, when more than one."""
    if limit == 0:
        return "all at once"
    return f"{limit} at a time" if limit != 1 else ""


def _lanes(task: "Task") -> list[_Lane]:
    """The lanes of a flowable: its branches first, then its errors and finally lists."""
    lanes: list[_Lane] = []
    for prop, tasks in task.children.items():
        if prop in _SIDE_LISTS or not tasks:
            continue
        if prop == "tasks" and short_type(task.plugin.type) == "Parallel":
            lanes += [_Lane("branch", None, _Sequence([child])) for child in tasks]
        elif prop == "tasks":
            lanes.append(_Lane("tasks", None, _Sequence(tasks)))
        else:
            lanes.append(_Lane(prop, prop, _Sequence(tasks)))
    for cases in task.child_maps.values():  # Switch: its cases come before its defaults
        lanes[:0] = [_Lane("case", f"case {_clip(key, 30)}", _Sequence(tasks)) for key, tasks in cases.items() if tasks]
    return lanes + _side_lanes({prop: task.children.get(prop, []) for prop in _SIDE_LISTS})


def _side_lanes(lists: dict[str, list["Task"]]) -> list[_Lane]:
    return [_Lane(prop, prop, _Sequence(tasks)) for prop, tasks in lists.items() if tasks]


def topology_svg(flow: "Flow") -> str:
    """The flow's shape as an SVG document: tasks top-down, flowables as boxes of lanes."""
    row = _Row([_Lane("tasks", None, _Sequence(flow.tasks)), *_side_lanes(
        {"errors": flow.errors, "finally": flow.finally_, "afterExecution": flow.after_execution})], stretch=False)
    title = f"{flow.namespace}.{flow.id}"
    width = max(row.width, _width(title, 14)) + 2 * MARGIN
    out = [_label(MARGIN, MARGIN + 14, title, 14, extra=' font-weight="700"')]
    row.render(MARGIN, MARGIN + TITLE_H, width - 2 * MARGIN, out)
    return _svg(width, row.height + TITLE_H + 2 * MARGIN, f"Topology of {title}", out)


# -- Gantt -------------------------------------------------------------------------

ROW_H = 22
BAR_H = 14
CHART_W = 640
RIGHT_W = 70
AXIS_H = 24
HEAD_H = 44
INDENT = 14
LABEL_LIMIT = 48


def _tree_order(ex: "Execution") -> Iterator[tuple["TaskRun", int]]:
    """Task runs depth first, each parent before its children, with their depth."""
    children: dict[str | None, list["TaskRun"]] = {}
    for run in ex.taskruns:
        children.setdefault(run.parent_id, []).append(run)

    def walk(parent_id: str | None, depth: int) -> Iterator[tuple["TaskRun", int]]:
        for run in children.get(parent_id, []):
            yield run, depth
            yield from walk(run.id, depth + 1)

    return walk(None, 0)


def _run_label(run: "TaskRun") -> str:
    return _clip(run.task_id + (f" [{run.value}]" if run.value is not None else ""), LABEL_LIMIT)


def _run_end(run: "TaskRun") -> datetime:
    """When the run ended; now for a run still going."""
    return run.end_date or (run.start_date if run.state in states.TERMINAL else now())


def _ticks(total: float) -> list[float]:
    """About five round tick positions (1, 2 or 5 times a power of ten) from 0 to ``total``."""
    raw = total / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(total / step + 1e-9) + 1)]


def _run_tooltip(run: "TaskRun", seconds: float) -> str:
    attempts = len(run.attempts)
    parts = [_run_label(run), run.state, format_seconds(seconds) or "0ms",
             f"{attempts} attempt{'s' if attempts != 1 else ''}", run.task_type]
    return " · ".join(parts) + (f"\n{run.message}" if run.message else "")


@dataclass
class _Scale:
    """Maps datetimes of the execution onto x positions of the chart area."""

    start: datetime
    total: float
    left: float

    def x(self, when: datetime) -> float:
        return self.left + max((when - self.start).total_seconds(), 0) / self.total * CHART_W


def _gantt_row(run: "TaskRun", depth: int, y: float, scale: _Scale) -> str:
    end = _run_end(run)
    x1, x2 = scale.x(run.start_date), scale.x(end)
    seconds = (end - run.start_date).total_seconds()
    color = STATE_COLORS.get(run.state, UNKNOWN_COLOR)
    return ('<g class="row">'
            + _label(8 + depth * INDENT, y + 15, _run_label(run), 12)
            + f'<rect class="bar" x="{x1:.1f}" y="{y + (ROW_H - BAR_H) / 2:.1f}" width="{max(x2 - x1, 2):.1f}" '
              f'height="{BAR_H}" rx="3" fill="{color}"><title>{_text(_run_tooltip(run, seconds))}</title></rect>'
            + _label(max(x2, x1 + 2) + 5, y + 15, format_seconds(seconds), 11, MUTED) + "</g>")


def _axis(scale: _Scale, top: float, bottom: float) -> list[str]:
    out = []
    for tick in _ticks(scale.total):
        x = scale.left + tick / scale.total * CHART_W
        out.append(f'<line x1="{x:.1f}" y1="{top + AXIS_H - 6:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                   f'stroke="#e3e5ec" stroke-width="1"/>'
                   + _label(x, top + 12, format_seconds(tick) if tick else "0", 10, MUTED,
                            ' text-anchor="middle" class="tick"'))
    return out


def _legend(counts: dict[str, int], y: float) -> list[str]:
    """A coloured square and a count for each state present."""
    out, x = [], 8.0
    for state, n in sorted(counts.items()):
        text = f"{n} {state}"
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
                   f'fill="{STATE_COLORS.get(state, UNKNOWN_COLOR)}"/>' + _label(x + 14, y, text, 11, MUTED))
        x += 14 + _width(text, 11) + 12
    return out


def gantt_svg(execution: "Execution", max_rows: int = 200) -> str:
    """One bar per task run, coloured by state, on a time axis from the execution's start."""
    ex = execution
    rows = list(_tree_order(ex))
    shown = rows[:max_rows]
    label_w = min(max((_width(_run_label(run), 12) + depth * INDENT for run, depth in shown), default=0) + 24, 360)
    label_w = max(label_w, 140)
    end = max([ex.end_date or now(), *(_run_end(run) for run, _ in rows)])
    scale = _Scale(ex.start_date, max((end - ex.start_date).total_seconds(), 0.001), label_w)
    extra = 1 if len(rows) > max_rows or not rows else 0
    top = HEAD_H + AXIS_H
    bottom = top + (len(shown) + extra) * ROW_H
    width = label_w + CHART_W + RIGHT_W
    head = (f"{ex.namespace}.{ex.flow_id} · {ex.state} · {format_seconds(ex.duration)} · "
            f"{len(rows)} task run{'s' if len(rows) != 1 else ''}")
    out = [_label(8, 18, head, 13, extra=' font-weight="700" class="head"'), *_legend(ex.counts(), 36)]
    out += [f'<rect x="0" y="{top + i * ROW_H}" width="{width:.0f}" height="{ROW_H}" fill="#f5f6fa"/>'
            for i in range(1, len(shown), 2)]
    out += _axis(scale, HEAD_H, bottom)
    out += [_gantt_row(run, depth, top + i * ROW_H, scale) for i, (run, depth) in enumerate(shown)]
    if extra:
        more = f"… {len(rows) - max_rows} more task runs" if rows else "no task runs yet"
        out.append(_label(8, bottom - ROW_H + 15, more, 12, MUTED, ' font-style="italic" class="more"'))
    return _svg(width, bottom + 8, f"Gantt chart of execution {ex.id}", out)
