"""The validated flow: Flow, Task and RetryPolicy objects the engine runs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..errors import Problem

if TYPE_CHECKING:
    from ..plugins.base import TaskPlugin
    from .triggers import Trigger


@dataclass(frozen=True)
class RetryPolicy:
    """Kestra's ``retry`` object: when to try a failed attempt again, and after how long.

    ``max_attempts`` counts every attempt, the first included.
    """

    type: str
    max_attempts: int | None = None
    max_duration: timedelta | None = None
    interval: timedelta | None = None
    max_interval: timedelta | None = None
    min_interval: timedelta | None = None
    delay_factor: float = 2.0
    warning_on_retry: bool = False
    behavior: str = "RETRY_FAILED_TASK"

    def next_delay(self, failed_attempts: int, elapsed: timedelta) -> float | None:
        """Seconds to wait before the next attempt, or None when no attempt is left."""
        if self.max_attempts is not None and failed_attempts >= self.max_attempts:
            return None
        delay = self._delay(failed_attempts)
        if self.max_duration is not None and elapsed.total_seconds() + delay > self.max_duration.total_seconds():
            return None
        return delay

    def _delay(self, failed_attempts: int) -> float:
        if self.type == "random":
            low = (self.min_interval or timedelta()).total_seconds()
            return random.uniform(low, (self.max_interval or timedelta()).total_seconds())
        base = (self.interval or timedelta()).total_seconds()
        if self.type == "exponential":
            base *= self.delay_factor ** max(failed_attempts - 1, 0)
            if self.max_interval is not None:
                base = min(base, self.max_interval.total_seconds())
        return base


@dataclass(eq=False)
class Task:
    """One task of a flow, with pluginDefaults applied and child task lists parsed."""

    id: str
    type: str
    plugin: TaskPlugin
    props: dict[str, Any]
    path: tuple
    disabled: bool = False
    run_if: str | None = None
    timeout: timedelta | None = None
    retry: RetryPolicy | None = None
    allow_failure: bool = False
    allow_warning: bool = False
    log_level: str | None = None
    # Child task lists by property name (`then`, `tasks`, `errors`...), disabled tasks removed.
    children: dict[str, list[Task]] = field(default_factory=dict)
    # Maps of task lists (Switch `cases`).
    child_maps: dict[str, dict[str, list[Task]]] = field(default_factory=dict)

    def walk(self):
        """This task and every task nested in it, depth first."""
        yield self
        for tasks in self.children.values():
            for child in tasks:
                yield from child.walk()
        for cases in self.child_maps.values():
            for tasks in cases.values():
                for child in tasks:
                    yield from child.walk()

    def __repr__(self) -> str:
        return f"Task({self.id!r}, {self.type!r})"


@dataclass(eq=False)
class Flow:
    """A validated flow document."""

    id: str
    namespace: str
    tasks: list[Task]
    source: str = ""
    revision: int = 1
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    errors: list[Task] = field(default_factory=list)
    finally_: list[Task] = field(default_factory=list)
    after_execution: list[Task] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    concurrency: dict[str, Any] | None = None
    retry: RetryPolicy | None = None
    disabled: bool = False
    warnings: list[Problem] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.id)

    def all_tasks(self):
        """Every task of the flow, nested ones and errors/finally/afterExecution included."""
        for tasks in (self.tasks, self.errors, self.finally_, self.after_execution):
            for task in tasks:
                yield from task.walk()

    def task(self, task_id: str) -> Task:
        for task in self.all_tasks():
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def __repr__(self) -> str:
        return f"Flow({self.namespace}.{self.id}, {len(self.tasks)} tasks)"
