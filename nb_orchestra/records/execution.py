"""The record of one run of a flow: the execution, its TaskRuns, their Attempts and logs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import OutputNotFoundError
from ..secrets import SecretValues, mask
from . import states
from .clock import DateSlot, clock

if TYPE_CHECKING:
    from ..model.flow import Flow


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A short, URL-safe, unique id like Kestra's base62 execution ids: 88 random bits as hex."""
    return os.urandom(11).hex()


class AttrDict(dict):
    """A dict whose keys also read as attributes: ``ex.outputs.task.value``.

    Keys win over dict methods, so an output named ``values`` or ``keys``
    reads as the output, as it does in Kestra's expressions. Loop values are keys as text, as in
    Kestra; ``[7]`` finds the key ``"7"`` too. A missing key is a short OutputNotFoundError.
    """

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and dict.__contains__(self, name):
            return _wrap(dict.__getitem__(self, name))
        return super().__getattribute__(name)

    def __getattr__(self, name: str) -> Any:  # only when no key and no attribute has the name
        raise self._missing(name)

    def __getitem__(self, key: Any) -> Any:
        if dict.__contains__(self, key):
            return _wrap(dict.__getitem__(self, key))
        if isinstance(key, (int, float)) and not isinstance(key, bool) and dict.__contains__(self, str(key)):
            return _wrap(dict.__getitem__(self, str(key)))
        raise self._missing(key)

    def _missing(self, key: Any) -> OutputNotFoundError:
        known = ", ".join(map(str, self.keys())) or "none"
        return OutputNotFoundError(f"no output `{key}` here (there are: {known})")

    def __dir__(self) -> list[str]:
        return [*map(str, self.keys()), *dir(dict)]


def _wrap(value: Any) -> Any:
    return AttrDict(value) if type(value) is dict else value


class OutputTree(AttrDict):
    """An execution's outputs (task id -> outputs): its text shows the execution's secret values
    masked, since ``ex.outputs`` as a cell's value ends up in the saved notebook. The values read
    from it are the clear ones."""

    __slots__ = ("_secrets", "_states")

    def __init__(self, *args: Any, secrets: Iterable[str] = (), states: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._secrets = secrets
        self._states = states if states is not None else {}

    def _missing(self, key: Any) -> OutputNotFoundError:
        state = self._states.get(key)
        if isinstance(state, dict) and "state" in state:
            known = ", ".join(map(str, self.keys())) or "none"
            return OutputNotFoundError(f"task `{key}` has no outputs: it ended {state['state']} "
                                       f"(tasks with outputs: {known})")
        return super()._missing(key)

    def __repr__(self) -> str:
        return mask(dict.__repr__(self), self._secrets)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class TaskRunView:
    """What a task run shows, live (TaskRun) or read back from the store."""

    __slots__ = ()
    id: str
    task_id: str
    task_type: str | None
    value: str | None
    parent_id: str | None
    state: str
    attempts: Sequence[Any]
    start_date: datetime | None
    end_date: datetime | None
    outputs: dict[str, Any] | None
    metrics: list[dict[str, Any]]
    message: str | None
    planned: int | None  # a flowable's planned child groups (a loop's values), once known; live runs only

    @property
    def duration(self) -> float | None:
        end = self.end_date or (now() if self.state not in states.TERMINAL else None)
        return (end - self.start_date).total_seconds() if end and self.start_date else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "task_id": self.task_id, "type": self.task_type, "value": self.value,
            "parent_id": self.parent_id, "state": self.state, "attempts": len(self.attempts),
            "start_date": self.start_date, "end_date": self.end_date, "outputs": self.outputs,
            "metrics": self.metrics, "message": self.message,
        }

    def __repr__(self) -> str:
        value = f"[{self.value}]" if self.value is not None else ""
        return f"TaskRun({self.task_id}{value} {self.state})"


class LogView:
    """What a log line shows, live or read back."""

    __slots__ = ()
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


@dataclass(eq=False, repr=False, init=False)
class ExecutionFields:
    """The fields every execution has, declared once: the live record sets them in its ``__init__``,
    the store's dataclass takes them as constructor arguments."""

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


class ExecutionView(ExecutionFields):
    """What front ends read of an execution, live (Execution) or read back (StoredExecution)."""

    taskruns: list[Any]
    logs: list[Any]
    outputs: AttrDict
    # Secret values to hide wherever this execution is shown; a stored one was masked when written.
    secrets: Iterable[str] = ()

    @property
    def duration(self) -> float:
        return ((self.end_date or now()) - self.start_date).total_seconds()

    def taskrun(self, task_id: str, value: str | None = None) -> Any:
        """The (last) run of ``task_id``, for a given loop value when given."""
        for run in reversed(self.taskruns):
            if run.task_id == task_id and (value is None or run.value == value):
                return run
        raise KeyError(task_id if value is None else f"{task_id}[{value}]")

    def logs_of(self, task_id: str) -> list[Any]:
        return [log for log in self.logs if log.task_id == task_id]

    @property
    def metrics(self) -> list[AttrDict]:
        """The metrics its task runs reported, in order (Kestra's metrics of an execution): each with
        ``task_id``, ``taskrun_id``, ``name``, ``type`` (counter, timer, gauge), ``value`` (a timer's
        in seconds) and ``tags`` (records/metrics.py)."""
        return [AttrDict(task_id=run.task_id, taskrun_id=run.id, **entry)
                for run in self.taskruns for entry in run.metrics]

    def counts(self) -> dict[str, int]:
        """Number of task runs in each state."""
        out: dict[str, int] = {}
        for run in self.taskruns:
            out[run.state] = out.get(run.state, 0) + 1
        return out

    def children(self, parent: Any) -> Iterator[Any]:
        return (run for run in self.taskruns if run.parent is parent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "namespace": self.namespace, "flow_id": self.flow_id, "revision": self.revision,
            "state": self.state, "start_date": self.start_date, "end_date": self.end_date, "inputs": self.inputs,
            "labels": self.labels, "trigger": self.trigger, "original_id": self.original_id,
            "outputs": dict(self.outputs), "flow_outputs": self.flow_outputs,
            "taskruns": [run.to_dict() for run in self.taskruns], "logs": [log.to_dict() for log in self.logs],
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.namespace}.{self.flow_id} {self.id} {self.state}>"


class Attempt:
    """One try of a task run; ``began`` and ``ended`` are :func:`clock` readings, read as dates
    through ``start_date`` and ``end_date``."""

    __slots__ = ("state", "began", "ended")
    start_date = DateSlot("began")
    end_date = DateSlot("ended")

    def __init__(self, began: float | None = None, state: str = states.RUNNING, ended: float | None = None) -> None:
        self.state = state
        self.began: float = began or clock()
        self.ended = ended

    def __repr__(self) -> str:
        return f"Attempt({self.state})"


class _NoMetrics(list):
    """The metrics of every run that reported none: one shared list, empty and read-only (a run
    gets a list of its own with :meth:`TaskRun.own_metrics`), so finished runs keep no list each."""

    __slots__ = ()

    def _read_only(self, *args: Any) -> NoReturn:
        raise TypeError("add a task run's metrics to TaskRun.own_metrics(), not to the shared empty list")

    append = extend = insert = _read_only
    __setitem__ = __iadd__ = _read_only


NO_METRICS: list[dict[str, Any]] = _NoMetrics()


class _Rare:
    """The fields most task runs never set, kept apart from them: a run has two slots fewer (16 bytes,
    1.6 MB at 100,000 runs) and makes one of these only when it sets one."""

    __slots__ = ("message", "metrics", "planned")

    def __init__(self) -> None:
        self.message: str | None = None  # why it failed, when it did
        self.metrics: list[dict[str, Any]] = NO_METRICS  # counters and timers a task reported
        self.planned: int | None = None  # a flowable's planned child groups, once known


_UNSET = _Rare()  # what every run reads until it sets a rare field; never written to


class _RareField:
    """A TaskRun attribute kept in its :class:`_Rare` record."""

    __slots__ = ("name",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, run: Any, owner: type | None = None) -> Any:
        return self if run is None else getattr(run._rare, self.name)

    def __set__(self, run: Any, value: Any) -> None:
        rare = run._rare
        if rare is _UNSET:
            if value is None:
                return
            rare = run._rare = _Rare()
        setattr(rare, self.name, value)


class TaskRun(TaskRunView):
    """One run of one task; a task inside a ForEach has one run per loop value.

    Its start and end are kept as :func:`clock` readings (``began``, ``ended``: a float is half a
    datetime's size) and read as dates through ``start_date`` and ``end_date``."""

    __slots__ = ("id", "task_id", "task_type", "value", "iteration", "parent", "state",
                 "_attempts", "began", "ended", "outputs", "_rare")
    start_date = DateSlot("began")
    end_date = DateSlot("ended")
    message = _RareField()
    metrics = _RareField()
    planned = _RareField()

    def __init__(self, task_id: str, task_type: str, parent: TaskRun | None,
                 value: str | None = None, iteration: int | None = None):
        self.id = new_id()
        self.task_id = task_id
        self.task_type = task_type
        self.value = value
        self.iteration = iteration
        self.parent = parent
        self.state = states.CREATED
        # Read through ``attempts``: a tuple of them; its only attempt, kept alone (a one-item tuple
        # would cost 56 bytes); or, once the run is settled, that attempt's state alone (see settle()).
        self._attempts: Attempt | tuple[Attempt, ...] | str = ()
        self.began: float = clock()  # always set for a live run (a stored one may lack its start)
        self.ended: float | None = None
        self.outputs: dict[str, Any] | None = None
        self._rare = _UNSET  # message, metrics, planned

    @property
    def duration(self) -> float | None:
        if self.ended is None:
            return None if self.state in states.TERMINAL else clock() - self.began
        return self.ended - self.began

    @property  # derived, not kept: a ForEach's finished runs would keep one tuple each
    def path(self) -> tuple[str, ...]:
        """Loop values of this run and its ancestors, outermost first: how outputs are keyed."""
        base = self.parent.path if self.parent is not None else ()
        return base + (self.value,) if self.value is not None else base

    @property  # the view declares a plain attribute: a stored run keeps the id itself
    def parent_id(self) -> str | None:  # type: ignore[override]
        return self.parent.id if self.parent is not None else None

    @property
    def attempts(self) -> tuple[Attempt, ...]:  # type: ignore[override]  # the view declares a sequence
        kept = self._attempts
        if type(kept) is Attempt:
            return (kept,)
        if type(kept) is str:  # settled: the attempt began and ended with the run
            return (Attempt(self.began, kept, self.ended),)
        return kept  # type: ignore[return-value]

    def add_attempt(self, attempt: Attempt) -> None:
        """Start keeping the run's next attempt."""
        kept = self._attempts
        self._attempts = attempt if not kept else (*self.attempts, attempt)

    def settle(self) -> None:
        """The run has ended: an only attempt that began and ended with it is kept as its state alone
        (48 bytes less per run; ``attempts`` makes it again from the run's dates)."""
        kept = self._attempts
        if type(kept) is Attempt and kept.began is self.began and kept.ended is self.ended:
            self._attempts = kept.state

    def reopen(self) -> None:
        """Unfinish an ended run, before a restart gives it a new attempt."""
        if type(self._attempts) is str:
            self._attempts = self.attempts[0]  # made while the run still has its end
        self.ended, self.message = None, None

    def own_metrics(self) -> list[dict[str, Any]]:
        """The list to add this run's metrics to: its own, made on the first call."""
        if self.metrics is NO_METRICS:
            self.metrics = []
        return self.metrics

    def ancestors(self) -> Iterator[TaskRun]:
        """Its parent, the parent's parent... up to a top-level run."""
        parent = self.parent
        while parent is not None:
            yield parent
            parent = parent.parent


class LogRecord(LogView):
    """A log line as the engine keeps it: its time is a :func:`clock` reading, ``at``."""

    __slots__ = ("task_id", "taskrun_id", "value", "level", "message", "at")
    timestamp = DateSlot("at")

    def __init__(self, task_id: str | None, taskrun_id: str | None, value: str | None, level: str, message: str):
        self.task_id = task_id
        self.taskrun_id = taskrun_id
        self.value = value
        self.level = level
        self.message = message
        self.at = clock()


class ExecutionRecord(ExecutionView):
    """One run of a flow as the engine keeps it: its data, and the controls to kill, resume and wait.

    ``outputs`` maps task id -> outputs (by loop value inside ForEach). The engine's ``Execution``
    adds how a notebook shows it."""

    def __init__(self, flow: Flow, inputs: dict[str, Any], labels: dict[str, str],
                 trigger: dict[str, Any] | None = None, original_id: str | None = None):
        self.id = new_id()
        self.flow = flow
        self.flow_id = flow.id
        self.namespace = flow.namespace
        self.revision = flow.revision
        self.inputs = inputs
        self.vars = flow.variables
        self.labels = labels
        self.trigger = trigger
        self.original_id = original_id or self.id
        # "namespace.id" of the flows whose Subflow tasks started this execution, outermost first.
        self.ancestry: tuple[str, ...] = ()
        self.state = states.CREATED
        self.state_history = [(states.CREATED, now())]
        self.start_date = now()
        self.end_date: datetime | None = None
        self.taskruns: list[TaskRun] = []
        self.logs: list[LogRecord] = []
        # Secret values read by this execution's expressions: masked in its logs and at rest.
        self.secrets: SecretValues = SecretValues()
        self.task_states: dict[str, Any] = {}  # task id -> {"state": ...}, nested by loop values
        self.outputs = OutputTree(secrets=self.secrets, states=self.task_states)  # task id -> outputs, likewise
        self.flow_outputs: dict[str, Any] = {}
        self.message = None
        self._kill = threading.Event()
        self._resume = threading.Event()
        self._done = threading.Event()

    # -- control ------------------------------------------------------------------

    def kill(self) -> None:
        """Ask the engine to stop this execution: running task runs end KILLED."""
        self._kill.set()

    def resume(self) -> None:
        """Resume a PAUSED execution (a Pause task without a duration)."""
        self._resume.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the execution ends (for executions started in the background)."""
        return self._done.wait(timeout)

    @property
    def kill_requested(self) -> threading.Event:
        """Set when :meth:`kill` was called (what long waits and renders watch)."""
        return self._kill

    @property
    def killed(self) -> bool:
        return self._kill.is_set()

    def prepare_restart(self) -> None:
        """Forget the run's results (the engine adopts the kept task runs again) before a restart."""
        self.taskruns.clear()
        self.outputs.clear()
        self.task_states.clear()
        self.flow_outputs.clear()
        self.message = None
        self.end_date = None
        self._kill.clear()
        self._done.clear()
        self.set_state(states.RESTARTED)

    def set_state(self, state: str) -> None:
        self.state = state
        self.state_history.append((state, now()))
        if state in states.TERMINAL:
            self.end_date = now()
