"""The in-kernel scheduler: one background thread that starts executions at their cron ticks and
polls HTTP triggers (their requests go out on :class:`HttpPolls` threads, never on this one).

``arm(flow)`` (called for every registered flow revision) replaces that flow's
triggers, here and in the Flow-trigger listener's index. Schedule ticks of one
trigger never overlap: a tick that comes due while the trigger's previous
execution still runs waits for it to end, as in Kestra. Flow triggers are fired
by a :class:`FlowTriggerListener`; the scheduler only keeps their enabled flag
and last execution so both kinds list together.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import api
from ..engine.execution import Execution
from ..errors import UserError
from ..model.conditions import ConditionError
from ..model.flow import Flow
from ..model.http_trigger import HttpTrigger
from ..model.triggers import FlowTrigger, ScheduleTrigger, flow_variables
from ..records import events, states
from .clock import Clock, RealClock
from .flow_trigger import FlowTriggerListener, TriggerKey
from .http_poll import HttpPolls, PollResult
from .state import TriggerState, default_state

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class TriggerRow:
    """One line of ``%flow triggers``."""

    flow: str
    trigger_id: str
    type: str
    cron: str | None
    next_fire: datetime | None
    last_execution_id: str | None
    last_state: str | None
    enabled: bool
    warning: str | None = None  # why the last poll of an HTTP trigger failed


@dataclass(eq=False)
class _Armed:
    flow: Flow
    trigger: ScheduleTrigger | FlowTrigger | HttpTrigger
    enabled: bool
    next_due: datetime | None = None  # an HTTP trigger's next poll (None while one is in flight)
    warning: str | None = None
    last: Execution | None = None
    # The last execution has not ended: set when it is created, cleared when its end event is handled
    # (not when its state changes, so stopAfter applies before the next tick may fire).
    busy: bool = False

    @property
    def key(self) -> TriggerKey:
        return (*self.flow.key, self.trigger.id)

    def due(self, now: datetime) -> bool:
        return self.enabled and self.next_due is not None and self.next_due <= now


class Scheduler:
    """Arms the triggers of registered flows and fires Schedule ticks on a background thread."""

    def __init__(self, clock: Clock | None = None, state: TriggerState | None = None) -> None:
        self.clock = clock or RealClock()
        self.state = state or default_state()
        self._armed: dict[TriggerKey, _Armed] = {}
        self._watched: dict[str, _Armed] = {}  # execution id -> the trigger whose last execution it is
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._untoggle: Callable[[], None] | None = None
        self._flow_triggers = FlowTriggerListener(self.clock, self._is_enabled, self._started)
        self._http = HttpPolls()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread and the Flow-trigger listener (idempotent)."""
        if self._thread is not None:
            return
        self._unsubscribe = events.bus.subscribe(self._on_event)
        self._untoggle = api.on_trigger_toggle(self._on_toggle)
        self._flow_triggers.start()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="nbo-scheduler")
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop firing; executions already started keep running."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._flow_triggers.stop()
        self._http.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._untoggle is not None:
            self._untoggle()
            self._untoggle = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- arming ----------------------------------------------------------------------------

    def arm(self, flow: Flow) -> None:
        """Replace ``flow``'s armed triggers with its Schedule, Flow and HTTP triggers."""
        with self._lock:
            previous = self._remove(flow.namespace, flow.id)
            for trigger in flow.triggers:
                if not isinstance(trigger, (ScheduleTrigger, FlowTrigger, HttpTrigger)):
                    continue
                switch = api.trigger_switch(*flow.key, trigger.id)
                enabled = (not trigger.disabled) if switch is None else switch
                armed = _Armed(flow, trigger, enabled=enabled and not flow.disabled)
                before = previous.get(armed.key)
                if before is not None and before.last is not None:
                    self._watch(armed, before.last, busy=before.busy)
                if isinstance(trigger, ScheduleTrigger):
                    armed.next_due = self._first_due(armed)
                elif isinstance(trigger, HttpTrigger):  # as Kestra: the first poll one interval from now
                    armed.next_due = self.clock.now() + trigger.interval
                self._armed[armed.key] = armed
        self._flow_triggers.arm(flow)
        self._wake.set()

    def _remove(self, namespace: str, flow_id: str) -> dict[TriggerKey, _Armed]:
        gone = {key: armed for key, armed in self._armed.items() if key[:2] == (namespace, flow_id)}
        for key in gone:
            del self._armed[key]
        return gone

    def _first_due(self, armed: _Armed) -> datetime | None:
        """The first tick to fire, recovering missed ones as ``recoverMissedSchedules`` says."""
        trigger, now = armed.trigger, self.clock.now()
        assert isinstance(trigger, ScheduleTrigger)
        last = self.state.get_last(*armed.key)
        mode = trigger.recover_missed_schedules
        if last is None or mode == "NONE":
            return trigger.next_after(now)
        if mode == "LAST":
            return self._latest_missed(trigger, last) or trigger.next_after(now)
        return trigger.next_after(last)

    def _latest_missed(self, trigger: ScheduleTrigger, last: datetime | None) -> datetime | None:
        latest = trigger.previous_before(self.clock.now() + _SECOND)
        return latest if latest is not None and (last is None or latest > last) else None

    # -- listing and toggling --------------------------------------------------------------

    def rows(self) -> list[TriggerRow]:
        """Every armed trigger, by flow then trigger id."""
        with self._lock:
            return [TriggerRow(
                flow=f"{a.flow.namespace}.{a.flow.id}", trigger_id=a.trigger.id, type=a.trigger.kind,
                cron=a.trigger.cron if isinstance(a.trigger, ScheduleTrigger) else None,
                next_fire=a.next_due if a.enabled else None, last_execution_id=a.last.id if a.last else None,
                last_state=a.last.state if a.last else None, enabled=a.enabled, warning=a.warning,
            ) for _, a in sorted(self._armed.items())]

    def enable(self, trigger_id: str, flow_id: str | None = None, namespace: str | None = None) -> None:
        """Enable a trigger; a Schedule resumes at its next tick (LAST: at the latest missed one), as Kestra."""
        with self._lock:
            armed = self._find(trigger_id, flow_id, namespace)
            if armed.flow.disabled:
                raise UserError(f"flow {armed.flow.namespace}.{armed.flow.id} is disabled")
            if not armed.enabled and isinstance(armed.trigger, ScheduleTrigger):
                latest = (self._latest_missed(armed.trigger, self.state.get_last(*armed.key))
                          if armed.trigger.recover_missed_schedules == "LAST" else None)
                armed.next_due = latest or armed.trigger.next_after(self.clock.now())
            armed.enabled = True
        self._wake.set()

    def disable(self, trigger_id: str, flow_id: str | None = None, namespace: str | None = None) -> None:
        """Disable a trigger until it is enabled again or its flow is redefined."""
        with self._lock:
            self._find(trigger_id, flow_id, namespace).enabled = False

    def _on_toggle(self, key: TriggerKey, enabled: bool) -> None:
        """A task switched a trigger (trigger.Toggle): as ``enable``/``disable`` (a trigger not armed
        here takes the switch when it is armed)."""
        namespace, flow_id, trigger_id = key
        try:
            (self.enable if enabled else self.disable)(trigger_id, flow_id, namespace)
        except UserError:
            pass

    def _find(self, trigger_id: str, flow_id: str | None, namespace: str | None) -> _Armed:
        found = [a for (ns, fid, tid), a in self._armed.items()
                 if tid == trigger_id and flow_id in (None, fid) and namespace in (None, ns)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(f"{ns}.{fid}.{tid}" for ns, fid, tid in sorted(self._armed)) or "none"
        problem = "is ambiguous, name its flow" if found else "is not an armed trigger"
        raise UserError(f"trigger '{trigger_id}' {problem} (armed triggers: {known})")

    def _is_enabled(self, key: TriggerKey) -> bool:
        with self._lock:
            armed = self._armed.get(key)
            return armed is None or armed.enabled

    def _started(self, key: TriggerKey, execution: Execution) -> None:
        with self._lock:
            if key in self._armed:
                self._watch(self._armed[key], execution)

    def _watch(self, armed: _Armed, execution: Execution, busy: bool = True) -> None:
        """``execution`` is ``armed``'s last one; while ``busy``, its end events are awaited."""
        if armed.last is not None:
            self._watched.pop(armed.last.id, None)
        armed.last, armed.busy = execution, busy
        if busy:
            self._watched[execution.id] = armed

    # -- firing ----------------------------------------------------------------------------

    def run_pending(self) -> None:
        """Fire every Schedule tick that is due, oldest first, never two at once for one trigger; send the
        requests of the HTTP triggers due."""
        now = self.clock.now()
        with self._lock:
            for armed in list(self._armed.values()):
                if isinstance(armed.trigger, HttpTrigger):
                    if armed.due(now) and not armed.busy:
                        self._poll(armed, now)
                    continue
                while armed.due(now) and not armed.busy:
                    tick = armed.next_due
                    assert tick is not None and isinstance(armed.trigger, ScheduleTrigger)
                    armed.next_due = armed.trigger.next_after(tick)
                    late = armed.trigger.late_maximum_delay
                    self.state.set_last(*armed.key, tick)
                    if late is None or now - tick <= late:
                        self._fire(armed, tick)

    def _fire(self, armed: _Armed, tick: datetime) -> None:
        trigger = armed.trigger
        assert isinstance(trigger, ScheduleTrigger)
        flow = flow_variables(armed.flow)
        try:
            if not trigger.allows(tick, flow):
                return  # the trigger's conditions refuse this tick
        except ConditionError as exc:
            print(f"nb_orchestra: schedule {'.'.join(armed.key)} at {tick.isoformat()}: its conditions could not "
                  f"be evaluated, no execution: {exc}", file=sys.stderr)
            return
        self._start(armed, trigger.variables(tick, flow), f"schedule {'.'.join(armed.key)} at {tick.isoformat()}")

    def _start(self, armed: _Armed, variables: dict[str, Any], what: str) -> None:
        """Start an execution of ``armed``'s flow with these ``trigger`` variables."""
        trigger = armed.trigger
        try:
            execution = api.create(armed.flow, trigger.render_inputs(armed.flow, variables),
                                   labels=trigger.labels, trigger=variables)
        except UserError as exc:
            print(f"nb_orchestra: {what} did not start an execution: {exc}", file=sys.stderr)
            return
        self._watch(armed, execution)
        api.start(execution, background=True)

    def _poll(self, armed: _Armed, now: datetime) -> None:
        """Send a due HTTP trigger's request off this thread; not due again until its answer is in."""
        assert isinstance(armed.trigger, HttpTrigger)
        armed.next_due = None
        self._http.submit(armed.flow, armed.trigger, now, lambda result: self._polled(armed, result))

    def _polled(self, armed: _Armed, result: PollResult) -> None:
        """A poll's answer (on a poll thread): the next poll one interval from now; the execution it found."""
        assert isinstance(armed.trigger, HttpTrigger)
        with self._lock:
            if self._armed.get(armed.key) is not armed:
                return  # the flow was redefined while the request ran
            armed.next_due = self.clock.now() + armed.trigger.interval
            armed.warning = result.warning
            if result.warning:
                print(f"nb_orchestra: WARN trigger {'.'.join(armed.key)}: {result.warning}", file=sys.stderr)
            elif result.variables is not None and armed.enabled:
                self._start(armed, result.variables, f"trigger {'.'.join(armed.key)}")
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.run_pending()
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread every schedule relies on
                print(f"nb_orchestra: scheduler error: {exc!r}", file=sys.stderr)
            self.clock.wait(self._wake, self._next_wakeup())

    def _next_wakeup(self) -> datetime | None:
        with self._lock:
            dues = [a.next_due for a in self._armed.values() if a.enabled and a.next_due and not a.busy]
        return min(dues, default=None)

    def _on_event(self, event: events.Event) -> None:
        """A trigger's execution changes state: apply ``stopAfter``; when it ends, wake the loop (a waiting
        tick may go). One dictionary look-up per event, however many triggers are armed."""
        if type(event) is not events.ExecutionChanged or event.execution.id not in self._watched:
            return
        with self._lock:
            armed = self._watched.get(event.execution.id)
            if armed is None or armed.last is not event.execution:
                return
            if event.state in armed.trigger.stop_after:
                armed.enabled = False
            if event.state in states.TERMINAL:
                armed.busy = False
                del self._watched[event.execution.id]
            self._wake.set()

    def settle(self, timeout: float = 10.0) -> None:
        """Block until no tick or poll is due or in flight and no execution a trigger started is running
        (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                now = self.clock.now()
                running = [a.last for a in self._armed.values() if a.last is not None and not a.last.wait(0)]
                due = any(a.due(now) for a in self._armed.values()) or self._http.in_flight > 0
            if not running and not due:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"triggers still busy after {timeout}s")
            if running:
                running[0].wait(0.01)
            else:
                time.sleep(0.002)
