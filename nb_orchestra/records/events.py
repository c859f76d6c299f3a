"""Events the engine publishes; front ends (CLI, notebook view, store) subscribe.

Listeners are called synchronously on the thread that caused the event (the
coordinator, or a worker for log lines), so they must be quick: record and
return. A front end that draws does so from the execution's state on its own
schedule; the engine never waits for it. A failing listener is reported once
on stderr and never breaks an execution.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .execution import ExecutionRecord, LogRecord, TaskRun


@dataclass(frozen=True)
class ExecutionChanged:
    execution: ExecutionRecord
    state: str


@dataclass(frozen=True)
class TaskRunChanged:
    execution: ExecutionRecord
    taskrun: TaskRun
    state: str


@dataclass(frozen=True)
class LogEmitted:
    execution: ExecutionRecord
    record: LogRecord


Event = ExecutionChanged | TaskRunChanged | LogEmitted
Listener = Callable[[Event], None]


class EventBus:
    """A list of listeners; cheap to publish to when nobody listens."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns a function that removes it."""
        with self._lock:
            self._listeners = [*self._listeners, listener]
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = [x for x in self._listeners if x is not listener]

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception as exc:  # a broken front end must not break the run
                print(f"nb_orchestra: event listener {listener!r} failed: {exc!r}", file=sys.stderr)


# Process-wide bus: the store and the notebook view subscribe here once.
bus = EventBus()
