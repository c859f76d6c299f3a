"""What the store gives back: executions, task runs, attempts and log lines read from disk.

They read like the engine's objects (same attribute names, ``counts()``,
``duration``, ``outputs`` rebuilt as the engine builds it), so the text and
HTML views draw them unchanged. Task runs and logs load on first access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator

from ..engine import states
from ..engine.execution import AttrDict, now

if TYPE_CHECKING:
    from .base import Store


@dataclass
class StoredAttempt:
    state: str
    start_date: datetime | None
    end_date: datetime | None


@dataclass
class StoredTaskRun:
    id: str
    task_id: str
    task_type: str | None
    value: str | None
    iteration: int | None
    parent_id: str | None
    path: tuple[str, ...]
    state: str
    attempts: list[StoredAttempt]
    start_date: datetime | None
    end_date: datetime | None
    outputs: AttrDict | None
    metrics: list[dict[str, Any]]
    message: str | None
    parent: "StoredTaskRun | None" = field(default=None, repr=False, compare=False)

    @property
    def duration(self) -> float | None:
        end = self.end_date or (now() if self.state not in states.TERMINAL else None)
        return (end - self.start_date).total_seconds() if end and self.start_date else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task_id": self.task_id, "type": self.task_type, "value": self.value,
                "parent_id": self.parent_id, "state": self.state, "attempts": len(self.attempts),
                "start_date": self.start_date, "end_date": self.end_date, "outputs": self.outputs,
                "metrics": self.metrics, "message": self.message}

    def __repr__(self) -> str:
        value = f"[{self.value}]" if self.value is not None else ""
        return f"TaskRun({self.task_id}{value} {self.state})"


@dataclass
class StoredLog:
    task_id: str | None
    taskrun_id: str | None
    value: str | None
    level: str
    message: str
    timestamp: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "taskrun_id": self.taskrun_id, "value": self.value,
                "level": self.level, "message": self.message, "timestamp": self.timestamp}

    def __repr__(self) -> str:
        return f"[{self.level}] {self.task_id or '-'}: {self.message}"


@dataclass(eq=False)
class StoredExecution:
    """An execution as the store has it; task runs, logs and outputs load when first read."""

    id: str
    namespace: str
    flow_id: str
    revision: int | None
    state: str
    state_history: list[tuple[str, datetime]]
    start_date: datetime
    end_date: datetime | None
    inputs: dict[str, Any]
    labels: dict[str, str]
    trigger: dict[str, Any] | None
    original_id: str | None
    flow_outputs: dict[str, Any]
    message: str | None
    owner: str | None  # "pid@host" of the process that ran it
    store: "Store" = field(repr=False)

    @cached_property
    def taskruns(self) -> list[StoredTaskRun]:
        runs = self.store._load_taskruns(self.id)
        by_id = {run.id: run for run in runs}
        for run in runs:
            run.parent = by_id.get(run.parent_id) if run.parent_id else None
        return runs

    @cached_property
    def logs(self) -> list[StoredLog]:
        return self.store._load_logs(self.id)

    @cached_property
    def outputs(self) -> AttrDict:
        """Task id -> outputs, nested by loop values: the tree the engine builds."""
        tree = AttrDict()
        for run in self.taskruns:
            if run.outputs is None:
                continue
            if not run.path:
                tree[run.task_id] = run.outputs
                continue
            node = tree
            for key in (run.task_id, *run.path[:-1]):
                node = dict.setdefault(node, key, AttrDict())
            node[run.path[-1]] = run.outputs
        return tree

    @cached_property
    def flow_source(self) -> str | None:
        """The YAML of the flow revision this execution ran (None when unknown)."""
        if self.revision is None:
            return None
        return self.store.flow_source(self.namespace, self.flow_id, self.revision)

    @property
    def duration(self) -> float:
        return ((self.end_date or now()) - self.start_date).total_seconds()

    def counts(self) -> dict[str, int]:
        """Number of task runs in each state."""
        out: dict[str, int] = {}
        for run in self.taskruns:
            out[run.state] = out.get(run.state, 0) + 1
        return out

    def taskrun(self, task_id: str, value: str | None = None) -> StoredTaskRun:
        """The (last) run of ``task_id``, for a given loop value when given."""
        for run in reversed(self.taskruns):
            if run.task_id == task_id and (value is None or run.value == value):
                return run
        raise KeyError(task_id if value is None else f"{task_id}[{value}]")

    def logs_of(self, task_id: str) -> list[StoredLog]:
        return [log for log in self.logs if log.task_id == task_id]

    def children(self, parent: StoredTaskRun | None) -> Iterator[StoredTaskRun]:
        return (run for run in self.taskruns if run.parent is parent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "namespace": self.namespace, "flow_id": self.flow_id, "revision": self.revision,
            "state": self.state, "start_date": self.start_date, "end_date": self.end_date,
            "inputs": self.inputs, "labels": self.labels, "trigger": self.trigger,
            "original_id": self.original_id, "outputs": dict(self.outputs), "flow_outputs": self.flow_outputs,
            "taskruns": [run.to_dict() for run in self.taskruns], "logs": [log.to_dict() for log in self.logs],
        }

    def __repr__(self) -> str:
        return f"<StoredExecution {self.namespace}.{self.flow_id} {self.id} {self.state}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from ..views.text import execution_tree

        printer.text(execution_tree(self))  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        from ..views.html import execution_report_html

        return execution_report_html(self)  # type: ignore[arg-type]
