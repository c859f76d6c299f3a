"""Creating and running executions: inputs, flow concurrency, flow-level retry.

``create_execution`` resolves inputs first, as Kestra does: an input that
fails validation means no execution is created at all.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from .. import expressions, internal_storage, registry
from ..config import settings
from ..errors import FlowDisabledError, SubflowDepthError, UserError
from ..inputs import input_id, resolve_inputs
from ..model.flow import Flow
from ..records import events, states
from ..records.execution import ExecutionRecord
from . import resume
from .context import CORRELATION_ID, SYSTEM_PREFIX
from .execution import Execution
from .runner import Engine


def create_execution(flow: Flow, inputs: Mapping[str, Any] | None = None, labels: Mapping[str, str] | None = None,
                     trigger: dict[str, Any] | None = None, original_id: str | None = None, *,
                     transient: bool = False) -> Execution:
    """A new execution of ``flow`` with resolved inputs; raises InputError listing every bad input.

    A ``transient`` one (a flow test case) is not listed among this process's recent executions."""
    if flow.disabled:
        raise FlowDisabledError(f"Cannot execute a flow which is disabled ({flow.namespace}.{flow.id})")
    flow_vars = {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision}

    def render(template: str, context: dict[str, Any]) -> Any:
        return expressions.render_typed(template, {**context, "flow": flow_vars})

    resolved = resolve_inputs(flow.inputs, inputs or {}, render=render)
    execution = Execution(flow, resolved, {**flow.labels, **(labels or {})}, trigger, original_id=original_id)
    _hide_secret_inputs(execution)
    _store_input_files(execution)
    if not transient:
        recent.append(execution)
    return execution


def _store_input_files(execution: Execution) -> None:
    """FILE inputs given as local files are copied into the execution's storage and become
    ``kestra:///`` URIs, as an uploaded file does on a Kestra server."""
    for holder, leaf in _inputs_of_type(execution, "FILE"):
        local = holder.get(leaf)
        if local and not str(local).startswith("kestra://"):
            folder = settings.execution_dir(execution.namespace, execution.flow_id, execution.id) / "inputs" / leaf
            holder[leaf] = internal_storage.put_file(Path(local), folder)


def _hide_secret_inputs(execution: Execution) -> None:
    """SECRET inputs are masked wherever the execution is shown or stored, as secret() values are."""
    for holder, leaf in _inputs_of_type(execution, "SECRET"):
        if holder.get(leaf) is not None:
            execution.secrets.add(str(holder[leaf]))


def _inputs_of_type(execution: Execution, input_type: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(the map holding it, its key) of each resolved input of ``input_type`` (ids may be dotted)."""
    for declaration in execution.flow.inputs:
        if declaration.get("type") != input_type:
            continue
        *parents, leaf = input_id(declaration).split(".")
        holder: Any = execution.inputs
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            yield holder, leaf


# Executions created in this process, newest last (front ends list and look them up).
recent: deque[Execution] = deque(maxlen=500)


def run_execution(execution: Execution, listeners: events.EventBus | None = None,
                  parent_cancel: threading.Event | None = None, tick: Callable[[], None] | None = None,
                  reuse: resume.Reuse | None = None, *, fixtures: Mapping[tuple[str, str | None], Any] | None = None,
                  transient: bool = False) -> Execution:
    """Run to the end (blocking); returns the execution, or the last one of a flow-level retry.

    ``tick`` is called on this thread several times a second while it runs; ``reuse``
    holds the earlier task runs of a restart or a replay. A flow test case runs ``transient``
    (seen by no process-wide listener, not counted in the flow's concurrency, its subflows too)
    with ``fixtures`` standing in for tasks (see Engine).
    """
    while True:
        if transient:
            Engine(execution, listeners, parent_cancel, tick, reuse, children=_TRANSIENT_CHILDREN,
                   fixtures=fixtures, transient=True).run()
        elif _slots.acquire(execution, listeners):
            try:
                Engine(execution, listeners, parent_cancel, tick, reuse, children=_CHILDREN).run()
            finally:
                _slots.release(execution)
        retry = execution.flow.retry
        if execution.state != states.FAILED or retry is None or retry.behavior != "CREATE_NEW_EXECUTION":
            return execution
        attempts = 1 + sum(1 for _ in _retried(execution))
        if retry.next_delay(attempts, timedelta(seconds=execution.duration)) is None:
            return execution
        execution.set_state(states.RETRIED)
        successor = Execution(execution.flow, execution.inputs, execution.labels, execution.trigger,
                              original_id=execution.original_id)
        if not transient:
            recent.append(successor)
        successor.retried_from = execution  # type: ignore[attr-defined]
        execution, reuse = successor, None


def restart_execution(execution: Execution, listeners: events.EventBus | None = None,
                      tick: Callable[[], None] | None = None) -> Execution:
    """Kestra's Restart: the same execution runs again; what succeeded is kept, failed task runs get
    a new attempt, and what never ran runs now."""
    if execution.state not in (states.FAILED, states.KILLED):
        raise UserError(f"only a FAILED or KILLED execution can be restarted; {execution.id} is {execution.state}")
    reuse = resume.for_restart(list(execution.taskruns))
    execution.prepare_restart()
    return run_execution(execution, listeners, tick=tick, reuse=reuse)


def adopt(execution: Execution) -> Execution:
    """An execution rebuilt from the store joins this process's recent executions."""
    recent.append(execution)
    return execution


def prepare_replay(
    execution: Any, from_task: str, flow: Flow, value: str | None = None
) -> tuple[Execution, resume.Reuse]:
    """The new execution of a Replay, and the earlier task runs it copies (run it with ``reuse``)."""
    candidates = [run for run in execution.taskruns
                  if run.task_id == from_task and (value is None or run.value == value)]
    if not candidates:
        known = ", ".join(dict.fromkeys(run.task_id for run in execution.taskruns))
        what = f"`{from_task}`" + (f" with value `{value}`" if value is not None else "")
        raise UserError(f"execution {execution.id} has no task run of {what} (its task runs: {known})")
    reuse = resume.for_replay(list(execution.taskruns), candidates[0])
    replay = Execution(flow, execution.inputs, dict(execution.labels), execution.trigger,
                       original_id=execution.original_id)
    recent.append(replay)
    return replay, reuse


def _retried(execution: Execution):
    while getattr(execution, "retried_from", None) is not None:
        execution = execution.retried_from  # type: ignore[attr-defined]
        yield execution


def run_in_background(execution: Execution, listeners: events.EventBus | None = None, *,
                      transient: bool = False) -> threading.Thread:
    """Run on a daemon thread (in this context: a test case's settings); ``execution.wait()`` blocks
    until it ends."""
    thread = threading.Thread(target=contextvars.copy_context().run, args=(run_execution, execution, listeners),
                              kwargs={"transient": transient}, daemon=True, name=f"nbo-execution-{execution.id[:8]}")
    thread.start()
    return thread


class _FlowSlots:
    """Kestra's flow ``concurrency``: at most ``limit`` running executions of one flow; with QUEUE,
    waiting executions start in the order they arrived."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running: dict[tuple[str, str], int] = {}
        self._queues: dict[tuple[str, str], deque[Execution]] = {}

    def acquire(self, execution: Execution, listeners: events.EventBus | None) -> bool:
        limit = execution.flow.concurrency
        if not limit:
            return True
        key = execution.flow.key
        with self._cond:
            queue = self._queues.setdefault(key, deque())
            queue.append(execution)
            try:
                while queue[0] is not execution or self._running.get(key, 0) >= limit["limit"]:
                    behavior = limit["behavior"]
                    if behavior in ("CANCEL", "FAIL") or execution.killed:
                        final = states.KILLED if execution.killed else (
                            states.CANCELLED if behavior == "CANCEL" else states.FAILED)
                        execution.message = f"flow concurrency limit of {limit['limit']} reached ({behavior})"
                        _set_state(execution, final, listeners)
                        execution._done.set()
                        return False
                    if execution.state != states.QUEUED:
                        _set_state(execution, states.QUEUED, listeners)
                    self._cond.wait(0.1)
                self._running[key] = self._running.get(key, 0) + 1
                return True
            finally:
                queue.remove(execution)
                self._cond.notify_all()

    def release(self, execution: Execution) -> None:
        if not execution.flow.concurrency:
            return
        with self._cond:
            self._running[execution.flow.key] -= 1
            self._cond.notify_all()


class _Children:
    """How a Subflow task's child execution is created and run: the engine is handed this. The
    children of a transient execution (a flow test case) are transient too."""

    def __init__(self, transient: bool = False) -> None:
        self.transient = transient

    def create(self, parent: ExecutionRecord, namespace: str, flow_id: str, revision: int | None,
               inputs: Mapping[str, Any], labels: Mapping[str, str]) -> Execution:
        ancestry = (*parent.ancestry, f"{parent.namespace}.{parent.flow_id}")
        if len(ancestry) >= settings.max_subflow_depth:
            chain = " -> ".join((*ancestry, f"{namespace}.{flow_id}"))
            raise SubflowDepthError(f"subflows nest deeper than {settings.max_subflow_depth} levels ({chain}); "
                                    "raise nb_orchestra.configure(max_subflow_depth=...) if that is intended")
        trigger = {"executionId": parent.id, "namespace": parent.namespace,
                   "flowId": parent.flow_id, "flowRevision": parent.revision}
        # Kestra hands the parent's system labels to the child; the first execution of the chain is
        # the correlation id of every execution it starts, directly or not.
        system = {key: value for key, value in parent.labels.items() if key.startswith(SYSTEM_PREFIX)}
        system.setdefault(CORRELATION_ID, parent.id)
        child = create_execution(registry.find_flow(namespace, flow_id, revision), inputs,
                                 labels={**system, **labels}, trigger=trigger, transient=self.transient)
        child.ancestry = ancestry
        child.secrets.update(parent.secrets.values())  # what the parent hides, its child hides too
        return child

    def run(self, child: ExecutionRecord, wait: bool, cancel: threading.Event) -> None:
        assert isinstance(child, Execution)
        if wait:
            run_execution(child, parent_cancel=cancel, transient=self.transient)
        else:
            run_in_background(child, transient=self.transient)


_CHILDREN, _TRANSIENT_CHILDREN = _Children(), _Children(transient=True)


def _set_state(execution: Execution, state: str, listeners: events.EventBus | None) -> None:
    execution.set_state(state)
    event = events.ExecutionChanged(execution, state)
    events.bus.publish(event)
    if listeners:
        listeners.publish(event)


_slots = _FlowSlots()
