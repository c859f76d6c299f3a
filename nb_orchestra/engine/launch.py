"""Creating and running executions: inputs, flow concurrency, flow-level retry.

``create_execution`` resolves inputs first, as Kestra does: an input that
fails validation means no execution is created at all.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import expressions, storage
from ..config import settings
from ..errors import UserError
from ..inputs import input_id, resolve_inputs
from ..model.flow import Flow
from . import events, resume, states
from .execution import Execution
from .runner import Engine


class FlowDisabledError(UserError):
    """The flow has ``disabled: true``."""


def create_execution(flow: Flow, inputs: Mapping[str, Any] | None = None, labels: Mapping[str, str] | None = None,
                     trigger: dict[str, Any] | None = None, original_id: str | None = None) -> Execution:
    """A new execution of ``flow`` with resolved inputs; raises InputError listing every bad input."""
    if flow.disabled:
        raise FlowDisabledError(f"Cannot execute a flow which is disabled ({flow.namespace}.{flow.id})")
    flow_vars = {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision}

    def render(template: str, context: dict[str, Any]) -> Any:
        return expressions.render_typed(template, {**context, "flow": flow_vars})

    resolved = resolve_inputs(flow.inputs, inputs or {}, render=render)
    execution = Execution(flow, resolved, {**flow.labels, **(labels or {})}, trigger, original_id=original_id)
    _store_input_files(execution)
    recent.append(execution)
    return execution


def _store_input_files(execution: Execution) -> None:
    """FILE inputs given as local files are copied into the execution's storage and become
    ``kestra:///`` URIs, as an uploaded file does on a Kestra server."""
    for declaration in execution.flow.inputs:
        if declaration.get("type") != "FILE":
            continue
        *parents, leaf = input_id(declaration).split(".")
        holder: Any = execution.inputs
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        local = holder.get(leaf) if isinstance(holder, dict) else None
        if local and not str(local).startswith("kestra://"):
            folder = settings.execution_dir(execution.namespace, execution.flow_id, execution.id) / "inputs" / leaf
            holder[leaf] = storage.put_file(Path(local), folder)


# Executions created in this process, newest last (front ends list and look them up).
recent: deque[Execution] = deque(maxlen=500)


def run_execution(execution: Execution, listeners: events.EventBus | None = None,
                  parent_cancel: threading.Event | None = None, tick: Callable[[], None] | None = None,
                  reuse: resume.Reuse | None = None) -> Execution:
    """Run to the end (blocking); returns the execution, or the last one of a flow-level retry.

    ``tick`` is called on this thread several times a second while it runs; ``reuse``
    holds the earlier task runs of a restart or a replay.
    """
    if settings.record:
        from ..store.recorder import start_recording

        start_recording()  # every execution is kept in the store (idempotent, cheap after the first call)
    while True:
        if _slots.acquire(execution, listeners):
            try:
                Engine(execution, listeners, parent_cancel, tick, reuse).run()
            finally:
                _slots.release(execution)
        retry = execution.flow.retry
        if execution.state != states.FAILED or retry is None or retry.behavior != "CREATE_NEW_EXECUTION":
            return execution
        attempts = 1 + sum(1 for _ in _retried(execution))
        if retry.next_delay(attempts, execution.end_date - execution.start_date) is None:
            return execution
        execution.set_state(states.RETRIED)
        successor = Execution(execution.flow, execution.inputs, execution.labels, execution.trigger,
                              original_id=execution.original_id)
        recent.append(successor)
        successor.retried_from = execution  # type: ignore[attr-defined]
        execution, reuse = successor, None


def restart_execution(execution: Execution, listeners: events.EventBus | None = None,
                      tick: Callable[[], None] | None = None) -> Execution:
    """Kestra's Restart: the same execution runs again; what succeeded is kept, failed task runs get
    a new attempt, and what never ran runs now."""
    if execution.state not in (states.FAILED, states.KILLED):
        raise UserError(f"only a FAILED or KILLED execution can be restarted; {execution.id} is {execution.state}")
    if not isinstance(execution, Execution):  # an earlier process's: it lives here from now on
        execution = revive(execution)
        recent.append(execution)
    reuse = resume.for_restart(list(execution.taskruns))
    execution.prepare_restart()
    return run_execution(execution, listeners, tick=tick, reuse=reuse)


def revive(stored: Any) -> Execution:
    """A live Execution from a stored one (an earlier process's), for a restart or a replay."""
    from ..api import load_flow

    if isinstance(stored, Execution):
        return stored
    execution = Execution(load_flow(stored.flow_source), stored.inputs, dict(stored.labels), stored.trigger,
                          original_id=stored.original_id)
    execution.id, execution.state = stored.id, stored.state
    execution.start_date, execution.end_date = stored.start_date, stored.end_date
    copies: dict[str, Any] = {}
    for old in stored.taskruns:  # parents come before their children
        copies[old.id] = resume.copy_run(old, copies.get(old.parent_id), keep_id=True)
    execution.taskruns.extend(copies.values())
    execution.outputs.update(stored.outputs)
    execution.flow_outputs.update(stored.flow_outputs)
    return execution


def prepare_replay(execution: Any, from_task: str, value: str | None = None,
                   flow: Flow | None = None) -> tuple[Execution, resume.Reuse]:
    """The new execution of a Replay, and the earlier task runs it copies (run it with ``reuse``)."""
    candidates = [run for run in execution.taskruns
                  if run.task_id == from_task and (value is None or run.value == value)]
    if not candidates:
        known = ", ".join(dict.fromkeys(run.task_id for run in execution.taskruns))
        what = f"`{from_task}`" + (f" with value `{value}`" if value is not None else "")
        raise UserError(f"execution {execution.id} has no task run of {what} (its task runs: {known})")
    reuse = resume.for_replay(list(execution.taskruns), candidates[0])
    replay = Execution(flow or revive(execution).flow, execution.inputs, dict(execution.labels), execution.trigger,
                       original_id=execution.original_id)
    recent.append(replay)
    return replay, reuse


def replay_execution(execution: Any, from_task: str, value: str | None = None, flow: Flow | None = None,
                     listeners: events.EventBus | None = None) -> Execution:
    """Kestra's Replay: a new execution that copies the task runs before ``from_task`` (its run for
    loop value ``value``) and runs that task and everything after it again."""
    replay, reuse = prepare_replay(execution, from_task, value, flow)
    return run_execution(replay, listeners, reuse=reuse)


def _retried(execution: Execution):
    while getattr(execution, "retried_from", None) is not None:
        execution = execution.retried_from  # type: ignore[attr-defined]
        yield execution


def run_in_background(execution: Execution, listeners: events.EventBus | None = None) -> threading.Thread:
    """Run on a daemon thread; ``execution.wait()`` blocks until it ends."""
    thread = threading.Thread(target=run_execution, args=(execution, listeners), daemon=True,
                              name=f"nbo-execution-{execution.id[:8]}")
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


def _set_state(execution: Execution, state: str, listeners: events.EventBus | None) -> None:
    execution.set_state(state)
    event = events.ExecutionChanged(execution, state)
    events.bus.publish(event)
    if listeners:
        listeners.publish(event)


_slots = _FlowSlots()
