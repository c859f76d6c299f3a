"""What the store gives back: executions, task runs, attempts and log lines read from disk.

They read like the engine's objects (same attribute names, ``counts()``,
``duration``, ``outputs`` rebuilt as the engine builds it), so the text and
HTML views draw them unchanged. Task runs and logs load on first access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..internal_storage import LocalFiles
from ..records.execution import AttrDict, ExecutionView, LogView, TaskRunView
from ..views.display import ExecutionDisplay

if TYPE_CHECKING:
    from ..model.flow import Flow
    from .base import Store


@dataclass
class StoredAttempt:
    state: str
    start_date: datetime | None
    end_date: datetime | None


@dataclass(repr=False)
class StoredTaskRun(TaskRunView):
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
    parent: StoredTaskRun | None = field(default=None, repr=False, compare=False)
    planned: int | None = None  # not stored: a stored loop that ended counts what it ran


@dataclass(repr=False)
class StoredLog(LogView):
    task_id: str | None
    taskrun_id: str | None
    value: str | None
    level: str
    message: str
    timestamp: datetime


@dataclass(eq=False, repr=False)
class StoredExecution(ExecutionDisplay, LocalFiles, ExecutionView):
    """An execution as the store has it (the fields of ExecutionFields, then these); task runs, logs
    and outputs load when first read."""

    owner: str | None  # "pid@host" of the process that ran it
    store: Store = field(repr=False)

    # Loaded on first read; the view declares them as plain attributes, as the live Execution has them.
    @cached_property
    def taskruns(self) -> list[StoredTaskRun]:  # type: ignore[override]
        return self.store._load_taskruns(self.id)

    @cached_property
    def logs(self) -> list[StoredLog]:  # type: ignore[override]
        return self.store._load_logs(self.id)

    @cached_property
    def outputs(self) -> AttrDict:  # type: ignore[override]
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

    @cached_property
    def flow(self) -> Flow | None:
        """That revision parsed (views draw the tasks that never ran), None when unknown or invalid now."""
        from ..model.parse import parse_flow

        source = self.flow_source
        try:
            return parse_flow(source) if source is not None else None
        except UserError:  # a plugin missing here, a rule tightened since
            return None
