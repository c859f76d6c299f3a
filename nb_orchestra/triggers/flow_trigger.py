"""The Flow-trigger listener: starts the flows whose Flow triggers match an execution's new state.

It runs on the engine's thread for every ExecutionChanged event, so what it does per event
does not grow with the number of registered flows: the armed Flow triggers are indexed by
the upstream executions that may fire them (``FlowTrigger.selectors()``), the index is
rebuilt when a flow is armed, and events in a state no trigger listens to are dropped at
once. The declarations and what they match live in ``model/triggers.py``; this module keeps
what changes at run time (the index, the precondition windows) and starts executions
through ``nb_orchestra.api``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from .. import api
from ..engine.execution import Execution
from ..errors import UserError
from ..model.conditions import ConditionError, Preconditions, Variables
from ..model.flow import Flow
from ..model.triggers import FlowTrigger
from ..records import events
from ..records.execution import ExecutionView
from .clock import Clock, RealClock

TriggerKey = tuple[str, str, str]  # namespace, flow id, trigger id


class _Entry:
    """One armed Flow trigger of a flow; ``order`` keeps the registry's order (flow, then position)."""

    __slots__ = ("flow", "key", "order", "trigger")

    def __init__(self, flow: Flow, trigger: FlowTrigger, position: int) -> None:
        self.flow = flow
        self.trigger = trigger
        self.key: TriggerKey = (flow.namespace, flow.id, trigger.id)
        self.order = (flow.namespace, flow.id, position)


class _Index:
    """Armed Flow triggers by the upstream executions that may fire them; built whole, then only read."""

    def __init__(self, entries: Iterable[_Entry] = ()) -> None:
        self.by_flow: dict[tuple[str, str], list[_Entry]] = {}
        self.by_namespace: dict[str, list[_Entry]] = {}
        self.by_prefix: dict[str, list[_Entry]] = {}
        self.by_flow_id: dict[str, list[_Entry]] = {}
        self.anywhere: list[_Entry] = []
        states: set[str] = set()
        for entry in entries:
            states |= entry.trigger.states
            for selector in entry.trigger.selectors():
                if selector.kind == "flow":
                    self.by_flow.setdefault((selector.namespace, selector.flow_id), []).append(entry)
                elif selector.kind == "namespace":
                    self.by_namespace.setdefault(selector.namespace, []).append(entry)
                elif selector.kind == "prefix":
                    self.by_prefix.setdefault(selector.namespace, []).append(entry)
                elif selector.kind == "flow_id":
                    self.by_flow_id.setdefault(selector.flow_id, []).append(entry)
                else:
                    self.anywhere.append(entry)
        self.states = frozenset(states)
        self.prefix_lengths = sorted({len(prefix) for prefix in self.by_prefix})

    def candidates(self, namespace: str, flow_id: str) -> list[_Entry]:
        """The triggers an execution of ``namespace``.``flow_id`` may fire, in registry order."""
        found = [*self.by_flow.get((namespace, flow_id), ()), *self.by_namespace.get(namespace, ()),
                 *self.by_flow_id.get(flow_id, ()), *self.anywhere]
        for length in self.prefix_lengths:
            if length > len(namespace):
                break
            found += self.by_prefix.get(namespace[:length], ())
        if len(found) > 1:  # a trigger may be reached through two of its selectors
            found = sorted(dict.fromkeys(found), key=attrgetter("order"))
        return found


@dataclass
class _Window:
    """When each condition of one trigger's preconditions (an upstream flow, a ``where`` entry) was last met."""

    met: dict[int, datetime] = field(default_factory=dict)

    def record(self, pre: Preconditions, execution: ExecutionView, state: str, now: datetime,
               variables: Variables | None = None) -> bool:
        """Account for ``execution``; True when every condition is met inside the window. A condition
        that cannot be evaluated is not met."""
        start, end = pre.time_window.bounds(now)
        if not start <= now <= end:
            return False
        self.met = {i: at for i, at in self.met.items() if at >= start and i < len(pre.flows)}
        try:
            matched = pre.matched(execution, state, variables)
        except ConditionError:
            matched = []
        if not matched and pre.reset_on_success:
            return False  # a window that resets once met can only be completed by an upstream execution
        self.met.update(dict.fromkeys(matched, now))
        if len(self.met) < len(pre.flows):
            return False
        if pre.reset_on_success:
            self.met = {}
        return True


class FlowTriggerListener:
    """Listens on ``events.bus`` and starts the flows whose armed Flow triggers match an execution's new state.

    ``enabled(key)`` is asked before a trigger fires (the scheduler's on/off switch);
    ``started(key, execution)`` hears of every execution a trigger creates, before it starts.
    """

    def __init__(self, clock: Clock | None = None, enabled: Callable[[TriggerKey], bool] = lambda key: True,
                 started: Callable[[TriggerKey, Execution], None] = lambda key, execution: None) -> None:
        self.clock = clock or RealClock()
        self._enabled = enabled
        self._started = started
        self._armed: dict[tuple[str, str], list[_Entry]] = {}
        self._index = _Index()
        self._arm_lock = threading.Lock()
        self._windows: dict[TriggerKey, _Window] = {}
        self._window_lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = events.bus.subscribe(self)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def arm(self, flow: Flow) -> None:
        """Replace ``flow``'s Flow triggers (none when the flow is disabled) and rebuild the index."""
        entries = [] if flow.disabled else [
            _Entry(flow, trigger, position) for position, trigger in enumerate(flow.triggers)
            if isinstance(trigger, FlowTrigger) and not trigger.disabled]
        with self._arm_lock:
            self._armed[flow.key] = entries
            self._index = _Index(entry for armed in self._armed.values() for entry in armed)

    def __call__(self, event: events.Event) -> None:
        if type(event) is not events.ExecutionChanged:
            return
        index = self._index
        if event.state not in index.states:
            return
        upstream = event.execution
        for entry in index.candidates(upstream.namespace, upstream.flow_id):
            if entry.key[:2] == (upstream.namespace, upstream.flow_id) or not self._enabled(entry.key):
                continue  # a flow never triggers itself
            if self._fires(entry, upstream, event.state):
                self._start(entry, upstream, event.state)

    def _fires(self, entry: _Entry, upstream: ExecutionView, state: str) -> bool:
        trigger = entry.trigger
        if not trigger.matches(upstream, state, entry.flow):
            return False
        if trigger.preconditions is None:
            return True
        variables = trigger.condition_variables(upstream, state, entry.flow)
        with self._window_lock:
            window = self._windows.setdefault(entry.key, _Window())
            return window.record(trigger.preconditions, upstream, state, self.clock.now(), variables)

    def _start(self, entry: _Entry, upstream: ExecutionView, state: str) -> None:
        flow, trigger = entry.flow, entry.trigger
        variables = trigger.variables(upstream, state)
        try:
            execution = api.create(flow, trigger.render_inputs(flow, variables), labels=trigger.labels,
                                   trigger=variables)
        except UserError as exc:  # Kestra 1.x logs a warning and creates nothing
            print(f"nb_orchestra: Flow trigger {'.'.join(entry.key)} did not start an execution: {exc}",
                  file=sys.stderr)
            return
        self._started(entry.key, execution)
        api.start(execution, background=True)
