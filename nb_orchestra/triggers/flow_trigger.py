"""Kestra's Flow trigger (1.x shape): start a flow when executions of other flows change state.

A trigger fires for an upstream execution whose new state is in ``states``
(default: the terminal states), whose ``conditions`` all hold, and, with
``preconditions``, once every listed upstream flow has matched inside the time
window. A flow never triggers itself (Kestra prevents that recursion).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from .. import registry
from ..durations import parse_duration
from ..engine import events, states
from ..engine.execution import Execution
from ..engine.launch import create_execution, run_in_background
from ..errors import UserError
from ..model.flow import Flow
from .base import Problems, Trigger, check_common, check_states
from .clock import Clock, RealClock

FLOW_TYPES = frozenset({"io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow"})
_CONDITION_PREFIXES = ("io.kestra.plugin.core.condition.", "io.kestra.core.models.conditions.types.")
CONDITION_KINDS = ("ExecutionFlow", "ExecutionNamespace", "ExecutionStatus", "ExecutionLabels")
WINDOW_TYPES = ("DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW")

TriggerKey = tuple[str, str, str]  # namespace, flow id, trigger id


def is_flow_trigger(raw: Mapping[str, Any]) -> bool:
    return raw.get("type") in FLOW_TYPES


@dataclass(frozen=True, kw_only=True)
class FlowTrigger(Trigger):
    """One ``Flow`` trigger of a flow."""

    states: frozenset[str] = states.TERMINAL
    conditions: tuple[Mapping[str, Any], ...] = ()
    preconditions: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FlowTrigger:
        problems = check_flow_trigger(raw)
        if problems:
            raise UserError(f"trigger '{raw.get('id')}': " + "; ".join(f"{p}: {m}" for p, m in problems))
        return cls(**Trigger.common(raw), states=frozenset(raw.get("states") or states.TERMINAL),
                   conditions=tuple(raw.get("conditions") or ()), preconditions=raw.get("preconditions"))

    def matches(self, execution: Execution, state: str) -> bool:
        """The new ``state`` is listened to and every condition holds for ``execution``."""
        return (state != states.CREATED and state in self.states
                and all(_condition_holds(c, execution, state) for c in self.conditions))

    def upstream_conditions(self) -> list[Mapping[str, Any]]:
        """The ``preconditions.flows`` entries, one condition each."""
        return list((self.preconditions or {}).get("flows") or ())

    def variables(self, execution: Execution, state: str) -> dict[str, Any]:
        """``trigger.*`` of the execution this trigger starts."""
        return {"executionId": execution.id, "namespace": execution.namespace, "flowId": execution.flow_id,
                "flowRevision": execution.revision, "state": state, "outputs": dict(execution.flow_outputs)}


def _kind(condition_type: str) -> str:
    name = condition_type.rsplit(".", 1)[-1]
    return name.removesuffix("Condition")


def _condition_holds(condition: Mapping[str, Any], execution: Execution, state: str) -> bool:
    kind = _kind(str(condition.get("type")))
    if kind == "ExecutionFlow":
        return execution.namespace == condition.get("namespace") and execution.flow_id == condition.get("flowId")
    if kind == "ExecutionNamespace":
        comparison = condition.get("comparison") or ("PREFIX" if condition.get("prefix") else "EQUALS")
        wanted = str(condition.get("namespace"))
        return {"EQUALS": execution.namespace == wanted, "PREFIX": execution.namespace.startswith(wanted),
                "SUFFIX": execution.namespace.endswith(wanted)}[comparison]
    if kind == "ExecutionStatus":
        return (condition.get("in") is None or state in condition["in"]) and state not in (condition.get("notIn") or ())
    if kind == "ExecutionLabels":
        return _labels_match(condition.get("labels") or {}, execution)
    raise UserError(f"condition type '{condition.get('type')}' is not supported")


def _labels_match(wanted: Mapping[str, Any], execution: Execution) -> bool:
    return all(execution.labels.get(str(k)) == str(v) for k, v in wanted.items())


def _upstream_holds(upstream: Mapping[str, Any], execution: Execution, state: str) -> bool:
    """One ``preconditions.flows`` entry: namespace, optional flowId, states and labels."""
    return (execution.namespace == upstream.get("namespace")
            and upstream.get("flowId") in (None, execution.flow_id)
            and (upstream.get("states") is None or state in upstream["states"])
            and _labels_match(upstream.get("labels") or {}, execution))


def window_bounds(time_window: Mapping[str, Any] | None, now: datetime) -> tuple[datetime, datetime]:
    """The ``timeWindow`` period that contains ``now`` (UTC), as Kestra computes it."""
    tw = time_window or {}
    kind = tw.get("type") or "DURATION_WINDOW"
    if kind in ("DURATION_WINDOW", "SLIDING_WINDOW"):
        window = parse_duration(tw["window"]) if tw.get("window") else timedelta(days=1)
        if kind == "SLIDING_WINDOW":
            return now - window, now
        start = now.replace(microsecond=0)
        if window >= timedelta(days=1):
            start = start.replace(hour=0)
        if window >= timedelta(hours=1):
            start = start.replace(minute=0)
        minutes = int(window.total_seconds() // 60)
        if minutes:
            start = start.replace(second=0, minute=minutes * (start.minute // minutes))
        start += parse_duration(tw["windowAdvance"]) if tw.get("windowAdvance") else timedelta()
        return start, start + window - timedelta(milliseconds=1)
    if kind == "DAILY_TIME_DEADLINE":
        day = _day_start(now, tw["deadline"])
        return day, day + _time_of_day(tw["deadline"])
    day = _day_start(now, tw["startTime"])
    return day + _time_of_day(tw["startTime"]), day + _time_of_day(tw["endTime"])


def _parse_time(text: str) -> time:
    return time.fromisoformat(str(text).replace("Z", "+00:00"))


def _time_of_day(text: str) -> timedelta:
    t = _parse_time(text)
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _day_start(now: datetime, text: str) -> datetime:
    """Midnight of ``now``'s day in the offset a daily time is written with (UTC when none)."""
    local = now.astimezone(_parse_time(text).tzinfo or timezone.utc)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class _Window:
    """When each upstream condition of one trigger's preconditions was last met."""

    met: dict[int, datetime] = field(default_factory=dict)

    def record(self, trigger: FlowTrigger, execution: Execution, state: str, now: datetime) -> bool:
        """Account for ``execution``; True when every upstream condition is met inside the window."""
        pre = trigger.preconditions or {}
        start, end = window_bounds(pre.get("timeWindow"), now)
        if not start <= now <= end:
            return False
        self.met = {i: at for i, at in self.met.items() if at >= start}
        upstream = trigger.upstream_conditions()
        self.met.update({i: now for i, cond in enumerate(upstream) if _upstream_holds(cond, execution, state)})
        if len(self.met) < len(upstream):
            return False
        if pre.get("resetOnSuccess", True):
            self.met = {}
        return True


class FlowTriggerListener:
    """Listens on ``events.bus`` and starts the flows whose Flow triggers match an execution's new state."""

    def __init__(self, clock: Clock | None = None, enabled: Callable[[TriggerKey], bool] = lambda key: True,
                 started: Callable[[TriggerKey, Execution], None] = lambda key, execution: None) -> None:
        self.clock = clock or RealClock()
        self._enabled = enabled
        self._started = started
        self._windows: dict[TriggerKey, _Window] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = events.bus.subscribe(self)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.ExecutionChanged):
            for flow, trigger in self._candidates(event.execution):
                if self._fires(flow, trigger, event.execution, event.state):
                    self._start(flow, trigger, event.execution, event.state)

    def _candidates(self, upstream: Execution):
        for flow in registry.flows():
            if flow.disabled or flow.key == upstream.flow.key:
                continue
            for raw in flow.triggers:
                if is_flow_trigger(raw) and not raw.get("disabled") and self._enabled((*flow.key, str(raw["id"]))):
                    yield flow, FlowTrigger.from_dict(raw)

    def _fires(self, flow: Flow, trigger: FlowTrigger, upstream: Execution, state: str) -> bool:
        if not trigger.matches(upstream, state):
            return False
        if trigger.preconditions is None:
            return True
        window = self._windows.setdefault((*flow.key, trigger.id), _Window())
        return window.record(trigger, upstream, state, self.clock.now())

    def _start(self, flow: Flow, trigger: FlowTrigger, upstream: Execution, state: str) -> None:
        variables = trigger.variables(upstream, state)
        try:
            execution = create_execution(flow, trigger.render_inputs(flow, variables), labels=trigger.labels,
                                         trigger=variables)
        except UserError as exc:  # Kestra 1.x logs a warning and creates nothing
            print(f"nb_orchestra: Flow trigger {flow.namespace}.{flow.id}.{trigger.id} did not start "
                  f"an execution: {exc}", file=sys.stderr)
            return
        self._started((*flow.key, trigger.id), execution)
        run_in_background(execution)


def check_flow_trigger(raw: Mapping[str, Any]) -> Problems:
    """Problems with a Flow trigger's properties."""
    problems = check_common(raw) + check_states(raw.get("states"), "states")
    conditions = raw.get("conditions") or []
    if not isinstance(conditions, list):
        problems.append(("conditions", "must be a list of conditions"))
        conditions = []
    for i, condition in enumerate(conditions):
        problems += [(f"conditions[{i}]{rel}", message) for rel, message in _check_condition(condition)]
    pre = raw.get("preconditions")
    if pre is not None:
        problems += [(f"preconditions{rel}", message) for rel, message in _check_preconditions(pre)]
    return problems


def _check_condition(condition: Any) -> Problems:
    if not isinstance(condition, Mapping) or not isinstance(condition.get("type"), str):
        return [("", "a condition must be a map with a type")]
    kind, known = _kind(condition["type"]), condition["type"].startswith(_CONDITION_PREFIXES)
    if not known or kind not in CONDITION_KINDS:
        return [(".type", (f"condition type '{condition['type']}' is not supported by nb_orchestra "
                          f"(supported: {', '.join(CONDITION_KINDS)})"))]
    required = {"ExecutionFlow": ("namespace", "flowId"), "ExecutionNamespace": ("namespace",),
                "ExecutionLabels": ("labels",)}.get(kind, ())
    problems = [(f".{prop}", f"missing required property '{prop}'") for prop in required if not condition.get(prop)]
    if condition.get("comparison") not in (None, "EQUALS", "PREFIX", "SUFFIX"):
        problems.append((".comparison", "must be one of EQUALS, PREFIX, SUFFIX"))
    return problems + check_states(condition.get("in"), ".in") + check_states(condition.get("notIn"), ".notIn")


def _check_preconditions(pre: Any) -> Problems:
    if not isinstance(pre, Mapping):
        return [("", "must be a map with id and flows")]
    problems: Problems = [] if pre.get("id") else [(".id", "missing required property 'id'")]
    if pre.get("where"):
        problems.append((".where", "execution filters (where) are not supported by nb_orchestra; use flows"))
    flows = pre.get("flows")
    if not isinstance(flows, list) or not flows:
        problems.append((".flows", "must list the upstream flows ({namespace, flowId, states})"))
        flows = []
    for i, upstream in enumerate(flows):
        if not isinstance(upstream, Mapping) or not upstream.get("namespace"):
            problems.append((f".flows[{i}].namespace", "missing required property 'namespace'"))
        else:
            problems += check_states(upstream.get("states"), f".flows[{i}].states")
    return problems + _check_window(pre.get("timeWindow"))


def _check_window(tw: Any) -> Problems:
    if tw is None:
        return []
    if not isinstance(tw, Mapping):
        return [(".timeWindow", "must be a map")]
    kind = tw.get("type") or "DURATION_WINDOW"
    if kind not in WINDOW_TYPES:
        return [(".timeWindow.type", f"must be one of {', '.join(WINDOW_TYPES)}")]
    needed = {"DAILY_TIME_DEADLINE": ("deadline",), "DAILY_TIME_WINDOW": ("startTime", "endTime")}.get(kind, ())
    problems = [(f".timeWindow.{p}", f"a time window of type `{kind}` must have a {p}") for p in needed if not tw.get(p)]
    for prop in ("window", "windowAdvance"):
        if tw.get(prop):
            try:
                parse_duration(tw[prop])
            except ValueError as exc:
                problems.append((f".timeWindow.{prop}", str(exc)))
    for prop in ("deadline", "startTime", "endTime"):
        if tw.get(prop):
            try:
                _parse_time(tw[prop])
            except ValueError:
                problems.append((f".timeWindow.{prop}", f"'{tw[prop]}' is not a time such as 09:00:00"))
    return problems
