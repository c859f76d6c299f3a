"""The executor: runs one execution's tree of task runs to a final state.

The coordinator runs on the calling thread (in a notebook, the kernel's main
thread, where an interrupt arrives as KeyboardInterrupt). It walks a tree of
scopes: the execution, then each flowable task run, each holding groups of
tasks run in order. Quick task bodies (Log, Return...) run inline; blocking
ones (Sleep, scripts, HTTP, subflows) and any task with a timeout run on a
bounded pool of worker threads. The coordinator waits for them in short
slices so an interrupt or a kill is never stuck behind a task.

All bookkeeping happens on the coordinator thread; workers only run task
bodies and hand results back through a queue.
"""

from __future__ import annotations

import contextvars
import functools
import heapq
import itertools
import queue
import shutil
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from .. import expressions
from ..config import settings
from ..durations import format_duration, parse_duration
from ..errors import RenderStopped, UserError
from ..plugins.base import ChildRun, ExitExecution, Group, GroupEnd, TaskCancelled, TaskFailure
from ..records import events, states
from ..records.clock import clock
from ..records.execution import Attempt, AttrDict, LogRecord, TaskRun, now
from ..store.kv import StoreKV
from . import resume, task_cache
from .context import LEVEL_RANK, Children, RunContext, execution_variables, label_variables, start_date
from .execution import Execution
from .runtime import Runtime

WAIT_SLICE = 0.1  # seconds the coordinator blocks at most before checking interrupts and kills
KILL_GRACE = 5.0  # seconds to let killed task bodies return before giving up on them

MAIN, ERRORS, FINALLY, DONE = range(4)


@functools.cache
def _state_node(state: str) -> dict[str, str]:
    """``{"state": state}``, the ``tasks.<id>`` of a run: one per state, shared by every run in that
    state. Never changed: expressions cannot change a dict (immutable sandbox), nor does the engine."""
    return {"state": state}


class _Scope:
    """The children of one owner: main groups, then ``errors`` on failure, then ``finally``."""

    __slots__ = ("owner", "pending", "limit", "running", "state", "failed", "phase",
                 "errors", "finally_", "working_dir", "on_done", "ended", "allow_failure", "again",
                 "group_done", "transmit_failed")

    def __init__(self, owner: TaskRun | None, groups: Sequence[Group], limit: int,
                 errors: Sequence, finally_: Sequence, on_done: Callable[[_Scope], None]):
        self.owner = owner
        self.pending = deque(groups)
        self.limit = limit
        self.running = 0
        self.state = states.SUCCESS
        self.failed = False
        self.phase = MAIN
        self.errors = errors
        self.finally_ = finally_
        self.working_dir: Path | None = None
        self.on_done = on_done
        self.ended: set[str] = set()  # names of the groups that ended (for Group.after)
        self.allow_failure = False    # Plan.allow_failure
        self.again: Callable | None = None  # Plan.again: the next round, when every group has ended
        self.group_done: Callable[..., GroupEnd | None] | None = None  # Plan.group_done
        self.transmit_failed = True  # Plan.transmit_failed


class _Frame:
    """A Loop iteration's own context (``Group.item``): ``item`` for every task under it, and the
    outputs of its task runs, kept out of the execution's (and of the enclosing iteration's)."""

    __slots__ = ("item", "outputs", "depth", "parent")

    def __init__(self, item: Mapping[str, Any], depth: int, parent: _Frame | None):
        self.item = item
        self.outputs = AttrDict()
        self.depth = depth    # loop values of the paths of the runs under it that are outside it
        self.parent = parent  # the enclosing iteration, for a loop inside a loop

    def visible_outputs(self, execution_outputs: dict[str, Any]) -> AttrDict:
        """``outputs`` inside the iteration: the enclosing ones, this iteration's over them."""
        outer = self.parent.visible_outputs(execution_outputs) if self.parent else execution_outputs
        return AttrDict({**outer, **self.outputs})


class _Block:
    """One group of tasks of a scope, run one after the other."""

    __slots__ = ("scope", "group", "tasks", "index", "value", "iteration", "state", "phase", "name",
                 "errors", "frame")

    def __init__(self, scope: _Scope, group: Group, frame: _Frame | None):
        self.scope = scope
        self.group = group
        self.tasks = group.tasks
        self.errors = group.errors  # run in the block when one of its tasks fails (then emptied)
        self.frame = frame
        self.index = 0
        self.value = group.value
        self.iteration = group.iteration
        self.state = states.SUCCESS
        self.phase = scope.phase
        self.name = group.name


class Engine:
    """Runs one Execution. Create it, then call :meth:`run` (blocking)."""

    def __init__(self, execution: Execution, listeners: events.EventBus | None = None,
                 parent_cancel: threading.Event | None = None, tick: Callable[[], None] | None = None,
                 reuse: resume.Reuse | None = None, *, children: Children,
                 fixtures: Mapping[tuple[str, str | None], Any] | None = None, transient: bool = False):
        self.execution = execution
        self.flow = execution.flow
        self.listeners = listeners or events.EventBus()
        self.kv = StoreKV()
        self.children = children  # how Subflow tasks start child executions
        self.runtime = Runtime(self.kv, execution.secrets, execution.logs)
        self._parent_cancel = parent_cancel
        # Called on the coordinator's thread at least every WAIT_SLICE: a front end on the
        # kernel's main thread redraws from there (output from other threads is unreliable).
        self._tick = tick
        self._reuse = reuse  # earlier task runs, when restarting or replaying
        # A flow test case's stand-ins by (task id, loop value); value None stands in for every run.
        self._fixtures = fixtures
        # A transient execution (a test case) is not published on the process-wide bus: neither the
        # store's recorder nor the Flow-trigger listener sees it.
        self._bus = events.EventBus() if transient else events.bus
        self._todo: deque[tuple[Callable, Any]] = deque()
        self._completions: queue.SimpleQueue = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Callable, Any]] = []
        self._seq = itertools.count()
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight = 0  # task bodies running on workers
        self._blocks: dict[str, _Block] = {}      # task run id -> its block
        self._tasks: dict[str, Any] = {}          # task run id -> Task
        self._scopes: dict[str, _Scope] = {}      # flowable task run id -> its scope
        self._cancels: dict[str, threading.Event] = {}
        self._paused: dict[str, _Scope] = {}      # task run id -> the scope of a PAUSED Pause
        self._frames: dict[str, _Frame] = {}      # task run id -> the Loop iteration it runs in
        self._cache_keys: dict[str, str] = {}     # task run id -> its taskCache key, while its attempt runs
        self._work_dirs: list[Path] = []
        self._halted = False        # no new task starts (kill or Exit)
        self._exit_state: str | None = None
        self._finished = False
        self._execution_vars = {"id": execution.id, "startDate": start_date(execution),
                                "originalId": execution.original_id, "state": execution.state}
        self._base = self._base_variables()

    # -- public -----------------------------------------------------------------------

    def run(self) -> Execution:
        """Run to a final state. On KeyboardInterrupt: kill, finish as KILLED, re-raise."""
        ex = self.execution
        self._set_execution_state(states.RUNNING)
        root = _Scope(None, [Group(self.flow.tasks)], 1, self.flow.errors, self.flow.finally_, self._main_done)
        self._todo.append((self._advance, root))
        try:
            self._loop()
        except KeyboardInterrupt:
            self._kill_all("interrupted")
            raise
        finally:
            self._close()
        return ex

    def log(self, run: TaskRun | None, task: Any, level: str, message: str) -> None:
        """Record a log line of a task run (or of the execution when ``run`` is None)."""
        if task is not None and task.log_level and LEVEL_RANK.get(level, 2) < LEVEL_RANK[task.log_level]:
            return
        value = self.runtime.mask(run.value) if run is not None and run.value is not None else None
        record = LogRecord(run.task_id if run else None, run.id if run else None, value, level,
                           self.runtime.mask(message))
        self.execution.logs.append(record)
        if self._bus or self.listeners:
            self._publish(events.LogEmitted(self.execution, record))

    def add_child_run(self, parent: TaskRun, child: ChildRun) -> TaskRun:
        """A finished run a task reported under its own (``ctx.add_child_run``, from its worker): in
        the execution's task runs and events, with its logs and metrics, but never in ``outputs`` or
        ``tasks`` (its id is not a task of the flow)."""
        run = TaskRun(child.task_id, child.task_type, parent)
        attempt = Attempt()
        run.start_date = attempt.start_date = child.start or now()
        run.end_date = attempt.end_date = child.end or now()
        run.state = attempt.state = child.state
        run.add_attempt(attempt)
        if child.metrics:
            run.own_metrics().extend(child.metrics)
        self.execution.taskruns.append(run)
        for level, message in child.logs:
            self.log(run, None, level, message)
        if self._bus or self.listeners:
            self._publish(events.TaskRunChanged(self.execution, run, run.state))
        return run

    def working_dir(self, run: TaskRun) -> Path:
        """The shared directory of an enclosing WorkingDirectory, else a fresh one for ``run``."""
        for parent in run.ancestors():
            scope = self._scopes.get(parent.id)
            if scope is not None and scope.working_dir is not None:
                return scope.working_dir
        return self._new_work_dir()

    def set_paused(self, paused: bool) -> None:
        self._set_execution_state(states.PAUSED if paused else states.RUNNING)

    # -- the coordinator loop ---------------------------------------------------------

    def _loop(self) -> None:
        ex = self.execution
        steps = 0
        while True:
            while self._todo:
                fn, arg = self._todo.popleft()
                fn(arg)
                steps += 1
                if self._tick is not None and steps % 256 == 0:
                    self._tick()
            if self._finished:
                return
            if ex.killed or (self._parent_cancel is not None and self._parent_cancel.is_set()):
                self._kill_all("killed")
                return
            if self._paused and ex._resume.is_set():
                ex._resume.clear()
                self._resume_paused()
                continue
            if self._exit_state is not None and self._in_flight == 0:
                self._end(self._exit_state)
                continue
            self._wait_for_work()
            if self._tick is not None:
                self._tick()

    def _wait_for_work(self) -> None:
        timeout = WAIT_SLICE
        if self._timers:
            timeout = min(timeout, max(self._timers[0][0] - time.monotonic(), 0))
        try:
            item = self._completions.get(timeout=timeout)
        except queue.Empty:
            item = None
        if item is not None:
            self._in_flight -= 1
            self._attempt_done(*item)
        current = time.monotonic()
        while self._timers and self._timers[0][0] <= current:
            _, _, fn, arg = heapq.heappop(self._timers)
            fn(arg)

    def _after(self, seconds: float, fn: Callable, arg: Any) -> None:
        heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._seq), fn, arg))

    # -- scopes and blocks -------------------------------------------------------------

    def _advance(self, scope: _Scope) -> None:
        """Start what a scope may start now; move it to its next phase when idle."""
        if self._halted or scope.phase == DONE or (scope.owner is not None and scope.owner.id in self._paused):
            return
        if scope.phase == MAIN:
            while scope.pending and not scope.failed and (scope.limit == 0 or scope.running < scope.limit):
                group = self._ready_group(scope)
                if group is None:
                    break
                self._start_block(scope, group)
            if scope.running:
                return
            if scope.pending and not scope.failed:
                self._fail_scope(scope, "tasks wait for tasks that never run: "
                                 + ", ".join(str(group.name) for group in scope.pending))
            if scope.again is not None and not scope.failed and self._next_round(scope):
                return
            scope.phase = ERRORS
            if scope.failed and scope.errors:
                self._start_block(scope, Group(scope.errors))
                return
        if scope.phase == ERRORS and scope.running == 0:
            scope.phase = FINALLY
            if scope.finally_:
                self._start_block(scope, Group(scope.finally_))
                return
        if scope.phase == FINALLY and scope.running == 0:
            scope.phase = DONE
            scope.on_done(scope)

    @staticmethod
    def _ready_group(scope: _Scope) -> Group | None:
        """The next pending group that may start: in turn, or the first whose ``after`` all ended."""
        if not scope.pending[0].after:
            return scope.pending.popleft()
        for i, group in enumerate(scope.pending):
            if all(name in scope.ended for name in group.after):
                del scope.pending[i]
                return group
        return None

    def _fail_scope(self, scope: _Scope, message: str) -> None:
        scope.pending.clear()
        scope.failed = True
        scope.state = states.FAILED
        if scope.owner is not None:
            message = self.runtime.mask(message)
            scope.owner.message = message.splitlines()[0] if message else message
            self.log(scope.owner, None, "ERROR", message)

    def _next_round(self, scope: _Scope) -> bool:
        """Ask a plan with rounds (``Plan.again``) for the next one; False when they are over."""
        run = scope.owner
        assert run is not None and scope.again is not None
        task = self._tasks[run.id]
        ctx = RunContext(self, task, run, self._variables(task, run), self._cancel_of(run))
        try:
            plan = scope.again(ctx)
        except (UserError, TaskFailure, ValueError) as exc:
            self._fail_scope(scope, str(exc))
            return False
        if plan is None:
            return False
        if plan.outputs is not None:
            self._record_outputs(run, plan.outputs)
        scope.again = plan.again
        if plan.delay > 0:
            self._after(plan.delay, self._start_round, (scope, plan.groups))
        else:
            self._todo.append((self._start_round, (scope, plan.groups)))
        return True

    def _start_round(self, args: tuple[_Scope, Sequence[Group]]) -> None:
        scope, groups = args
        scope.pending.extend(groups)
        self._advance(scope)

    def _start_block(self, scope: _Scope, group: Group) -> None:
        scope.running += 1
        owner = scope.owner
        frame = self._frames.get(owner.id) if owner is not None else None
        if group.item is not None and owner is not None:
            frame = _Frame(group.item, len(owner.path) + (group.value is not None), frame)
        self._todo.append((self._next_in_block, _Block(scope, group, frame)))

    def _next_in_block(self, block: _Block) -> None:
        if self._halted:
            return
        if block.index >= len(block.tasks):
            self._block_done(block)
            return
        task = block.tasks[block.index]
        block.index += 1
        self._start_task(block, task)

    def _block_done(self, block: _Block) -> None:
        scope = block.scope
        scope.running -= 1
        if block.name is not None:
            scope.ended.add(block.name)
        # Plan.transmit_failed False: a failed group is the group's own business
        kept = block.phase == MAIN and not scope.transmit_failed and block.state in states.FAILURES
        if block.phase != ERRORS and not kept:  # errors tasks never make a failed scope succeed
            scope.state = states.worst(scope.state, block.state)
        if block.state in states.FAILURES and not kept:
            scope.failed = True
        if block.phase == MAIN and scope.group_done is not None:
            self._group_done(block)
        self._advance(scope)

    def _group_done(self, block: _Block) -> None:
        """Plan.group_done: what the plan makes of a group that ended (Loop's outputs, breakWhen)."""
        scope = block.scope
        run = scope.owner
        assert run is not None and scope.group_done is not None
        task = self._tasks[run.id]
        variables = self._variables(task, run)
        if block.frame is not None:
            self._apply_frame(variables, block.frame)
        ctx = RunContext(self, task, run, variables, self._cancel_of(run))
        try:
            end = scope.group_done(ctx, block.group, block.state)
        except (UserError, TaskFailure, ValueError) as exc:
            self._fail_scope(scope, str(exc))
            return
        if end is not None and end.outputs is not None:
            self._record_outputs(run, end.outputs)
        if end is not None and end.stop:
            scope.pending.clear()

    def _after_run(self, run: TaskRun) -> None:
        block = self._blocks.pop(run.id)
        block.state = states.worst(block.state, run.state)
        if run.state in states.FAILURES and block.errors:  # the group's own errors (a Loop iteration's)
            block.tasks, block.index, block.errors = block.errors, 0, ()
            self._next_in_block(block)
        elif run.state in states.FAILURES:
            self._block_done(block)
        else:
            self._next_in_block(block)

    # -- task runs ---------------------------------------------------------------------

    def _start_task(self, block: _Block, task: Any) -> None:
        parent = block.scope.owner
        reuse, earlier = self._reuse, self._earlier_run(task, parent, block)
        if reuse is not None and earlier is not None and block.phase == MAIN and reuse.keep(earlier):
            self._adopt(reuse, block, earlier, parent)
            return
        began = None  # when the first attempt starts: a new run's is when it was created (one date for both)
        if reuse is not None and earlier is not None and reuse.same_objects:  # restart: a new attempt of the same run
            run = earlier
            run.reopen()
        else:
            run = TaskRun(task.id, task.type, parent, block.value, block.iteration)
            began = run.began
        if block.frame is not None:
            self._frames[run.id] = block.frame
        self.execution.taskruns.append(run)
        self._blocks[run.id] = block
        self._tasks[run.id] = task
        self._set_run_state(run, states.RUNNING)
        variables = self._variables(task, run)
        if task.run_if is not None:
            try:
                go = expressions.is_truthy(expressions.render(str(task.run_if), variables))
            except UserError as exc:
                self._fail_run(run, f"runIf: {exc}")
                return
            if not go:
                self._finish_run(run, states.SKIPPED)
                return
        if self._fixtures is not None:
            fixture = self._fixtures.get((task.id, run.value)) or self._fixtures.get((task.id, None))
            if fixture is not None:
                self._stand_in(run, fixture, variables)
                return
        if task.plugin.flowable:
            self._start_flowable(run, task, variables)
        else:
            self._start_attempt((run, task, variables, began))

    def _stand_in(self, run: TaskRun, fixture: Any, variables: dict[str, Any]) -> None:
        """A test fixture ends the run with its outputs and state; the task's body (or its children)
        never runs."""
        attempt = Attempt()
        run.add_attempt(attempt)
        try:
            outputs = expressions.render_value(fixture.outputs, {**variables, **fixture.variables}, typed=True)
        except UserError as exc:
            attempt.state = states.FAILED
            self._fail_run(run, f"fixture outputs: {exc}")
            return
        attempt.state, attempt.ended = fixture.state, clock()
        if outputs:
            self._record_outputs(run, dict(outputs))
        self.log(run, None, "INFO", f"fixture: not run, ends {fixture.state}"
                 + (f" ({fixture.description})" if fixture.description else ""))
        if fixture.state == states.FAILED:
            run.message = "fixture: state FAILED"
        self._finish_run(run, fixture.state, attempt.ended)

    def _earlier_run(self, task: Any, parent: TaskRun | None, block: _Block) -> Any:
        """The same task's run in the execution being restarted or replayed, if any."""
        if self._reuse is None:
            return None
        path = parent.path if parent is not None else ()
        return self._reuse.find(task.id, path + (block.value,) if block.value is not None else path)

    def _adopt(self, reuse: resume.Reuse, block: _Block, earlier: Any, parent: TaskRun | None) -> None:
        """Keep an earlier run (and everything under it) instead of running the task again."""
        run = earlier if reuse.same_objects else resume.copy_run(earlier, parent)
        if block.frame is not None:
            self._frames[run.id] = block.frame
        self._keep_subtree(reuse, earlier, run)
        self._blocks[run.id] = block
        self._todo.append((self._after_run, run))

    def _keep_subtree(self, reuse: resume.Reuse, earlier: Any, run: TaskRun) -> None:
        self.execution.taskruns.append(run)
        if run.outputs:
            self._record_outputs(run, dict(run.outputs))
        self._set_run_state(run, run.state)
        for child in reuse.children.get(earlier.id, []):
            kept = child if reuse.same_objects else resume.copy_run(child, run)
            if run.id in self._frames:
                self._frames[kept.id] = self._frames[run.id]
            self._keep_subtree(reuse, child, kept)

    def _start_flowable(self, run: TaskRun, task: Any, variables: dict[str, Any]) -> None:
        ctx = RunContext(self, task, run, variables, self._cancel_of(run))
        try:
            plan = task.plugin.plan(ctx)
        except (UserError, TaskFailure, ValueError) as exc:
            self._fail_run(run, str(exc))
            return
        if plan.outputs is not None:
            self._record_outputs(run, plan.outputs)
        run.planned = len(plan.groups)  # a loop's total, for progress views
        scope = _Scope(run, plan.groups, plan.concurrency,
                       plan.errors if plan.errors is not None else task.children.get("errors", ()),
                       plan.finally_ or task.children.get("finally", ()), self._flowable_done)
        if plan.working_dir:
            scope.working_dir = plan.working_dir if isinstance(plan.working_dir, Path) else self._new_work_dir()
        scope.allow_failure, scope.again = plan.allow_failure, plan.again
        scope.group_done, scope.transmit_failed = plan.group_done, plan.transmit_failed
        self._scopes[run.id] = scope
        if plan.pause is not None:
            self._pause(scope, plan.pause)
            return
        self._advance(scope)

    # -- Pause ---------------------------------------------------------------------------

    def _pause(self, scope: _Scope, spec: Any) -> None:
        """A run waits PAUSED (Plan.pause) until resumed, or its duration or timeout ends."""
        run = scope.owner
        assert run is not None
        if not self._paused:
            self.execution._resume.clear()  # a resume() asked before this pause is not this pause's
        self._paused[run.id] = scope
        self._set_run_state(run, states.PAUSED)
        self.set_paused(True)
        if spec.on_pause:
            self._start_block(scope, Group(spec.on_pause))
        if spec.duration is not None:
            self._after(spec.duration, self._pause_ended, (scope, spec.behavior, spec.duration))
        elif spec.timeout is not None:
            self._after(spec.timeout, self._pause_ended, (scope, "TIMEOUT", spec.timeout))

    def _resume_paused(self) -> None:
        """Execution.resume(): every PAUSED run goes on, with the onResume inputs it was given."""
        given = getattr(self.execution, "_resume_inputs", {})
        for run_id, scope in list(self._paused.items()):
            self._unpause(scope, states.SUCCESS, given.pop(run_id, {}))
            self._advance(scope)

    def _unpause(self, scope: _Scope, to: str, values: Mapping[str, Any]) -> None:
        run = scope.owner
        assert run is not None
        del self._paused[run.id]
        on = now().astimezone().replace(tzinfo=None)
        self._record_outputs(run, {**(run.outputs or {}), "onResume": dict(values),
                                   "resumed": {"by": None, "on": on, "to": to}})
        self._set_run_state(run, states.RUNNING)
        if not self._paused and self.execution.state == states.PAUSED:
            self.set_paused(False)
        if to == states.WARNING:
            scope.state = states.WARNING

    def _pause_ended(self, args: tuple) -> None:
        """A pause's duration (then its behavior) or timeout (then FAILED) is over."""
        scope, behavior, seconds = args
        run = scope.owner
        if self._halted or run is None or run.id not in self._paused:
            return  # resumed, killed or exited meanwhile
        text = format_duration(timedelta(seconds=seconds))
        if behavior in ("RESUME", "WARN"):
            self._unpause(scope, states.WARNING if behavior == "WARN" else states.SUCCESS, {})
            self._advance(scope)
            return
        if behavior == "CANCEL":
            del self._paused[run.id]
            self.log(run, None, "WARN", f"pauseDuration {text} is over: the execution is cancelled (behavior CANCEL)")
            self._exit(states.CANCELLED)
            return
        self._unpause(scope, states.FAILED, {})
        self._fail_scope(scope, f"Timeout after {text}" if behavior == "TIMEOUT"
                         else f"pauseDuration {text} is over: the task fails (behavior FAIL)")
        self._advance(scope)

    def _flowable_done(self, scope: _Scope) -> None:
        assert scope.owner is not None  # only the root scope has none, and it ends with _main_done
        state = scope.state
        if scope.allow_failure and state == states.FAILED:
            state = states.WARNING
        self._finish_run(scope.owner, state)

    def _start_attempt(self, args: tuple) -> None:
        run, task, variables, began = args
        if self._halted or run.state in states.TERMINAL:
            return
        attempt = Attempt(began)
        run.add_attempt(attempt)
        if run.state != states.RUNNING:
            self._set_run_state(run, states.RUNNING)
        variables["taskrun"]["attemptsCount"] = len(run.attempts) - 1
        cancel = self._cancel_of(run, fresh=True)
        ctx = RunContext(self, task, run, variables, cancel)
        timeout = task.timeout
        if timeout is None and task.props.get("timeout") is not None:  # an expression, rendered per attempt
            try:
                timeout = parse_duration(expressions.render(str(task.props["timeout"]), variables))
            except (UserError, ValueError) as exc:
                self._fail_run(run, f"property 'timeout': {exc}")
                attempt.state, attempt.ended = states.FAILED, clock()
                return
        if task_cache.enabled(task) and self._cached(run, task, attempt, variables):
            return
        if task.plugin.blocking or timeout is not None:
            self._in_flight += 1
            # the body sees the coordinator's context: a test case's settings (its own home)
            self._executor().submit(contextvars.copy_context().run, self._call_on_worker, run, task, attempt, ctx)
            if timeout is not None:
                self._after(timeout.total_seconds(), self._timed_out, (run, task, attempt, cancel, timeout))
        else:
            self._attempt_done(run, task, attempt, self._call(ctx))

    def _cached(self, run: TaskRun, task: Any, attempt: Attempt, variables: dict[str, Any]) -> bool:
        """taskCache: the outputs of an identical earlier run end this attempt SUCCESS, the body not run."""
        try:
            digest = task_cache.key(task, variables)
        except (UserError, ValueError) as exc:
            self.log(run, None, "ERROR", f"Unable to create the cache key for the task '{task.id}': {exc}")
            return False
        try:
            outputs = task_cache.load(self.execution, task, digest, run.value)
        except (OSError, ValueError) as exc:
            self.log(run, None, "ERROR", f"Unexpected exception while loading the cache for task '{task.id}', "
                     f"the task will be executed instead: {exc}")
            outputs = None
        if outputs is None:
            self._cache_keys[run.id] = digest
            return False
        self.log(run, None, "INFO",
                 f"Skipping task execution for task '{task.id}' as there is an existing cache entry for it")
        attempt.state, attempt.ended = states.SUCCESS, clock()
        if outputs:
            self._record_outputs(run, outputs)
        self._finish_run(run, states.SUCCESS, attempt.ended)
        return True

    def _save_cache(self, run: TaskRun, task: Any, digest: str, outputs: dict[str, Any] | None) -> None:
        self.log(run, None, "INFO", f"Uploading a cache entry for task '{task.id}'")
        try:
            task_cache.save(self.execution, digest, run.value, outputs)
        except (OSError, ValueError, TypeError) as exc:
            self.log(run, None, "ERROR", f"Unexpected exception while uploading the cache entry for task "
                     f"'{task.id}', the task not be cached: {exc}")

    def _call_on_worker(self, run: TaskRun, task: Any, attempt: Attempt, ctx: RunContext) -> None:
        self._completions.put((run, task, attempt, self._call(ctx)))

    def _call(self, ctx: RunContext) -> tuple:
        """Run a task body; returns ("ok", outputs, warning) | ("failed", message, outputs) | ..."""
        try:
            with expressions.stop_when(ctx.cancel, self.execution.kill_requested):
                return ("ok", ctx.task.plugin.run(ctx), ctx.warning)
        except (TaskCancelled, RenderStopped):
            return ("cancelled",)
        except ExitExecution as exc:
            return ("exit", exc.state)
        except TaskFailure as exc:
            return ("failed", exc.message, exc.outputs)
        except UserError as exc:
            return ("failed", str(exc), None)
        except Exception as exc:  # a bug, in a plugin or ours: keep the traceback in the log
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            return ("failed", f"{type(exc).__name__}: {exc}\n{detail}", None)

    def _attempt_done(self, run: TaskRun, task: Any, attempt: Attempt, result: tuple) -> None:
        if attempt.state != states.RUNNING:  # timed out or killed meanwhile: a late answer
            return
        attempt.ended = clock()
        kind = result[0]
        if kind == "ok":
            attempt.state = states.SUCCESS
            if result[1]:
                self._record_outputs(run, result[1])
            digest = self._cache_keys.pop(run.id, None)
            if digest is not None:
                self._save_cache(run, task, digest, result[1])
            warned = result[2] or (len(run.attempts) > 1 and task.retry is not None and task.retry.warning_on_retry)
            self._finish_run(run, states.WARNING if warned else states.SUCCESS, attempt.ended)
        elif kind == "failed":
            attempt.state = states.FAILED
            if result[2]:
                self._record_outputs(run, result[2])
            self._attempt_failed(run, task, result[1])
        elif kind == "exit":
            attempt.state = states.SUCCESS
            self._finish_run(run, states.SUCCESS, attempt.ended)
            self._exit(result[1])
        else:  # cancelled without a kill or a timeout: the task gave up by itself
            attempt.state = states.KILLED
            self._finish_run(run, states.KILLED, attempt.ended)

    def _timed_out(self, args: tuple) -> None:
        run, task, attempt, cancel, timeout = args
        if attempt.state != states.RUNNING:
            return
        cancel.set()
        attempt.state = states.FAILED
        attempt.ended = clock()
        text = task.props.get("timeout") if task.timeout is not None else format_duration(timeout)
        self._attempt_failed(run, task, f"Timeout after {text}")

    def _attempt_failed(self, run: TaskRun, task: Any, message: str) -> None:
        self.log(run, None, "ERROR", message)
        policy = task.retry or self._inherited_retry(run) or (
            self.flow.retry if self.flow.retry and self.flow.retry.behavior == "RETRY_FAILED_TASK" else None)
        delay = None
        if policy is not None and not self._halted:
            delay = policy.next_delay(len(run.attempts), timedelta(seconds=clock() - run.began))
        if delay is None:
            self._fail_run(run, message, run.attempts[-1].ended)  # the attempt that just failed
            return
        self._set_run_state(run, states.RETRYING)
        self.log(run, None, "WARN", f"attempt {len(run.attempts)} failed; retrying in {delay:g}s")
        variables = self._variables(task, run)
        self._after(delay, self._start_attempt, (run, task, variables, None))

    def _inherited_retry(self, run: TaskRun) -> Any:
        """The retry of the nearest enclosing flowable task that has one: Kestra retries a failed child
        without a retry of its own with it (the child again, not the flowable)."""
        for parent in run.ancestors():
            owner = self._tasks.get(parent.id)
            if owner is not None and owner.retry is not None:
                return owner.retry
        return None

    def _fail_run(self, run: TaskRun, message: str, ended: float | None = None) -> None:
        message = self.runtime.mask(message)
        run.message = message.splitlines()[0] if message else message
        if not run.attempts or run.attempts[-1].state == states.RUNNING:
            self.log(run, None, "ERROR", message)
        self._finish_run(run, states.FAILED, ended)

    def _finish_run(self, run: TaskRun, state: str, ended: float | None = None) -> None:
        """End a run; ``ended``: when its last attempt ended, the run's end too (one object for both)."""
        task = self._tasks.pop(run.id)
        if state == states.FAILED and task.allow_failure:
            state = states.WARNING
        if state == states.WARNING and task.allow_warning:
            state = states.SUCCESS
        run.ended = ended or clock()
        run.settle()
        self._set_run_state(run, state)
        self._cancels.pop(run.id, None)
        self._todo.append((self._after_run, run))

    def _set_run_state(self, run: TaskRun, state: str) -> None:
        run.state = state
        tree = self.execution.task_states  # `tasks.<id>.state`, by loop value inside ForEach
        path = run.path
        if not path:
            tree[run.task_id] = _state_node(state)
        else:
            node = tree.setdefault(run.task_id, {})
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = _state_node(state)
        if self._bus or self.listeners:
            self._publish(events.TaskRunChanged(self.execution, run, state))

    def _record_outputs(self, run: TaskRun, outputs: dict[str, Any]) -> None:
        """Keep a run's outputs where expressions find them: outputs[task][value]..., in the
        execution's outputs or, inside a Loop iteration, in the iteration's own."""
        run.outputs = AttrDict(outputs)
        frame = self._frames.get(run.id)
        node = frame.outputs if frame is not None else self.execution.outputs
        path = run.path[frame.depth:] if frame is not None else run.path
        if not path:
            node[run.task_id] = run.outputs
            return
        for key in (run.task_id, *path[:-1]):
            node = node.setdefault(key, AttrDict())
        node[path[-1]] = run.outputs

    # -- ending ------------------------------------------------------------------------

    def _main_done(self, scope: _Scope) -> None:
        self._end(scope.state)

    def _exit(self, state: str) -> None:
        """The Exit task: start nothing more; KILLED also stops what runs."""
        self._halted = True
        self._exit_state = state
        if state == states.KILLED:
            self.execution.kill()

    def _end(self, state: str) -> None:
        """Give the execution its final state, render flow outputs, run afterExecution."""
        self._exit_state = None
        for run in self.execution.taskruns:  # flowables left open by Exit
            if run.state not in states.TERMINAL:
                run.ended = clock()
                self._set_run_state(run, state if state in states.TERMINAL else states.KILLED)
        if state in (states.SUCCESS, states.WARNING):
            state = self._render_flow_outputs(state)
        self._set_execution_state(state)
        after = self.flow.after_execution
        if after and state != states.KILLED:
            self._halted = False
            scope = _Scope(None, [Group(after)], 1, (), (), self._after_execution_done)
            self._todo.append((self._advance, scope))
        else:
            self._finished = True

    def _after_execution_done(self, scope: _Scope) -> None:
        self._finished = True

    def _render_flow_outputs(self, state: str) -> str:
        if not self.flow.outputs:
            return state
        from ..inputs import coerce_input

        variables = dict(self._base)
        variables["labels"] = label_variables(self.execution)
        for output in self.flow.outputs:
            try:
                value = expressions.render_value(output.get("value"), variables, typed=True)
                if str(output.get("type", "STRING")).upper() == "STRING" and value is not None \
                        and not isinstance(value, str):
                    value = expressions.to_text(value)  # Kestra renders a STRING output as text (maps as JSON)
                self.execution.flow_outputs[output["id"]] = coerce_input(output, value)
            except (UserError, ValueError) as exc:
                self.log(None, None, "ERROR", f"Invalid output for `{output['id']}`: {exc}")
                self.execution.message = f"Invalid output for `{output['id']}`: {exc}"
                return states.FAILED
        return state

    def _kill_all(self, why: str) -> None:
        """Stop everything: running task runs end KILLED; wait a little for their bodies."""
        self._halted = True
        self._todo.clear()
        self._timers.clear()
        for run in self.execution.taskruns:
            if run.state not in states.TERMINAL:
                if run.attempts and run.attempts[-1].state == states.RUNNING:
                    run.attempts[-1].state = states.KILLED
                    run.attempts[-1].ended = clock()
                run.ended = clock()
                self._set_run_state(run, states.KILLED)
        for cancel in self._cancels.values():
            cancel.set()
        self.log(None, None, "WARN", f"execution {why}")
        self._set_execution_state(states.KILLED)
        self._finished = True
        deadline = time.monotonic() + KILL_GRACE
        try:
            while self._in_flight and time.monotonic() < deadline:
                try:
                    self._completions.get(timeout=WAIT_SLICE)
                    self._in_flight -= 1
                except queue.Empty:
                    pass
        except KeyboardInterrupt:  # a second interrupt: stop waiting for stubborn tasks
            pass

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=self._in_flight == 0, cancel_futures=True)
        for path in self._work_dirs:
            shutil.rmtree(path, ignore_errors=True)
        if self.execution.state not in states.TERMINAL:  # an internal error escaped the loop
            self._set_execution_state(states.FAILED)
        self.execution._done.set()

    # -- helpers -----------------------------------------------------------------------

    def _set_execution_state(self, state: str) -> None:
        self.execution.set_state(state)
        self._execution_vars["state"] = state
        if self._bus or self.listeners:
            self._publish(events.ExecutionChanged(self.execution, state))

    def _publish(self, event: events.Event) -> None:
        self._bus.publish(event)
        self.listeners.publish(event)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="nbo-worker")
        return self._pool

    def _cancel_of(self, run: TaskRun, fresh: bool = False) -> threading.Event:
        cancel = self._cancels.get(run.id)
        if cancel is None or fresh:
            cancel = self._cancels[run.id] = threading.Event()
        return cancel

    def _new_work_dir(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"nbo-{self.execution.id[:8]}-"))
        self._work_dirs.append(path)
        return path

    def _base_variables(self) -> dict[str, Any]:
        return execution_variables(self.execution, self.runtime, self._execution_vars)

    def _variables(self, task: Any, run: TaskRun) -> dict[str, Any]:
        """The expression variables of one task run (Kestra's RunVariables)."""
        variables = self._base.copy()
        variables["labels"] = label_variables(self.execution)  # the Labels task adds some while it runs
        variables["task"] = {"id": task.id, "type": task.type}
        taskrun: dict[str, Any] = {"id": run.id, "startDate": run.start_date, "attemptsCount": 0}
        if run.value is not None:
            taskrun["value"] = run.value
        if run.iteration is not None:
            taskrun["iteration"] = run.iteration
        if run.parent is not None:
            taskrun["parentId"] = run.parent.id
            parents = []
            for parent in run.ancestors():
                entry: dict[str, Any] = {"taskrun": {"id": parent.id}, "outputs": parent.outputs or {}}
                if parent.value is not None:
                    entry["taskrun"]["value"] = parent.value
                if parent.value is not None or parent.outputs:  # Kestra lists only these (Execution.parents)
                    parents.append(entry)
                scope = self._scopes.get(parent.id)
                if scope is not None and scope.working_dir is not None and "workingDir" not in variables:
                    variables["workingDir"] = str(scope.working_dir)
            if parents:
                variables["parent"] = parents[0]
            variables["parents"] = parents
        variables["taskrun"] = taskrun
        frame = self._frames.get(run.id)
        if frame is not None:
            self._apply_frame(variables, frame)
        return variables

    def _apply_frame(self, variables: dict[str, Any], frame: _Frame) -> None:
        """What the tasks of a Loop iteration see: its ``item``, its outputs over the others."""
        variables["item"] = frame.item
        variables["outputs"] = frame.visible_outputs(self.execution.outputs)
