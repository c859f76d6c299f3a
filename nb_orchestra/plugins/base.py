"""The plugin contract: what a task plugin declares, and all it may reach while it runs.

A plugin is a small class. Validation of a flow is driven by the declared
properties (unknown, missing, wrongly typed), so each plugin only writes the
code that runs it. Runnable plugins return outputs from ``run``; flowable
plugins return a :class:`Plan` of child work and let the engine run it.

A plugin reaches the world only through its :class:`TaskContext` (properties,
logs, files, KV, subflows, the flow registry, runs shown under its own), as a Kestra plugin
reaches it through ``RunContext``;
the engine implements that protocol. Plugin modules import this contract and the
layers below it (expressions, internal storage, KV values), never the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..kv import NamespaceKV
from ..records.execution import ExecutionRecord, ExecutionView, TaskRun
from ..records.states import LOG_LEVELS

if TYPE_CHECKING:
    from ..model.flow import Task

# Log levels a task may log at, lowest first.
LEVELS = LOG_LEVELS

# Property kinds understood by validation and by TaskContext.get().
KINDS = frozenset({
    "string", "int", "number", "bool", "duration", "list", "map", "tasks", "task_map",
    "task_entries", "enum", "any", "string_or_list", "list_or_string", "map_or_string",
})
# "task_entries": a list of maps, each holding one task under `task` beside properties of its own
# (Dag's `dependsOn`), declared by the plugin's ``entry_properties``. The tasks are the task's
# children under that name; the entries stay in its props with `task` replaced by the task's id.


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
    "timeout": Prop("duration", description="Maximum duration of one attempt (ISO-8601); an expression is "
                    "rendered when the attempt starts."),
    "retry": Prop("map", dynamic=False, description="Retry policy: constant, exponential or random."),
    "allowFailure": Prop("bool", default=False, dynamic=False, description="A failure becomes WARNING."),
    "allowWarning": Prop("bool", default=False, dynamic=False, description="A WARNING becomes SUCCESS."),
    "logLevel": Prop("enum", choices=("TRACE", "DEBUG", "INFO", "WARN", "ERROR"), dynamic=False,
                     description="Minimum level of the logs kept for this task."),
    "logToFile": Prop("bool", default=False, dynamic=False, description="Accepted; logs stay in memory."),
    "workerGroup": Prop("map", dynamic=False, description="Refused, as Kestra's open-source edition refuses it "
                        "(Enterprise worker routing)."),
    "taskCache": Prop("map", dynamic=False, description="{enabled, ttl}: a runnable task whose definition renders "
                      "as an earlier successful run's did reuses its outputs (within ttl) instead of running."),
}


@dataclass
class Group:
    """A sequence of child tasks run one after the other, optionally under a loop value."""

    tasks: Sequence[Task]
    value: str | None = None
    iteration: int | None = None
    # A name for ``after`` to refer to, and the names of the groups of the same plan that must
    # have ended before this one starts (Dag's dependsOn); a group with none starts in turn.
    name: str | None = None
    after: Sequence[str] = ()
    # A Loop iteration: ``item`` in the expressions of every task under the group, however deep, and
    # an isolated context: the outputs of its task runs are its own (``outputs.t`` inside it, never
    # in the execution's). ``errors`` run in the group when one of its tasks fails.
    item: Mapping[str, Any] | None = None
    errors: Sequence[Task] = ()


@dataclass(frozen=True)
class GroupEnd:
    """What a plan's ``group_done`` makes of a group that ended: the task's outputs from now on (None
    keeps them) and whether to start no further group (Loop's breakWhen)."""

    outputs: dict[str, Any] | None = None
    stop: bool = False


@dataclass
class Plan:
    """The child work a flowable task hands to the engine.

    ``concurrency`` bounds how many groups run at once: 0 means all at once.
    ``working_dir`` makes every child share one directory (WorkingDirectory): a fresh one, or the given
    one (the task's own ``ctx.working_dir``, filled by its plan).
    ``allow_failure`` ends the task WARNING instead of FAILED when its children fail (AllowFailure).
    ``again`` makes rounds (WaitFor): when every group has ended and none failed, the engine calls it
    with the task's context (its outputs and its children's as they are now); it returns the next
    round's Plan, whose ``outputs`` replace the task's and whose groups start after its ``delay``
    seconds (its own ``again`` decides after that), or None to end; a TaskFailure fails the task.
    ``errors`` None runs the task's own ``errors`` list when a group fails; () runs none (a Loop runs
    them in the failed group).
    ``group_done`` is called when a group ends, with a context seeing what the group's tasks saw
    (``item``, the iteration's outputs), the group and its state; it returns a GroupEnd or None.
    ``transmit_failed`` False: a failed group neither fails the task nor stops the other groups.
    """

    groups: Sequence[Group]
    concurrency: int = 1
    outputs: dict[str, Any] | None = None
    errors: Sequence[Task] | None = None
    finally_: Sequence[Task] = ()
    working_dir: bool | Path = False
    allow_failure: bool = False
    again: Callable[[TaskContext], Plan | None] | None = None
    delay: float = 0.0  # seconds before the groups start: a round's interval (plans ``again`` returns)
    pause: PauseSpec | None = None  # the task run waits PAUSED before its groups start (Pause)
    group_done: Callable[[TaskContext, Group, str], GroupEnd | None] | None = None
    transmit_failed: bool = True


@dataclass(frozen=True)
class PauseSpec:
    """How a flowable task run waits PAUSED before its groups start (Kestra's Pause).

    It ends waiting when the execution is resumed (``Execution.resume(inputs)``: the ``on_resume``
    input declarations check those inputs; the run then goes on as SUCCESS), after ``duration``
    seconds (then ``behavior``: RESUME goes on, WARN goes on and ends WARNING, FAIL fails the run,
    CANCEL ends the execution CANCELLED), or after ``timeout`` seconds (the run FAILS).
    Without duration and timeout it waits until resumed or killed."""

    duration: float | None = None
    behavior: str = "RESUME"
    timeout: float | None = None
    on_resume: Sequence[Mapping[str, Any]] = ()
    on_pause: Sequence[Task] = ()  # started as soon as the run is PAUSED (runs beside the wait)


class TaskPlugin:
    """Base of every task plugin; subclasses set ``type`` and ``properties``."""

    type: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    properties: ClassVar[dict[str, Prop]] = {}
    # Output names and what they hold (documentation; docs/plugins.md is generated from them).
    outputs: ClassVar[dict[str, str]] = {}
    # A flow using this type (YAML), shown by `%flow doc`; when empty, one is made from the
    # required properties (authoring/docs.py).
    example: ClassVar[str] = ""
    # Blocking tasks (sleep, processes, network) run on a worker thread so the
    # coordinator stays responsive to interrupts, kills and timeouts.
    blocking: ClassVar[bool] = False
    flowable: ClassVar[bool] = False
    # Runs Python of the notebook's kernel: not portable to a Kestra server.
    notebook_only: ClassVar[bool] = False
    # Made by another task (ForEachItem's split, subflows and merge), never written in a flow:
    # left out of the catalogue.
    internal: ClassVar[bool] = False

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        raise NotImplementedError

    def plan(self, ctx: TaskContext) -> Plan:
        raise NotImplementedError

    def check(self, task: Task) -> Sequence[tuple[str | tuple[str | int, ...], str]]:
        """Extra save-time checks beyond declared properties: (where, message) pairs, where is a
        property name ('' for the task itself) or a path under the task (("tasks", 2, "dependsOn"))."""
        return []

    def implicit_tasks(self, raw: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Child task lists this task makes from its own (valid) properties ``raw``, by name: task
        maps the parser builds as if written under the task (ForEachItem's split, subflows and
        merge, whose ids are then taken). Their tasks read what they need from their own props."""
        return {}

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
    # The tasks of one child list run one after the other, so a later one may read an earlier one's
    # outputs (validation warns about a read the other way round); False when they start together.
    children_in_order: ClassVar[bool] = True
    # The properties of one entry of a "task_entries" list, beside its `task` (Dag's `dependsOn`).
    entry_properties: ClassVar[dict[str, Prop]] = {}
    properties: ClassVar[dict[str, Prop]] = {
        "errors": Prop("tasks", dynamic=False, description="Tasks run when a child fails."),
        "finally": Prop("tasks", dynamic=False, description="Tasks run after the children, always."),
    }


@dataclass(frozen=True)
class FlowSource:
    """A flow of the registry as plugins see it: where it lives, its revision and its YAML text."""

    namespace: str
    id: str
    revision: int | None  # None for a flow checked but not registered (a dry run)
    source: str


@dataclass(frozen=True)
class ChildRun:
    """Work a task did by itself, shown as a finished run under the task's own run in the tree and the
    Gantt chart (Kestra's dynamic task runs: one per dbt model). It takes no part in the flow's
    outputs, states or expressions."""

    task_id: str
    state: str                      # a final state: SUCCESS, WARNING, FAILED, SKIPPED...
    start: datetime | None = None
    end: datetime | None = None
    task_type: str = ""             # what kind of work it was, e.g. "dbt.model"
    logs: Sequence[tuple[str, str]] = ()  # (level, message), in order
    metrics: Sequence[dict[str, Any]] = ()


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

    def add_child_run(self, child: ChildRun) -> None:
        """Show ``child`` as a finished run under this task run (Kestra's ``dynamicWorkerResult``)."""

    def build_task(self, definition: str) -> Task:
        """A task from its YAML map, built at run time (TemplatedTask's ``spec``) and validated as a flow's
        tasks are, with this task's id when it names none; FlowValidationError (a UserError) locates a problem."""

    def run_task(self, task: Task) -> dict[str, Any] | None:
        """Run the runnable ``task`` in this task run, as Kestra runs a task with another's ``RunContext``
        (same run, variables, files and logs; its properties rendered when it reads them); its outputs."""

    def flows(self, namespace: str, children: bool = False) -> list[FlowSource]:
        """The registered flows (latest revisions) of ``namespace``, and of its child namespaces
        (``namespace.*``) with ``children``."""

    def save_flow(self, source: str, dry_run: bool = False) -> FlowSource:
        """Validate a flow's YAML and register it (a new revision when its text changed); with
        ``dry_run`` only validate it. Raises FlowValidationError (a UserError) for an invalid flow."""

    def delete_flow(self, namespace: str, flow_id: str) -> bool:
        """Remove a flow from the registry; False when there was none."""

    def executions(self, namespace: str | None = None, flow_id: str | None = None,
                   states: Sequence[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> list[ExecutionView]:
        """Stored executions (this process's first written), newest first: of ``namespace`` and its child
        namespaces, of ``flow_id``, in ``states``, started within [``start``, ``end``] (each when given)."""

    def purge_executions(self, ids: Sequence[str], rows: bool = True, logs: bool = True,
                         storage: bool = True) -> dict[str, int]:
        """Delete stored executions: their rows, logs and storage files, as asked; counts of
        ``executions``, ``logs`` and ``files`` removed."""

    def purge_logs(self, end: datetime, start: datetime | None = None, namespace: str | None = None,
                   flow_id: str | None = None, levels: Sequence[str] | None = None) -> int:
        """Delete stored logs written up to ``end`` (from ``start``), of ``flow_id`` in ``namespace`` or of
        ``namespace`` and its children, at ``levels`` when given; returns how many."""

    def find_execution(self, execution_id: str) -> ExecutionView | None:
        """The execution with this exact id: live (of this process) first, else stored; None when unknown."""

    def resume_execution(self, execution_id: str, inputs: Mapping[str, Any] | None = None) -> None:
        """Resume the PAUSED live execution ``execution_id`` (``Execution.resume(inputs)``); a TaskFailure
        when there is none or it is not paused, an InputError when ``inputs`` do not fit."""

    def namespaces(self) -> list[str]:
        """Every namespace known: of the registered flows and of the KV entries, sorted."""

    def toggle_trigger(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
        """Enable or disable a trigger of a registered flow (the scheduler's switch); a UserError names
        an unknown flow or trigger."""


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
