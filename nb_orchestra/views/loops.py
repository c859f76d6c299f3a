"""Loops drawn as one progress row: a ForEach's iterations (or a Parallel's many children),
counted; shared by the HTML and the text trees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..records import states
from .text import format_seconds

if TYPE_CHECKING:
    from ..records.execution import ExecutionView, TaskRunView

MAX_ACTIVE = 10         # running (and failed) iterations shown under a loop's progress row
FOLD_CHILDREN = 10      # a Parallel with more children than this draws as one progress row
BAR_CELLS = 10          # characters of a progress bar


class Item:
    """One iteration of a loop: the runs of one loop value, or one child of a Parallel."""

    __slots__ = ("value", "runs", "state", "done")

    def __init__(self, value: str | None, runs: list[TaskRunView]):
        self.value = value
        self.runs = runs
        if len(runs) == 1:  # most iterations: one task run (drawn for every iteration at every redraw)
            state = runs[0].state
            self.done = state in states.TERMINAL
            if not self.done:
                self.state = states.RUNNING
            else:
                self.state = state if state == states.SUCCESS else states.worst(states.SUCCESS, state)
        else:
            self.done = all(run.state in states.TERMINAL for run in runs)
            self.state = group_state(runs)


def group_state(group: list[TaskRunView]) -> str:
    """RUNNING while a run of ``group`` is unfinished, else the worst of their states."""
    if any(run.state not in states.TERMINAL for run in group):
        return states.RUNNING
    state = states.SUCCESS
    for run in group:
        state = states.worst(state, run.state)
    return state


def _loop_values(children: list[TaskRunView], parent: TaskRunView) -> bool:
    return any(run.value is not None and run.value != parent.value for run in children)


def is_loop(children: list[TaskRunView], parent: TaskRunView) -> bool:
    """A ForEach's iterations, or a Parallel's many children: drawn as one progress row."""
    return _loop_values(children, parent) or (
        len(children) > FOLD_CHILDREN and (parent.task_type or "").endswith(".Parallel"))


def iterations(children: list[TaskRunView], parent: TaskRunView) -> list[Item]:
    """The units a loop counts: one per loop value (ForEach), or each child (Parallel)."""
    if _loop_values(children, parent):
        groups: dict[str | None, list[TaskRunView]] = {}
        for run in children:
            groups.setdefault(run.value, []).append(run)
        return [Item(value, group) for value, group in groups.items()]
    return [Item(None, [run]) for run in children]


def sections(items: list[Item]) -> tuple[list[Item], list[Item], list[Item]]:
    """The failed, running and finished (otherwise) iterations."""
    failed = [item for item in items if item.done and item.state in states.FAILURES]
    running = [item for item in items if not item.done]
    finished = [item for item in items if item.done and item.state not in states.FAILURES]
    return failed, running, finished


def bar(fraction: float) -> str:
    """``▕████▌     ▏``: BAR_CELLS characters, in eighths."""
    eighths = round(max(0.0, min(1.0, fraction)) * BAR_CELLS * 8)
    full, part = divmod(eighths, 8)
    cells = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return "▕" + cells.ljust(BAR_CELLS) + "▏"


@dataclass
class Progress:
    """Where a loop stands: ``▕████▌     ▏ 27/50 · 4 running · 1 failed · ETA 3s``."""

    items: list[Item]
    total: int | None   # None while unknown
    seconds: float      # since the loop started
    ended: bool

    @property
    def done(self) -> list[Item]:
        return [item for item in self.items if item.done]

    def bar(self) -> str:
        return bar(len(self.done) / (self.total or len(self.items) + 1))

    def parts(self) -> list[str]:
        """``27/50``, ``4 running``, ``1 failed``, ``ETA 3s`` (``27/28+`` while the total is unknown)."""
        failed, running, _ = sections(self.items)
        done = len(self.done)
        parts = [f"{done}/{self.total or len(self.items)}{'' if self.total else '+'}"]
        parts += [f"{len(running)} running"] if running else []
        parts += [f"{len(failed)} failed"] if failed else []
        if self.total and done and not self.ended:
            parts.append(f"ETA {format_seconds(self.seconds / done * (self.total - done))}")
        return parts


def progress(ex: ExecutionView, run: TaskRunView, items: list[Item]) -> Progress:
    """The progress of the loop ``run``, its iterations ``items``."""
    ended = run.state in states.TERMINAL
    running = sum(1 for item in items if not item.done)
    total = _total(ex, run, running, len(items))
    if ended:  # a loop stopped by a failure or a kill: what was left, too
        total = max(total or 0, len(items))
    return Progress(items, total, run.duration or 0.0, ended)


def _total(ex: ExecutionView, run: TaskRunView, running: int, known: int) -> int | None:
    """How many iterations a loop has: as the engine planned them (live runs), from its flow
    (literal values, a Parallel's children), or every one has started (no limit, or fewer
    running than it); else None."""
    if run.planned is not None:
        return run.planned
    flow = getattr(ex, "flow", None)
    try:
        task = flow.task(run.task_id) if flow is not None else None
    except KeyError:
        task = None
    if task is None:
        return None
    values = task.props.get("values", task.props.get("value"))
    if isinstance(values, list):
        return len(values)
    if (run.task_type or "").endswith(".Parallel"):
        return len(task.children.get("tasks", []))
    limit = task.props.get("concurrencyLimit", task.props.get("concurrent", 1))
    return known if isinstance(limit, int) and (limit == 0 or running < limit) else None
