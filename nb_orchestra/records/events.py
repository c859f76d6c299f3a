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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .execution import ExecutionRecord, LogRecord, TaskRun


class _Event:
    """Plain slotted objects, not dataclasses: one is made per state change of every task run, so
    building them must cost next to nothing. Treat them as read-only."""

    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name != "execution")
        return f"{type(self).__name__}({fields})"


class ExecutionChanged(_Event):
    __slots__ = ("execution", "state")

    def __init__(self, execution: ExecutionRecord, state: str):
        self.execution = execution
        self.state = state


class TaskRunChanged(_Event):
    __slots__ = ("execution", "taskrun", "state")

    def __init__(self, execution: ExecutionRecord, taskrun: TaskRun, state: str):
        self.execution = execution
        self.taskrun = taskrun
        self.state = state


class LogEmitted(_Event):
    __slots__ = ("execution", "record")

    def __init__(self, execution: ExecutionRecord, record: LogRecord):
        self.execution = execution
        self.record = record


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
