"""The engine's side of the plugin contract: ``RunContext`` implements ``plugins.base.TaskContext``.

Properties are rendered lazily, when the task asks for them, against the
expression variables of its task run, exactly as Kestra renders them when
the task starts. A rendering error names the task, the property and the
expression.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import expressions, registry
from ..durations import parse_duration
from ..errors import ExecutionNotFoundError, TemplateError
from ..internal_storage import task_run_dir
from ..kv import NamespaceKV
from ..model.parse import parse_flow, parse_task
from ..plugins.base import LEVELS, ChildRun, FlowSource, Prop, TaskCancelled, TaskFailure
from ..records.execution import ExecutionRecord, ExecutionView, TaskRun
from ..store import get_store, recorder

if TYPE_CHECKING:
    from ..model.flow import Task
    from .execution import Execution
    from .runner import Engine

LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}


class Children(Protocol):
    """How a Subflow task's child execution is created and run (the launcher hands it to the engine)."""

    def create(self, parent: ExecutionRecord, namespace: str, flow_id: str, revision: int | None,
               inputs: Mapping[str, Any], labels: Mapping[str, str]) -> ExecutionRecord: ...

    def run(self, child: ExecutionRecord, wait: bool, cancel: threading.Event) -> None: ...


class RunContext:
    """Handed to ``plugin.run``/``plugin.plan``: properties, logs, waits, files, KV, subflows, the
    flow registry (git's SyncFlows/PushFlows), finished runs shown under the task's (dbt models)."""

    __slots__ = ("engine", "task", "run", "variables", "cancel", "warning", "_props")

    def __init__(self, engine: Engine, task: Task, run: TaskRun, variables: dict[str, Any],
                 cancel: threading.Event):
        self.engine = engine
        self.task = task
        self.run = run
        self.variables = variables
        self.cancel = cancel
        self.warning = False  # a task sets this to end WARNING instead of SUCCESS
        self._props = task.plugin.all_properties()

    @property
    def execution(self) -> Execution:
        return self.engine.execution

    def get(self, name: str) -> Any:
        """The property ``name``: its default when absent, else rendered and converted."""
        prop = self._props[name]
        raw = self.task.props.get(name)
        if raw is None:
            return prop.default
        try:
            return _convert(prop, raw, self.variables)
        except TemplateError as exc:
            raise TaskFailure(f"property '{name}': {exc}") from None
        except (TypeError, ValueError) as exc:
            raise TaskFailure(f"property '{name}': {exc}") from None

    def render(self, value: Any, typed: bool = False) -> Any:
        """Render a string (or every string in a list/map) against this task run's variables."""
        return expressions.render_value(value, self.variables, typed=typed)

    def log(self, level: str, message: str) -> None:
        self.engine.log(self.run, self.task, level, message)

    def info(self, message: str) -> None:
        self.log("INFO", message)

    def wait(self, seconds: float) -> None:
        """Sleep, but stop at once (TaskCancelled) when the run is killed or times out."""
        if self.cancel.wait(max(seconds, 0)):
            raise TaskCancelled()

    def pause(self) -> None:
        """PAUSED until ``Execution.resume()``; TaskCancelled when the run is killed meanwhile."""
        self.engine.set_paused(True)
        resume = self.execution._resume
        while not resume.wait(0.1):
            self.wait(0)
        resume.clear()
        self.engine.set_paused(False)

    def kv(self, namespace: str) -> NamespaceKV:
        return NamespaceKV(self.engine.kv, namespace)

    def run_subflow(self, namespace: str, flow_id: str, revision: int | None, inputs: Mapping[str, Any],
                    labels: Mapping[str, str], wait: bool) -> ExecutionRecord:
        children = self.engine.children
        child = children.create(self.execution, namespace, flow_id, revision, inputs, labels)
        self.info(f"started subflow {namespace}.{flow_id}, execution {child.id}")
        children.run(child, wait, self.cancel)
        return child

    def add_child_run(self, child: ChildRun) -> None:
        self.engine.add_child_run(self.run, child)

    def build_task(self, definition: str) -> Task:
        return parse_task(definition, self.task.id)

    def run_task(self, task: Task) -> dict[str, Any] | None:
        ctx = RunContext(self.engine, task, self.run, self.variables, self.cancel)
        outputs = task.plugin.run(ctx)
        self.warning = self.warning or ctx.warning
        return outputs

    def flows(self, namespace: str, children: bool = False) -> list[FlowSource]:
        return [_flow_source(flow) for flow in registry.flows()
                if flow.namespace == namespace or (children and flow.namespace.startswith(namespace + "."))]

    def save_flow(self, source: str, dry_run: bool = False) -> FlowSource:
        flow = parse_flow(source)
        if dry_run:
            return FlowSource(flow.namespace, flow.id, None, flow.source)
        return _flow_source(registry.register(flow))

    def delete_flow(self, namespace: str, flow_id: str) -> bool:
        return registry.delete(namespace, flow_id)

    def executions(self, namespace: str | None = None, flow_id: str | None = None,
                   states: Sequence[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> list[ExecutionView]:
        recorder.flush()
        found = get_store().executions(flow_id=flow_id, namespace=namespace, state=list(states or ()) or None,
                                       since=start, limit=None)
        return [ex for ex in found if end is None or ex.start_date <= end]

    def purge_executions(self, ids: Sequence[str], rows: bool = True, logs: bool = True,
                         storage: bool = True) -> dict[str, int]:
        recorder.flush()
        return get_store().delete_executions(ids, rows=rows, logs=logs, storage=storage)

    def purge_logs(self, end: datetime, start: datetime | None = None, namespace: str | None = None,
                   flow_id: str | None = None, levels: Sequence[str] | None = None) -> int:
        recorder.flush()
        return get_store().delete_logs(end, start=start, namespace=namespace, flow_id=flow_id, levels=levels)

    def find_execution(self, execution_id: str) -> ExecutionView | None:
        from .launch import recent  # launch builds on this module

        if execution_id == self.execution.id:
            return self.execution
        for ex in list(recent):
            if ex.id == execution_id:
                return ex
        recorder.flush()
        try:
            found = get_store().execution(execution_id)
        except ExecutionNotFoundError:
            return None
        return found if found.id == execution_id else None

    def resume_execution(self, execution_id: str, inputs: Mapping[str, Any] | None = None) -> None:
        from .launch import recent  # launch builds on this module

        target = next((ex for ex in list(recent) if ex.id == execution_id), None)
        if target is None:
            raise TaskFailure(f"No execution found for execution id {execution_id} (only executions running in "
                              "this process can be resumed)")
        if target.state != "PAUSED":
            raise TaskFailure(f"Execution {execution_id} is not paused (state {target.state})")
        target.resume(inputs)

    def namespaces(self) -> list[str]:
        return sorted({flow.namespace for flow in registry.flows()} | set(self.engine.kv.namespaces()))

    def toggle_trigger(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
        registry.toggle_trigger(namespace, flow_id, trigger_id, enabled)

    @property
    def storage_dir(self) -> Path:
        """Where this task run keeps the files it outputs (``kestra:///`` URIs point here)."""
        ex = self.execution
        return task_run_dir(ex.namespace, ex.flow_id, ex.id, self.run.task_id, self.run.id)

    @property
    def working_dir(self) -> Path:
        """A directory for this task's files (shared by the children of a WorkingDirectory)."""
        return self.engine.working_dir(self.run)


def _flow_source(flow: Any) -> FlowSource:
    return FlowSource(flow.namespace, flow.id, flow.revision, flow.source)


CORRELATION_ID = "system.correlationId"  # Kestra's Label.CORRELATION_ID
SYSTEM_PREFIX = "system."


def start_date(ex: ExecutionView) -> datetime:
    """``execution.startDate`` as Kestra's expressions see it: to the millisecond (printed
    ``2024-01-31T10:00:00.123Z``)."""
    moment = ex.start_date
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def label_variables(execution: ExecutionView) -> dict[str, Any]:
    """``labels`` in expressions: the execution's labels, Kestra's system labels under ``system``
    (``labels.system.correlationId``: the id of the execution that started the chain of subflows,
    this one's when it has no such label)."""
    labels: dict[str, Any] = {}
    system: dict[str, str] = {"correlationId": execution.id}
    for key, value in execution.labels.items():
        if key.startswith(SYSTEM_PREFIX):
            system[key[len(SYSTEM_PREFIX):]] = value
        else:
            labels[key] = value
    labels.setdefault("system", system)
    return labels


def execution_variables(ex: Execution, runtime: Any, execution_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """The variables every task run of ``ex`` shares (Kestra's RunVariables, minus the task's own)."""
    variables = {
        "flow": {"id": ex.flow_id, "namespace": ex.namespace, "revision": ex.revision},
        "execution": execution_vars if execution_vars is not None else {
            "id": ex.id, "startDate": start_date(ex), "originalId": ex.original_id, "state": ex.state},
        "inputs": ex.inputs,
        "vars": ex.vars,
        "outputs": ex.outputs,
        "tasks": ex.task_states,
        "labels": label_variables(ex),
        "envs": runtime.envs(),
        "_runtime": runtime,
    }
    if ex.trigger is not None:
        variables["trigger"] = ex.trigger
    return variables


def _convert(prop: Prop, raw: Any, variables: dict[str, Any]) -> Any:
    """Render a raw property value as its declared kind asks."""
    if not prop.dynamic:
        return raw
    kind = prop.kind
    if kind in ("string", "enum"):
        return expressions.render(raw if isinstance(raw, str) else expressions.to_text(raw), variables)
    if kind == "duration":
        return parse_duration(expressions.render(str(raw), variables))
    if kind in ("int", "number", "bool"):
        return _scalar(kind, expressions.render_typed(raw, variables) if isinstance(raw, str) else raw)
    if kind == "string_or_list":
        if isinstance(raw, list):
            return [expressions.render(expressions.to_text(x), variables) for x in raw]
        return expressions.render(str(raw), variables)
    if kind in ("list", "list_or_string", "map", "map_or_string"):
        return _collection(kind, raw, variables)
    return expressions.render_value(raw, variables)


def _scalar(kind: str, value: Any) -> Any:
    if kind == "bool":
        return value if isinstance(value, bool) else expressions.is_truthy(value)
    if isinstance(value, str):
        value = json.loads(value)
    if kind == "int":
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    return value


def _collection(kind: str, raw: Any, variables: dict[str, Any]) -> Any:
    """Lists and maps: each element rendered; one expression string is rendered then read as JSON."""
    if isinstance(raw, str):
        value = expressions.render_typed(raw, variables)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"expected a JSON {'list' if 'list' in kind else 'map'}, got {value!r}") from None
        expected = list if "list" in kind else dict
        if not isinstance(value, expected):
            raise ValueError(f"expected a {'list' if expected is list else 'map'}, got {expressions.to_text(value)!r}")
        return value
    return expressions.render_value(raw, variables)
