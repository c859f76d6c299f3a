"""SVG Gantt chart of an execution: one bar per task run, coloured by state, on a time axis."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..records import states
from ..records.execution import now
from .svg import (
    GRID,
    MUTED,
    STATE_COLORS,
    STRIPE,
    UNKNOWN_COLOR,
    clip,
    escape_text,
    paint,
    svg_document,
    text_at,
    text_width,
)
from .text import format_seconds

if TYPE_CHECKING:
    from ..records.execution import ExecutionView, TaskRunView

ROW_H = 22
BAR_H = 14
CHART_W = 640
RIGHT_W = 70
AXIS_H = 24
HEAD_H = 44
INDENT = 14
LABEL_LIMIT = 48


def _tree_order(ex: ExecutionView) -> Iterator[tuple[TaskRunView, int]]:
    """Task runs depth first, each parent before its children, with their depth."""
    children: dict[str | None, list[TaskRunView]] = {}
    for run in ex.taskruns:
        children.setdefault(run.parent_id, []).append(run)

    def walk(parent_id: str | None, depth: int) -> Iterator[tuple[TaskRunView, int]]:
        for run in children.get(parent_id, []):
            yield run, depth
            yield from walk(run.id, depth + 1)

    return walk(None, 0)


def _run_label(run: TaskRunView) -> str:
    return clip(run.task_id + (f" [{run.value}]" if run.value is not None else ""), LABEL_LIMIT)


def _run_span(run: TaskRunView, default_start: datetime) -> tuple[datetime, datetime]:
    """When the run started and ended (now for a run still going).

    A stored run may lack its start date: ``default_start`` (the execution's start) stands for it.
    """
    start = run.start_date or default_start
    return start, run.end_date or (start if run.state in states.TERMINAL else now())


def _ticks(total: float) -> list[float]:
    """About five round tick positions (1, 2 or 5 times a power of ten) from 0 to ``total``."""
    raw = total / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(total / step + 1e-9) + 1)]


def _run_tooltip(run: TaskRunView, seconds: float) -> str:
    attempts = len(run.attempts)
    parts = [_run_label(run), run.state, format_seconds(seconds) or "0ms",
             f"{attempts} attempt{'s' if attempts != 1 else ''}"]
    if run.task_type is not None:  # a stored run may lack it
        parts.append(run.task_type)
    return " · ".join(parts) + (f"\n{run.message}" if run.message else "")


@dataclass
class _Scale:
    """Maps datetimes of the execution onto x positions of the chart area."""

    start: datetime
    total: float
    left: float

    def x(self, when: datetime) -> float:
        return self.left + max((when - self.start).total_seconds(), 0) / self.total * CHART_W


def _gantt_row(run: TaskRunView, depth: int, y: float, scale: _Scale) -> str:
    start, end = _run_span(run, scale.start)
    x1, x2 = scale.x(start), scale.x(end)
    seconds = (end - start).total_seconds()
    color = STATE_COLORS.get(run.state, UNKNOWN_COLOR)
    return ('<g class="row">'
            + text_at(8 + depth * INDENT, y + 15, _run_label(run), 12)
            + f'<rect class="bar" x="{x1:.1f}" y="{y + (ROW_H - BAR_H) / 2:.1f}" width="{max(x2 - x1, 2):.1f}" '
              f'height="{BAR_H}" rx="3" fill="{color}"><title>{escape_text(_run_tooltip(run, seconds))}</title></rect>'
            + text_at(max(x2, x1 + 2) + 5, y + 15, format_seconds(seconds), 11, MUTED) + "</g>")


def _axis(scale: _Scale, top: float, bottom: float) -> list[str]:
    out = []
    for tick in _ticks(scale.total):
        x = scale.left + tick / scale.total * CHART_W
        out.append(f'<line x1="{x:.1f}" y1="{top + AXIS_H - 6:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                   f'{paint("stroke", GRID)} stroke-width="1"/>'
                   + text_at(x, top + 12, format_seconds(tick) if tick else "0", 10, MUTED,
                            ' text-anchor="middle" class="tick"'))
    return out


def _legend(counts: dict[str, int], y: float) -> list[str]:
    """A coloured square and a count for each state present."""
    out, x = [], 8.0
    for state, n in sorted(counts.items()):
        text = f"{n} {state}"
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
                   f'fill="{STATE_COLORS.get(state, UNKNOWN_COLOR)}"/>' + text_at(x + 14, y, text, 11, MUTED))
        x += 14 + text_width(text, 11) + 12
    return out


def gantt_svg(execution: ExecutionView, max_rows: int = 200) -> str:
    """One bar per task run, coloured by state, on a time axis from the execution's start."""
    ex = execution
    rows = list(_tree_order(ex))
    shown = rows[:max_rows]
    label_w = min(max((text_width(_run_label(run), 12) + depth * INDENT for run, depth in shown), default=0) + 24, 360)
    label_w = max(label_w, 140)
    end = max([ex.end_date or now(), *(_run_span(run, ex.start_date)[1] for run, _ in rows)])
    scale = _Scale(ex.start_date, max((end - ex.start_date).total_seconds(), 0.001), label_w)
    extra = 1 if len(rows) > max_rows or not rows else 0
    top = HEAD_H + AXIS_H
    bottom = top + (len(shown) + extra) * ROW_H
    width = label_w + CHART_W + RIGHT_W
    head = (f"{ex.namespace}.{ex.flow_id} · {ex.state} · {format_seconds(ex.duration)} · "
            f"{len(rows)} task run{'s' if len(rows) != 1 else ''}")
    out = [text_at(8, 18, head, 13, extra=' font-weight="700" class="head"'), *_legend(ex.counts(), 36)]
    out += [f'<rect x="0" y="{top + i * ROW_H}" width="{width:.0f}" height="{ROW_H}" {paint("fill", STRIPE)}/>'
            for i in range(1, len(shown), 2)]
    out += _axis(scale, HEAD_H, bottom)
    out += [_gantt_row(run, depth, top + i * ROW_H, scale) for i, (run, depth) in enumerate(shown)]
    if extra:
        more = f"… {len(rows) - max_rows} more task runs" if rows else "no task runs yet"
        out.append(text_at(8, bottom - ROW_H + 15, more, 12, MUTED, ' font-style="italic" class="more"'))
    return svg_document(width, bottom + 8, f"Gantt chart of execution {ex.id}", out)
