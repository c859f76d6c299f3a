"""The plugin contract: what a task plugin declares, and all it may reach while it runs.

A plugin is a small class. Validation of a flow is driven by the declared
properties (unknown, missing, wrongly typed), so each plugin only writes the
code that runs it. Runnable plugins return outputs from ``run``; flowable
plugins return a :class:`Plan` of child work and let the engine run it.

A plugin reaches the world only through its :class:`TaskContext` (properties,
logs, files, KV, subflows), as a Kestra plugin reaches it through ``RunContext``;
the engine implements that protocol. Plugin modules import this contract and the
layers below it (expressions, internal storage, KV values), never the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..kv import NamespaceKV
from ..records.execution import ExecutionRecord, TaskRun
from ..records.states import LOG_LEVELS

if TYPE_CHECKING:
    from ..model.flow import Task

# Log levels a task may log at, lowest first.
LEVELS = LOG_LEVELS

# Property kinds understood by validation and by TaskContext.get().
KINDS = frozenset({
    "string", "int", "number", "bool", "duration", "list", "map", "tasks", "task_map",
    "enum", "any", "string_or_list", "list_or_string", "map_or_string",
})


@dataclass(frozen=True)
class Prop:
    """A declared task property.

    ``kind`` drives validation and conversion; ``dynamic`` properties are
    rendered as expressions when the task runs (never before).
    """

    kind: str = "any"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    dynamic: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


# Properties every task accepts (Kestra's abstract Task).
COMMON_PROPS: dict[str, Prop] = {
    "id": Prop("string", required=True, dynamic=False, description="Unique id of the task in the flow."),
    "type": Prop("string", required=True, dynamic=False, description="The Kestra type name."),
    "description": Prop("string", dynamic=False, description="Markdown description."),
    "disabled": Prop("bool", default=False, dynamic=False, description="Skip the task entirely."),
    "runIf": Prop("string", description="Expression; when falsy the task run ends SKIPPED."),
    "timeout": Prop("duration", dynamic=False, description="Maximum duration of one attempt (ISO-8601)."),
    "retry": Prop("map", dynamic=False, description="Retry policy: constant, exponential or random."),
    "allowFailure": Prop("bool", default=False, dynamic=False, description="A failure becomes WARNING."),
    "allowWarning": Prop("bool", default=False, dynamic=False, description="A WARNING becomes SUCCESS."),
    "logLevel": Prop("enum", choices=("TRACE", "DEBUG", "INFO", "WARN", "ERROR"), dynamic=False,
                     description="Minimum level of the logs kept for this task."),
    "logToFile": Prop("bool", default=False, dynamic=False, description="Accepted; logs stay in memory."),
    "workerGroup": Prop("map", dynamic=False, description="Accepted and ignored (Enterprise worker routing)."),
}


@dataclass
class Group:
    """A sequence of child tasks run one after the other, optionally under a loop value."""

    tasks: Sequence[Task]
    value: str | None = None
    iteration: int | None = None


@dataclass
class Plan:
    """The child work a flowable task hands to the engine.

    ``concurrency`` bounds how many groups run at once: 0 means all at once.
    ``working_dir`` makes every child share one directory (WorkingDirectory).
    """

    groups: Sequence[Group]
    concurrency: int = 1
    outputs: dict[str, Any] | None = None
    errors: Sequence[Task] = ()
    finally_: Sequence[Task] = ()
    working_dir: bool = False


class TaskPlugin:
    """Base of every task plugin; subclasses set ``type`` and ``properties``."""

    type: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    properties: ClassVar[dict[str, Prop]] = {}
    # Output names and what they hold (documentation; docs/plugins.md is generated from them).
    outputs: ClassVar[dict[str, str]] = {}
    # Blocking tasks (sleep, processes, network) run on a worker thread so the
    # coordinator stays responsive to interrupts, kills and timeouts.
    blocking: ClassVar[bool] = False
    flowable: ClassVar[bool] = False
    # Runs Python of the notebook's kernel: not portable to a Kestra server.
    notebook_only: ClassVar[bool] = False

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        raise NotImplementedError

    def plan(self, ctx: TaskContext) -> Plan:
        raise NotImplementedError

    def check(self, task: Task) -> list[tuple[str, str]]:
        """Extra save-time checks beyond declared properties: (property, message) pairs."""
        return []

    _all_properties: ClassVar[dict[str, Prop]]

    @classmethod
    def all_properties(cls) -> dict[str, Prop]:
        """Common task properties and this plugin's own (computed once per class)."""
        cached = cls.__dict__.get("_all_properties")
        if cached is None:
            cached = {**COMMON_PROPS, **cls.properties}
            cls._all_properties = cached
        return cached

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return (cls.type, *cls.aliases)


class FlowableTask(TaskPlugin):
    """A task whose work is child tasks; it returns a Plan and never runs children itself."""

    flowable = True
    properties: ClassVar[dict[str, Prop]] = {
        "errors": Prop("tasks", dynamic=False, description="Tasks run when a child fails."),
        "finally": Prop("tasks", dynamic=False, description="Tasks run after the children, always."),
    }


class TaskContext(Protocol):
    """What a task sees while it runs (Kestra's ``RunContext``); the engine implements it."""

    task: Task
    run: TaskRun
    variables: dict[str, Any]   # the expression variables of this task run
    cancel: threading.Event     # set when the run is killed or times out
    warning: bool               # a task sets this to end WARNING instead of SUCCESS

    @property
    def execution(self) -> ExecutionRecord: ...

    @property
    def storage_dir(self) -> Path:
        """Where this task run keeps the files it outputs (``kestra:///`` URIs point here)."""

    @property
    def working_dir(self) -> Path:
        """A directory for this task's files (shared by the children of a WorkingDirectory)."""

    def get(self, name: str) -> Any:
        """The declared property ``name``: its default when absent, else rendered and converted."""

    def render(self, value: Any, typed: bool = False) -> Any:
        """Render a string (or every string in a list/map) against this task run's variables."""

    def log(self, level: str, message: str) -> None: ...

    def info(self, message: str) -> None: ...

    def wait(self, seconds: float) -> None:
        """Sleep, but raise :class:`TaskCancelled` at once when the run is killed or times out."""

    def pause(self) -> None:
        """Mark the execution PAUSED until ``Execution.resume()`` (TaskCancelled when killed)."""

    def kv(self, namespace: str) -> NamespaceKV:
        """The KV store of ``namespace`` (Kestra's ``RunContext.namespaceKv``)."""

    def run_subflow(self, namespace: str, flow_id: str, revision: int | None, inputs: Mapping[str, Any],
                    labels: Mapping[str, str], wait: bool) -> ExecutionRecord:
        """Start an execution of a registered flow as a child of this one; with ``wait``, run it to
        its end (a kill of this run kills it too). Raises a UserError for an unknown flow or bad inputs."""


class TaskCancelled(Exception):
    """Raised inside a task body when its run was killed or timed out."""


@dataclass
class TaskFailure(Exception):
    """A task ended in failure for a reason the user can act on (no traceback shown)."""

    message: str
    outputs: dict[str, Any] | None = field(default=None)

    def __str__(self) -> str:
        return self.message


class ExitExecution(Exception):
    """Raised by the Exit task: end the execution now in ``state``."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state
