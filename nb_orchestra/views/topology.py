"""SVG picture of a flow's topology: tasks top-down, flowables as boxes of lanes.

Nodes measure themselves, then render at a position.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..records import states
from .svg import MUTED, PAPER, STATE_COLORS, clip, escape_attr, escape_text, paint, svg_document, text_at, text_width

if TYPE_CHECKING:
    from ..model.flow import Flow, Task
    from ..records.execution import ExecutionView

# Task id -> the state of its runs, when the picture is of an execution (None: of the flow alone).
States = Mapping[str, str] | None


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


def short_type(type_name: str) -> str:
    """``io.kestra.plugin.core.log.Log`` -> ``Log``."""
    return type_name.rsplit(".", 1)[-1]


class _Leaf:
    """A runnable task: a rounded box with its id and short type."""

    def __init__(self, task: Task, run_states: States):
        self.task = task
        self.label = clip(task.id, ID_LIMIT)
        self.state = _state_of(task, run_states)
        self.kind = short_type(task.type) + (f" · {self.state}" if self.state else "")
        self.width = max(BOX_MIN_W, text_width(self.label, 13), text_width(self.kind, 11)) + 24
        self.height = BOX_H

    def render(self, x: float, y: float, out: list[str]) -> None:
        cx = x + self.width / 2
        out.append(f'<g class="task"{_faded(self.state)}>{_tooltip(self.task)}'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{self.width:.1f}" height="{self.height}" rx="8" '
                   f'{paint("fill", PAPER)} {_stroke(self.state)}/>'
                   + text_at(cx, y + 19, self.label, 13, extra=' text-anchor="middle" font-weight="600"')
                   + text_at(cx, y + 35, self.kind, 11, MUTED, ' text-anchor="middle"') + "</g>")


class _Sequence:
    """Tasks one under the other, joined by arrows, centred on one axis."""

    def __init__(self, tasks: list[Task], run_states: States):
        self.nodes = [_node(task, run_states) for task in tasks]
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
        return max(self.body.width, text_width(self.label or "", 11)) + 2 * LANE_PAD

    @property
    def height(self) -> float:
        return self.body.height + 2 * LANE_PAD + (LANE_LABEL_H if self.label else 0)

    def render(self, x: float, y: float, width: float, height: float, out: list[str]) -> None:
        out.append(f'<g class="lane {escape_attr(self.kind)}">')
        if self.kind != "tasks":
            stroke, dash, ink = LANE_STYLES.get(self.kind, DEFAULT_LANE)
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" rx="6" '
                       f'fill="none" stroke="{stroke}" stroke-width="1.2"{dashes}/>')
            if self.label:
                out.append(text_at(x + 8, y + 15, self.label, 11, ink, ' font-style="italic" class="lane-label"'))
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

    def __init__(self, task: Task, run_states: States):
        self.task = task
        self.title = clip(task.id, ID_LIMIT)
        self.state = _state_of(task, run_states)
        self.caption = " · ".join(filter(None, (short_type(task.type), _caption(task), self.state)))
        self.row = _Row(_lanes(task, run_states))
        header = max(text_width(self.title, 13), text_width(self.caption, 11))
        self.width = max(self.row.width, header, BOX_MIN_W) + 2 * BOX_PAD
        self.height = HEADER_H + self.row.height + (BOX_PAD if self.row.lanes else 0)

    def render(self, x: float, y: float, out: list[str]) -> None:
        out.append(f'<g class="container"{_faded(self.state)}>{_tooltip(self.task)}'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{self.width:.1f}" height="{self.height:.1f}" rx="10" '
                   f'fill="#5b6b9a" fill-opacity="0.06" {_stroke(self.state)}/>'
                   + text_at(x + BOX_PAD, y + 18, self.title, 13, extra=' font-weight="600"')
                   + text_at(x + BOX_PAD, y + 33, self.caption, 11, MUTED))
        self.row.render(x + BOX_PAD, y + HEADER_H, self.width - 2 * BOX_PAD, out)
        out.append("</g>")


def _node(task: Task, run_states: States) -> _Leaf | _Container:
    return _Container(task, run_states) if task.plugin.flowable else _Leaf(task, run_states)


NOT_RUN = "not run"


def _state_of(task: Task, run_states: States) -> str | None:
    """The state of ``task``'s runs; "not run"; None in a picture of the flow alone."""
    return None if run_states is None else run_states.get(task.id, NOT_RUN)


def _stroke(state: str | None) -> str:
    """A box's frame: grey for the flow alone or a task that did not run, else its state's colour."""
    if state is None or state == NOT_RUN:
        dashes = ' stroke-dasharray="4 3"' if state else ""
        return f'stroke="#8c93a8" stroke-width="1.2"{dashes}'
    return f'stroke="{STATE_COLORS.get(state, "#8c93a8")}" stroke-width="2.4"'


def _faded(state: str | None) -> str:
    return ' opacity="0.5"' if state == NOT_RUN else ""


def states_by_task(ex: ExecutionView) -> dict[str, str]:
    """Task id -> the worst state of its runs (RUNNING while one is unfinished)."""
    found: dict[str, str] = {}
    for run in ex.taskruns:
        state = run.state if run.state in states.TERMINAL else states.RUNNING
        seen = found.get(run.task_id)
        found[run.task_id] = state if seen is None else (
            states.RUNNING if states.RUNNING in (seen, state) else states.worst(seen, state))
    return found


def _tooltip(task: Task) -> str:
    description = task.props.get("description")
    return f"<title>{escape_text(task.id)} ({escape_text(task.type)})" + (
        f"\n{escape_text(description)}" if description else "") + "</title>"


def _arrow(x: float, y1: float, y2: float) -> str:
    tip = y2 - 1
    return (f'<path d="M{x:.1f},{y1 + 2:.1f} L{x:.1f},{tip - 5:.1f}" stroke="#8c93a8" stroke-width="1.4"/>'
            f'<path d="M{x - 4:.1f},{tip - 6:.1f} L{x + 4:.1f},{tip - 6:.1f} L{x:.1f},{tip:.1f} Z" fill="#8c93a8"/>')


def _caption(task: Task) -> str:
    """What a flowable task does with its children, in a few words."""
    kind, props = short_type(task.plugin.type), task.props
    if kind == "If":
        return f"if {clip(str(props.get('condition', '')), 40)}"
    if kind == "Switch":
        return f"switch on {clip(str(props.get('value', '')), 40)}"
    if kind in ("ForEach", "EachSequential", "EachParallel", "Loop"):
        default = 0 if kind in ("EachParallel", "Loop") else 1
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


def _lanes(task: Task, run_states: States) -> list[_Lane]:
    """The lanes of a flowable: its branches first, then its errors and finally lists."""
    lanes: list[_Lane] = []
    for prop, tasks in task.children.items():
        if prop in _SIDE_LISTS or not tasks:
            continue
        if prop == "tasks" and short_type(task.plugin.type) == "Parallel":
            lanes += [_Lane("branch", None, _Sequence([child], run_states)) for child in tasks]
        elif prop == "tasks":
            lanes.append(_Lane("tasks", None, _Sequence(tasks, run_states)))
        else:
            lanes.append(_Lane(prop, prop, _Sequence(tasks, run_states)))
    for cases in task.child_maps.values():  # Switch: its cases come before its defaults
        lanes[:0] = [_Lane("case", f"case {clip(key, 30)}", _Sequence(tasks, run_states))
                     for key, tasks in cases.items() if tasks]
    return lanes + _side_lanes({prop: task.children.get(prop, []) for prop in _SIDE_LISTS}, run_states)


def _side_lanes(lists: dict[str, list[Task]], run_states: States) -> list[_Lane]:
    return [_Lane(prop, prop, _Sequence(tasks, run_states)) for prop, tasks in lists.items() if tasks]


def topology_svg(flow: Flow, run_states: States = None) -> str:
    """The flow's shape as an SVG document: tasks top-down, flowables as boxes of lanes. With
    ``run_states`` (see :func:`states_by_task`), each box is framed in its runs' state colour and
    tasks that never ran are faded."""
    row = _Row([_Lane("tasks", None, _Sequence(flow.tasks, run_states)), *_side_lanes(
        {"errors": flow.errors, "finally": flow.finally_, "afterExecution": flow.after_execution}, run_states)],
        stretch=False)
    title = f"{flow.namespace}.{flow.id}"
    width = max(row.width, text_width(title, 14)) + 2 * MARGIN
    out = [text_at(MARGIN, MARGIN + 14, title, 14, extra=' font-weight="700"')]
    row.render(MARGIN, MARGIN + TITLE_H, width - 2 * MARGIN, out)
    return svg_document(width, row.height + TITLE_H + 2 * MARGIN, f"Topology of {title}", out)
