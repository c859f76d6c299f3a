"""Loops drawn as one progress row: a ForEach's iterations (or a Parallel's many children),
counted; shared by the HTML and the text trees."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from ..records import states
from .text import format_seconds

if TYPE_CHECKING:
    from ..records.execution import ExecutionView, TaskRunView

MAX_ACTIVE = 10         # running (and failed) iterations shown under a loop's progress row
FOLD_CHILDREN = 10      # a Parallel with more children than this draws as one progress row
BAR_CELLS = 10          # characters of a progress bar

T = TypeVar("T")
_VALUE = attrgetter("value")


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


def grouped(items: Iterable[T], key: Callable[[T], Any]) -> dict[Any, T | list[T]]:
    """``items`` by ``key``, in order; an item stands alone where no other has its key. Most loop
    values have one task run and most task runs one log line: a list each would make a redraw of
    a big loop allocate enough objects to set off a garbage collection of the whole heap."""
    groups: dict[Any, T | list[T]] = {}
    for item in items:
        found = key(item)
        group = groups.get(found)
        if group is None:
            groups[found] = item
        elif type(group) is list:
            group.append(item)
        else:
            groups[found] = [group, item]  # type: ignore[list-item]
    return groups


def members(group: T | list[T] | None) -> list[T]:
    """A group of :func:`grouped` as a list (None: no items)."""
    return [] if group is None else group if type(group) is list else [group]  # type: ignore[list-item]


class Loop:
    """A loop's iterations, sorted in one pass over its task runs: the failed and the running ones,
    the number finished and the first ``keep`` of them (listed once the execution has ended). A
    redraw of a big loop costs one dictionary entry per iteration, not an object."""

    __slots__ = ("failed", "running", "finished", "finished_count")

    def __init__(self, children: list[TaskRunView], parent: TaskRunView, keep: int):
        self.failed: list[Item] = []
        self.running: list[Item] = []
        self.finished: list[Item] = []
        self.finished_count = 0
        if _loop_values(children, parent):  # a ForEach: the runs of one value are one iteration
            for value, group in grouped(children, _VALUE).items():
                if type(group) is list:
                    self._add(Item(value, group), keep)
                else:
                    self._add_one(value, group, keep)  # type: ignore[arg-type]
        else:  # a Parallel's children: each one
            for run in children:
                self._add_one(None, run, keep)

    def _add_one(self, value: str | None, run: TaskRunView, keep: int) -> None:
        """An iteration of one run (most of them): an Item only where one is shown."""
        state = run.state
        if state in states.TERMINAL and state not in states.FAILURES:
            self.finished_count += 1
            if len(self.finished) < keep:
                self.finished.append(Item(value, [run]))
        else:
            self._add(Item(value, [run]), keep)

    def _add(self, item: Item, keep: int) -> None:
        if not item.done:
            self.running.append(item)
        elif item.state in states.FAILURES:
            self.failed.append(item)
        else:
            self.finished_count += 1
            if len(self.finished) < keep:
                self.finished.append(item)

    @property
    def done(self) -> int:
        return len(self.failed) + self.finished_count

    @property
    def count(self) -> int:
        return self.done + len(self.running)


def bar(fraction: float) -> str:
    """``▕████▌     ▏``: BAR_CELLS characters, in eighths."""
    eighths = round(max(0.0, min(1.0, fraction)) * BAR_CELLS * 8)
    full, part = divmod(eighths, 8)
    cells = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return "▕" + cells.ljust(BAR_CELLS) + "▏"


@dataclass
class Progress:
    """Where a loop stands: ``▕████▌     ▏ 27/50 · 4 running · 1 failed · ETA 3s``."""

    done: int
    running: int
    failed: int
    known: int          # iterations started
    total: int | None   # None while unknown
    seconds: float      # since the loop started
    ended: bool

    def bar(self) -> str:
        return bar(self.done / (self.total or self.known + 1))

    def parts(self) -> list[str]:
        """``27/50``, ``4 running``, ``1 failed``, ``ETA 3s`` (``27/28+`` while the total is unknown)."""
        parts = [f"{self.done}/{self.total or self.known}{'' if self.total else '+'}"]
        parts += [f"{self.running} running"] if self.running else []
        parts += [f"{self.failed} failed"] if self.failed else []
        if self.total and self.done and not self.ended:
            parts.append(f"ETA {format_seconds(self.seconds / self.done * (self.total - self.done))}")
        return parts


def progress(ex: ExecutionView, run: TaskRunView, loop: Loop) -> Progress:
    """The progress of the loop ``run``."""
    ended = run.state in states.TERMINAL
    total = _total(ex, run, len(loop.running), loop.count)
    if ended:  # a loop stopped by a failure or a kill: what was left, too
        total = max(total or 0, loop.count)
    return Progress(loop.done, len(loop.running), len(loop.failed), loop.count, total, run.duration or 0.0, ended)


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
