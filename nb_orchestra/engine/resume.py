"""Restart and replay: run an execution again, keeping what already succeeded.

Kestra's two operations, on one mechanism. The engine walks the flow as
usual; before creating a task run it looks for the same task (same loop
values) in the earlier run. A run that may be kept is adopted, with its
whole subtree and outputs, instead of running again; any other task runs.

- Restart (same execution): task runs that ended SUCCESS, WARNING or SKIPPED
  in the main tasks are kept; failed and killed ones run again as new
  attempts of the same task runs; errors/finally branches run again.
- Replay (a new execution): the task runs created before the chosen one are
  copied, except its own ancestors (they are entered again); the chosen task
  and everything after it run again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..records import states
from ..records.execution import Attempt, TaskRun

Key = tuple  # (task id, loop values from the outermost)

KEPT_STATES = frozenset({states.SUCCESS, states.WARNING, states.SKIPPED})


@dataclass
class Reuse:
    """Earlier task runs by key, which of them may be kept, and whether to reuse or copy them."""

    runs: dict[Key, Any]
    children: dict[Any, list[Any]]
    keep: Callable[[Any], bool]
    same_objects: bool
    copies: dict[Any, TaskRun] = field(default_factory=dict)

    def find(self, task_id: str, path: tuple) -> Any:
        return self.runs.get((task_id, path))


def run_paths(taskruns: Iterable[Any]) -> dict[Any, tuple]:
    """Loop values of each run and its ancestors (outermost first), from ``parent_id`` and ``value``."""
    by_id = {run.id: run for run in taskruns}
    paths: dict[Any, tuple] = {}

    def path(run: Any) -> tuple:
        if run.id not in paths:
            parent = by_id.get(run.parent_id)
            base = path(parent) if parent is not None else ()
            paths[run.id] = base + (run.value,) if run.value is not None else base
        return paths[run.id]

    for run in by_id.values():
        path(run)
    return paths


def _index(taskruns: list[Any]) -> tuple[dict[Key, Any], dict[Any, list[Any]]]:
    paths = run_paths(taskruns)
    runs: dict[Key, Any] = {}
    children: dict[Any, list[Any]] = {}
    for run in taskruns:
        runs[(run.task_id, paths[run.id])] = run  # a restarted task keeps its last run
        children.setdefault(run.parent_id, []).append(run)
    return runs, children


def for_restart(taskruns: list[Any]) -> Reuse:
    runs, children = _index(taskruns)
    return Reuse(runs, children, keep=lambda run: run.state in KEPT_STATES, same_objects=True)


def for_replay(taskruns: list[Any], from_run: Any) -> Reuse:
    runs, children = _index(taskruns)
    order = {run.id: i for i, run in enumerate(taskruns)}
    by_id = {run.id: run for run in taskruns}
    ancestors = set()
    parent = by_id.get(from_run.parent_id)
    while parent is not None:
        ancestors.add(parent.id)
        parent = by_id.get(parent.parent_id)
    start = order[from_run.id]
    return Reuse(runs, children, same_objects=False,
                 keep=lambda run: order[run.id] < start and run.id not in ancestors)


def copy_run(old: Any, parent: TaskRun | None, keep_id: bool = False) -> TaskRun:
    """A new TaskRun holding what ``old`` recorded: a replay's copy of an earlier run, or (``keep_id``)
    a stored run brought back to life for a restart."""
    run = TaskRun(old.task_id, old.task_type, parent, old.value, old.iteration)
    if keep_id:
        run.id = old.id
    run.state = old.state
    run.start_date, run.end_date = old.start_date, old.end_date
    run.outputs = old.outputs
    if old.metrics:
        run.own_metrics().extend(old.metrics)
    run.message = old.message
    for attempt in _attempts(old):
        run.add_attempt(_copy_attempt(attempt))
    return run


def _attempts(old: Any) -> list[Any]:
    attempts = old.attempts
    return list(attempts) if not isinstance(attempts, int) else []


def _copy_attempt(old: Any) -> Attempt:
    attempt = Attempt()
    attempt.state, attempt.start_date, attempt.end_date = old.state, old.start_date, old.end_date
    return attempt
