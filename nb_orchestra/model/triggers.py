"""A flow's triggers, parsed once with the flow: Schedule, Flow, and the other types as declared.

:func:`parse_trigger` reads one trigger map of a flow into a typed, immutable
declaration and lists its problems. Front ends (the scheduler, backfills, the
Flow-trigger listener) read these declarations and never look at the map again;
``raw`` keeps it for what the declaration does not model (a Webhook's ``key``...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import expressions
from ..durations import parse_duration
from ..errors import UserError
from ..records import states
from ..records.execution import ExecutionView
from .condition_types import ExecutionFlow, ExecutionNamespace, MultipleCondition, check_condition, parse_condition
from .conditions import (
    Condition,
    ConditionContext,
    ConditionError,
    ExecutionFilter,
    Filter,
    Preconditions,
    Problems,
    UpstreamFlow,
    check_preconditions,
    check_states,
)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

    from .cron import Cron
    from .flow import Flow

SCHEDULE_TYPES = frozenset({"io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule"})
FLOW_TYPES = frozenset({"io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow"})
HTTP_TYPES = frozenset({"io.kestra.plugin.core.http.Trigger", "io.kestra.plugin.fs.http.Trigger"})
RECOVER_MODES = ("ALL", "LAST", "NONE")
# How far Schedule conditions look for the next (previous) tick they accept: Kestra's ten years, and at
# most this many ticks (a minutely cron whose conditions never hold must not stall the scheduler).
_CONDITION_YEARS = 10
_CONDITION_TICKS = 5_000


def parse_trigger(raw: Mapping[str, Any]) -> tuple[Trigger | None, Problems]:
    """The declaration of a trigger map (None when it has problems) and its problems, as
    (property relative to the trigger, message). Types other than Schedule and Flow are read
    as a plain :class:`Trigger`."""
    kind = _declaration_class(raw)
    problems = kind.check(raw)
    return (None if problems else kind.build(raw)), problems


def check_trigger(raw: Mapping[str, Any]) -> Problems:
    """The problems of a trigger map, as (property relative to the trigger, message)."""
    return _declaration_class(raw).check(raw)


def _declaration_class(raw: Mapping[str, Any]) -> type[Trigger]:
    trigger_type = raw.get("type")
    if trigger_type in SCHEDULE_TYPES:
        return ScheduleTrigger
    if trigger_type in HTTP_TYPES:
        from .http_trigger import HttpTrigger  # loads the HTTP task's module: for flows with an HTTP trigger only

        return HttpTrigger
    return FlowTrigger if trigger_type in FLOW_TYPES else Trigger


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """What every trigger declares (Kestra's AbstractTrigger): id, disabled, labels, stopAfter, inputs."""

    id: str
    type: str
    disabled: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_after: frozenset[str] = frozenset()
    inputs: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Self:
        """The declaration of a trigger map; UserError lists its problems."""
        problems = cls.check(raw)
        if problems:
            raise UserError(f"trigger '{raw.get('id')}': " + "; ".join(f"{p}: {m}" for p, m in problems))
        return cls.build(raw)

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        """Problems with the properties every trigger has."""
        problems = [("", f"missing required property '{key}' for a trigger") for key in ("id", "type")
                    if raw.get(key) is None]
        if "disabled" in raw and not isinstance(raw["disabled"], bool):
            problems.append(("disabled", "must be true or false"))
        if raw.get("inputs") is not None and not isinstance(raw["inputs"], Mapping):
            problems.append(("inputs", "must be a map of input id to value"))
        labels = raw.get("labels")
        if labels is not None and not isinstance(labels, (Mapping, list)):
            problems.append(("labels", "must be a map or a list of {key, value}"))
        return problems + check_states(raw.get("stopAfter"), "stopAfter")

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Self:
        """The declaration of a trigger map :meth:`check` accepts."""
        return cls(**cls._fields(raw))

    @classmethod
    def _fields(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": str(raw["id"]), "type": str(raw["type"]), "disabled": bool(raw.get("disabled", False)),
                "labels": _labels(raw.get("labels")), "stop_after": frozenset(raw.get("stopAfter") or ()),
                "inputs": raw.get("inputs"), "raw": raw}

    @property
    def kind(self) -> str:
        """The type's short name: ``Schedule``, ``Flow``, ``Webhook``..."""
        return self.type.rsplit(".", 1)[-1]

    def render_inputs(self, flow: Flow, trigger_vars: Mapping[str, Any],
                      extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The trigger's ``inputs`` rendered with ``flow`` and ``trigger`` variables, then ``extra`` on top."""
        context = {"flow": flow_variables(flow), "trigger": dict(trigger_vars)}
        rendered = expressions.render_value(dict(self.inputs or {}), context, typed=True)
        return {**rendered, **(extra or {})}


def flow_variables(flow: Flow) -> dict[str, Any]:
    """``flow.*`` of a flow's executions: what a trigger's expressions name as ``flow``."""
    return {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision}


def _labels(raw: Any) -> dict[str, str]:
    """Kestra accepts labels as a map or as a list of ``{key, value}``."""
    if isinstance(raw, list):
        return {str(item["key"]): str(item["value"]) for item in raw if isinstance(item, Mapping) and "key" in item}
    if isinstance(raw, Mapping):
        return {str(k): expressions.to_text(v) for k, v in raw.items()}
    return {}


# -- Schedule ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ScheduleTrigger(Trigger):
    """Kestra's ``Schedule`` trigger: cron ticks in a time zone (DST as cron-utils, see ``model/cron.py``).

    Naive datetimes given to its methods are wall-clock time in the trigger's zone.
    """

    cron: str
    with_seconds: bool = False
    timezone: str = "UTC"
    recover_missed_schedules: str = "ALL"
    late_maximum_delay: timedelta | None = None
    # The schedule conditions (Kestra ignores the others on a Schedule): a tick fires when all hold.
    conditions: tuple[Condition, ...] = ()

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        """Problems with a Schedule trigger's properties, its cron first."""
        problems = _check_cron(raw) + super().check(raw)
        zone = raw.get("timezone")
        if zone is not None:
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(("timezone", f"unknown time zone '{zone}' (use an IANA id such as Europe/Paris)"))
        recover = raw.get("recoverMissedSchedules")
        if recover is not None and recover not in RECOVER_MODES:
            problems.append(("recoverMissedSchedules", f"must be one of {', '.join(RECOVER_MODES)}, not '{recover}'"))
        if "withSeconds" in raw and not isinstance(raw["withSeconds"], bool):
            problems.append(("withSeconds", "must be true or false"))
        if raw.get("lateMaximumDelay") is not None:
            try:
                parse_duration(raw["lateMaximumDelay"])
            except ValueError as exc:
                problems.append(("lateMaximumDelay", str(exc)))
        for prop in ("conditions", "scheduleConditions"):  # the second is Kestra's deprecated spelling
            problems += check_conditions(raw, prop)
        return problems

    @classmethod
    def _fields(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        delay = raw.get("lateMaximumDelay")
        return {**super()._fields(raw), "cron": str(raw["cron"]), "with_seconds": bool(raw.get("withSeconds", False)),
                "timezone": str(raw.get("timezone") or "UTC"),
                "recover_missed_schedules": str(raw.get("recoverMissedSchedules") or "ALL"),
                "late_maximum_delay": parse_duration(delay) if delay else None,
                "conditions": tuple(c for c in _conditions(raw, "conditions", "scheduleConditions") if c.schedule)}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def localize(self, when: datetime) -> datetime:
        """``when`` in the trigger's zone; a naive datetime is read as wall-clock time in that zone."""
        return when.replace(tzinfo=self.zone) if when.tzinfo is None else when.astimezone(self.zone)

    def next_after(self, when: datetime) -> datetime | None:
        """The first tick strictly after ``when``."""
        return self._cron.next_after(self.localize(when))

    def previous_before(self, when: datetime) -> datetime | None:
        """The last tick strictly before ``when``."""
        return self._cron.previous_before(self.localize(when))

    def tick_at_or_after(self, when: datetime) -> datetime | None:
        """``when`` itself when it is a tick, else the next one."""
        return self._cron.tick_at_or_after(self.localize(when))

    def ticks(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every tick in ``[start, end)``, in order."""
        return self._cron.between(self.localize(start), self.localize(end))

    def variables(self, tick: datetime, flow: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``trigger.date``, ``trigger.next`` and ``trigger.previous`` for an execution of ``tick``; with
        conditions, the next and previous ticks they accept (as Kestra's trueOutputWithCondition), their
        expressions seeing ``flow``."""
        tick = self.localize(tick).replace(microsecond=0)
        if self.conditions:
            try:
                return {"date": tick, "next": self._accepted(tick, True, flow),
                        "previous": self._accepted(tick, False, flow)}
            except ConditionError:
                pass  # as Kestra: the dates without the conditions
        return self._plain_variables(tick)

    def _plain_variables(self, tick: datetime) -> dict[str, Any]:
        return {"date": tick, "next": self.next_after(tick), "previous": self.previous_before(tick)}

    def allows(self, tick: datetime, flow: Mapping[str, Any] | None = None) -> bool:
        """Whether every schedule condition holds at ``tick`` (with ``trigger.*`` of that tick and the
        ``flow`` variables). A condition that cannot be evaluated raises ConditionError."""
        if not self.conditions:
            return True
        tick = self.localize(tick).replace(microsecond=0)

        def variables() -> dict[str, Any]:
            plain = self._plain_variables(tick)
            return {"trigger": plain, "schedule": plain, "flow": dict(flow or {})}

        context = ConditionContext(variables=variables, date=tick)
        return all(condition.test(context) for condition in self.conditions)

    def _accepted(self, tick: datetime, forward: bool, flow: Mapping[str, Any] | None) -> datetime | None:
        """The first tick after (before) ``tick`` that the conditions accept, within ten years."""
        limit_year = datetime.now(self.zone).year + (_CONDITION_YEARS if forward else -_CONDITION_YEARS)
        current = tick
        for _ in range(_CONDITION_TICKS):
            found = self.next_after(current) if forward else self.previous_before(current)
            if found is None or (found.year >= limit_year if forward else found.year <= limit_year):
                return None
            if self.allows(found, flow):
                return found
            current = found
        return None

    @functools.cached_property
    def _cron(self) -> Cron:
        from .cron import Cron  # croniter is slow to import: loaded for flows with a Schedule only

        return Cron(self.cron, self.with_seconds, self.zone)


def _check_cron(raw: Mapping[str, Any]) -> Problems:
    cron = raw.get("cron")
    if not isinstance(cron, str):
        return [("", "missing required property 'cron' for a Schedule trigger")]
    from .cron import is_valid  # croniter is slow to import: loaded for flows with a Schedule only

    return [] if is_valid(cron, raw.get("withSeconds") is True) else [("cron", f"invalid cron expression '{cron}'")]


# -- Flow ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """Which upstream executions may fire a Flow trigger (what the listener indexes it by).

    ``flow``: executions of ``namespace``.``flow_id``; ``namespace``: of any flow of that namespace;
    ``prefix``: of namespaces starting with ``namespace``; ``flow_id``: of a flow ``flow_id`` in any
    namespace; ``any``: every execution.
    """

    kind: Literal["flow", "namespace", "prefix", "flow_id", "any"]
    namespace: str = ""
    flow_id: str = ""


@dataclass(frozen=True, kw_only=True)
class FlowTrigger(Trigger):
    """Kestra's ``Flow`` trigger (1.x shape): start a flow when executions of other flows change state.

    It fires for an upstream execution whose new state is in ``states`` (default: the terminal
    states) and passes every condition; with ``preconditions``, once every listed upstream
    flow has matched inside the time window. A flow never triggers itself (Kestra prevents
    that recursion).
    """

    states: frozenset[str] = states.TERMINAL
    conditions: tuple[Condition, ...] = ()
    preconditions: Preconditions | None = None

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        """Problems with a Flow trigger's properties."""
        problems = super().check(raw) + check_states(raw.get("states"), "states") + check_conditions(raw, "conditions")
        if raw.get("preconditions") is not None:
            problems += [(f"preconditions{rel}", message) for rel, message in check_preconditions(raw["preconditions"])]
        multiple = [i for i, c in enumerate(raw.get("conditions") or []) if isinstance(c, Mapping)
                    and str(c.get("type", "")).endswith(".MultipleCondition")]
        for i in multiple[1:] if raw.get("preconditions") is None else multiple:
            problems.append((f"conditions[{i}]", "a Flow trigger may have one MultipleCondition or preconditions, "
                                                 "not several: nb_orchestra keeps one time window per trigger"))
        return problems

    @classmethod
    def _fields(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        pre = raw.get("preconditions")
        conditions = _conditions(raw, "conditions")
        multiple = [c.preconditions for c in conditions if isinstance(c, MultipleCondition)]
        return {**super()._fields(raw), "states": frozenset(raw.get("states") or states.TERMINAL),
                "conditions": tuple(c for c in conditions if not isinstance(c, MultipleCondition)),
                "preconditions": Preconditions.from_dict(pre) if pre is not None else (multiple or [None])[0]}

    def matches(self, execution: ExecutionView, state: str, flow: Flow | None = None) -> bool:
        """The new ``state`` is listened to and every condition holds for ``execution`` (``flow``, the
        flow of this trigger, is what ``{{ flow.id }}`` names in an Expression condition). A condition
        that cannot be evaluated does not hold."""
        if state == states.CREATED or state not in self.states:
            return False
        variables = self.condition_variables(execution, state, flow)
        try:
            for condition in self.conditions:  # a plain loop: this runs for every event a trigger may fire on
                if not condition.holds(execution, state, variables):
                    return False
        except ConditionError:
            return False
        return True

    def condition_variables(self, execution: ExecutionView, state: str,
                            flow: Flow | None) -> Callable[[], dict[str, Any]]:
        """What an Expression condition renders with: this trigger's ``flow``, the upstream ``execution``
        (with its labels and outputs) and the ``trigger`` variables it would start an execution with."""
        def make() -> dict[str, Any]:
            return {"flow": flow_variables(flow) if flow else {},
                    "execution": {"id": execution.id, "namespace": execution.namespace, "flowId": execution.flow_id,
                                  "state": state, "startDate": execution.start_date,
                                  "originalId": execution.original_id},
                    "labels": dict(execution.labels), "outputs": dict(execution.flow_outputs),
                    "trigger": self.variables(execution, state)}
        return make

    def variables(self, execution: ExecutionView, state: str) -> dict[str, Any]:
        """``trigger.*`` of the execution this trigger starts."""
        return {"executionId": execution.id, "namespace": execution.namespace, "flowId": execution.flow_id,
                "flowRevision": execution.revision, "state": state, "outputs": dict(execution.flow_outputs)}

    def selectors(self) -> tuple[Selector, ...]:
        """The upstream executions that may fire this trigger; one that none selects never does.

        A condition on the flow or namespace narrows it; else, with preconditions that reset once
        met, the upstream flows they list and the executions their ``where`` filters may select
        (only an execution that matches one entry can complete them); else any execution.
        """
        for condition in self.conditions:
            if isinstance(condition, ExecutionFlow):
                return (Selector("flow", condition.namespace, condition.flow_id),)
        by_namespace = sorted((c for c in self.conditions
                               if isinstance(c, ExecutionNamespace) and c.comparison != "SUFFIX"),
                              key=lambda c: c.comparison != "EQUALS")  # an exact namespace narrows more
        if by_namespace:
            exact = by_namespace[0].comparison == "EQUALS"
            return (Selector("namespace" if exact else "prefix", by_namespace[0].namespace),)
        if self.preconditions is not None and self.preconditions.reset_on_success:
            selectors = [_upstream_selectors(up) for up in self.preconditions.flows]
            if all(s is not None for s in selectors):
                return tuple(selector for some in selectors for selector in some or ())
        return (Selector("any"),)


def _upstream_selectors(upstream: Any) -> tuple[Selector, ...] | None:
    """The executions that may meet one entry of preconditions; None when any execution may."""
    if isinstance(upstream, UpstreamFlow):
        return ((Selector("flow", upstream.namespace, upstream.flow_id),) if upstream.flow_id is not None
                else (Selector("namespace", upstream.namespace),))
    if isinstance(upstream, ExecutionFlow):
        return (Selector("flow", upstream.namespace, upstream.flow_id),)
    if isinstance(upstream, ExecutionFilter):
        return _where_selectors(upstream)
    return None


def _where_selectors(where: ExecutionFilter) -> tuple[Selector, ...] | None:
    """What a ``where`` entry's NAMESPACE and FLOW_ID filters select (the other fields narrow nothing).

    With OR, every filter must select (their union); with AND, the narrowest filters do.
    """
    selected = [_filter_selectors(f) for f in where.filters]
    if where.operand == "OR":
        return None if None in selected else tuple(s for some in selected for s in some or ())
    namespaces = next((some for some in selected if some and some[0].kind == "namespace"), None)
    flow_ids = next((some for some in selected if some and some[0].kind == "flow_id"), None)
    if namespaces and flow_ids:
        return tuple(Selector("flow", ns.namespace, f.flow_id) for ns in namespaces for f in flow_ids)
    return flow_ids or namespaces or next((some for some in selected if some), None)


def _filter_selectors(f: Filter) -> tuple[Selector, ...] | None:
    """The executions one filter may pass; None when it does not say (any execution may)."""
    values = (f.value,) if f.type == "EQUAL_TO" else f.values if f.type == "IN" else None
    if f.field == "NAMESPACE" and values is not None:
        return tuple(Selector("namespace", str(v)) for v in values)
    if f.field == "NAMESPACE" and f.type == "STARTS_WITH":
        return (Selector("prefix", str(f.value)),)
    if f.field == "FLOW_ID" and values is not None:
        return tuple(Selector("flow_id", flow_id=str(v)) for v in values)
    return None


def check_conditions(raw: Mapping[str, Any], prop: str) -> Problems:
    """Problems of a trigger's list of conditions under ``prop``, located (``conditions[0].flowId``)."""
    conditions = raw.get(prop)
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        return [(prop, "must be a list of conditions")]
    return [(f"{prop}[{i}]{rel}", message) for i, condition in enumerate(conditions)
            for rel, message in check_condition(condition)]


def _conditions(raw: Mapping[str, Any], *props: str) -> list[Condition]:
    return [parse_condition(c) for prop in props for c in raw.get(prop) or ()]
