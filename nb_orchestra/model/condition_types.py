"""Kestra's trigger conditions (``io.kestra.plugin.core.condition.*``), parsed once with the flow.

A Flow trigger's ``conditions`` test the upstream execution that changed state (ExecutionFlow,
ExecutionNamespace, ExecutionStatus, ExecutionLabels, ExecutionOutputs, HasRetryAttempt, Expression,
Not, Or; the deprecated FlowCondition and FlowNamespaceCondition test the trigger's own flow; a
MultipleCondition is read as preconditions). A Schedule's ``conditions`` test each tick: the
``schedule`` ones (DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween, PublicHoliday,
Expression, Not, Or) are evaluated with ``trigger.date``, ``trigger.next`` and ``trigger.previous``;
Kestra ignores the others there, and so does this module.

:func:`check_condition` lists the problems of a condition map (located relative to it) and
:func:`parse_condition` reads a map it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..durations import parse_duration
from .conditions import (
    Condition,
    ConditionContext,
    ConditionError,
    Preconditions,
    Problems,
    TimeWindow,
    check_labels,
    check_states,
    check_time_window,
    execution_of,
    labels_match,
    optional_states,
    wanted_labels,
)
from .date_conditions import DateTimeBetween, DayWeek, DayWeekInMonth, PublicHoliday, TimeBetween, Weekend

PREFIXES = ("io.kestra.plugin.core.condition.", "io.kestra.core.models.conditions.types.")
COMPARISONS = ("EQUALS", "PREFIX", "SUFFIX")


@dataclass(frozen=True)
class _OfOneFlow(Condition):
    """A condition naming one flow: ``namespace`` and ``flowId``."""

    required = ("namespace", "flowId")
    namespace: str = ""
    flow_id: str = ""

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(namespace=str(raw["namespace"]), flow_id=str(raw["flowId"]))


@dataclass(frozen=True)
class ExecutionFlow(_OfOneFlow):
    kind = "ExecutionFlow"

    def test(self, context: ConditionContext) -> bool:
        execution = execution_of(context)
        return execution.namespace == self.namespace and execution.flow_id == self.flow_id


@dataclass(frozen=True)
class ExecutionNamespace(Condition):
    kind = "ExecutionNamespace"
    required = ("namespace",)
    namespace: str = ""
    comparison: str = "EQUALS"

    def test(self, context: ConditionContext) -> bool:
        namespace = execution_of(context).namespace
        if self.comparison == "PREFIX":
            return namespace.startswith(self.namespace)
        return namespace.endswith(self.namespace) if self.comparison == "SUFFIX" else namespace == self.namespace

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        if raw.get("comparison") not in (None, *COMPARISONS):
            return [(".comparison", f"must be one of {', '.join(COMPARISONS)}")]
        return []

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(namespace=str(raw["namespace"]),
                   comparison=raw.get("comparison") or ("PREFIX" if raw.get("prefix") else "EQUALS"))


@dataclass(frozen=True)
class _InStates(Condition):
    """A condition with ``in`` and ``notIn`` lists of states."""

    in_: frozenset[str] | None = None
    not_in: frozenset[str] = frozenset()

    def allows(self, state: str) -> bool:
        return (self.in_ is None or state in self.in_) and state not in self.not_in

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        return check_states(raw.get("in"), ".in") + check_states(raw.get("notIn"), ".notIn")

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(in_=optional_states(raw.get("in")), not_in=frozenset(raw.get("notIn") or ()))


@dataclass(frozen=True)
class ExecutionStatus(_InStates):
    kind = "ExecutionStatus"

    def test(self, context: ConditionContext) -> bool:
        execution_of(context)
        return self.allows(str(context.state))


@dataclass(frozen=True)
class HasRetryAttempt(_InStates):
    """Some task run was retried and one of its attempts ended in an allowed state."""

    kind = "HasRetryAttempt"

    def test(self, context: ConditionContext) -> bool:
        return any(self.allows(attempt.state) for run in execution_of(context).taskruns
                   if len(run.attempts) > 1 for attempt in run.attempts)


@dataclass(frozen=True)
class ExecutionLabels(Condition):
    kind = "ExecutionLabels"
    required = ("labels",)
    labels: Mapping[str, str] = field(default_factory=dict)

    def test(self, context: ConditionContext) -> bool:
        return labels_match(self.labels, execution_of(context))

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        return check_labels(raw.get("labels"), ".labels")

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(labels=wanted_labels(raw.get("labels")))


@dataclass(frozen=True)
class Expression(Condition):
    """True unless the expression renders blank or ``false``."""

    kind = "Expression"
    schedule = True
    required = ("expression",)
    expression: str = ""

    def test(self, context: ConditionContext) -> bool:
        return context.render(self.expression).strip() not in ("", "false")

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(expression=str(raw["expression"]))


@dataclass(frozen=True)
class ExecutionOutputs(Condition):
    """The expression, rendered with ``trigger.outputs`` = the upstream execution's flow outputs, is not
    blank or ``false``; an execution without outputs never passes (the expression is not rendered)."""

    kind = "ExecutionOutputs"
    required = ("expression",)
    expression: str = ""

    def test(self, context: ConditionContext) -> bool:
        outputs = dict(execution_of(context).flow_outputs)
        if not outputs:
            return False
        variables = context.variables
        trigger = variables.get("trigger")
        trigger = {**(trigger if isinstance(trigger, Mapping) else {}), "outputs": outputs}
        with_outputs = {**variables, "trigger": trigger}
        upstream = ConditionContext(context.execution, context.state, lambda: with_outputs)
        return Expression(self.expression).test(upstream)

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(expression=str(raw["expression"]))


def _own_flow(context: ConditionContext) -> Mapping[str, Any]:
    """The flow whose trigger is tested (Kestra's ``ConditionContext.flow``), not the upstream one."""
    flow = context.variables.get("flow")
    return flow if isinstance(flow, Mapping) else {}


@dataclass(frozen=True)
class FlowCondition(_OfOneFlow):
    """Deprecated in Kestra: the trigger's own flow (not the upstream one) is ``namespace``/``flowId``
    (not an ExecutionFlow: Flow triggers are indexed by those)."""

    kind = "FlowCondition"

    def test(self, context: ConditionContext) -> bool:
        flow = _own_flow(context)
        return flow.get("namespace") == self.namespace and flow.get("id") == self.flow_id


@dataclass(frozen=True)
class FlowNamespaceCondition(Condition):
    """Deprecated in Kestra: the trigger's own flow is in ``namespace`` (starts with it with ``prefix``)."""

    kind = "FlowNamespaceCondition"
    required = ("namespace",)
    namespace: str = ""
    prefix: bool = False

    def test(self, context: ConditionContext) -> bool:
        namespace = str(_own_flow(context).get("namespace") or "")
        return namespace.startswith(self.namespace) if self.prefix else namespace == self.namespace

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        return [(".prefix", "must be true or false")] if not isinstance(raw.get("prefix", False), bool) else []

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(namespace=str(raw["namespace"]), prefix=bool(raw.get("prefix", False)))


@dataclass(frozen=True)
class _Combination(Condition):
    """Not and Or: a list of conditions of any type."""

    schedule = True
    required = ("conditions",)
    conditions: tuple[Condition, ...] = ()

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        children = raw.get("conditions")
        if not isinstance(children, list) or not children:
            return [(".conditions", "must be a non-empty list of conditions")]
        return [(f".conditions[{i}]{rel}", message) for i, child in enumerate(children)
                for rel, message in check_condition(child, nested=True)]

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(conditions=tuple(parse_condition(child) for child in raw["conditions"]))


@dataclass(frozen=True)
class Not(_Combination):
    """True when none of its conditions holds."""

    kind = "Not"

    def test(self, context: ConditionContext) -> bool:
        return not any(condition.test(context) for condition in self.conditions)


@dataclass(frozen=True)
class Or(_Combination):
    """True when any of its conditions holds."""

    kind = "Or"

    def test(self, context: ConditionContext) -> bool:
        return any(condition.test(context) for condition in self.conditions)


# -- MultipleCondition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultipleCondition(Condition):
    """Kestra's MultipleCondition: named conditions, each met by some upstream execution inside a time
    window. A Flow trigger reads it as its :class:`Preconditions` (see :func:`multiple_preconditions`)."""

    kind = "MultipleCondition"
    required = ("id", "conditions")
    preconditions: Preconditions | None = None

    def test(self, context: ConditionContext) -> bool:
        raise ConditionError("a MultipleCondition is evaluated over time by its Flow trigger")

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        if raw.get("id") and not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_-]*", str(raw["id"])):
            problems.append((".id", "must match ^[a-zA-Z0-9][a-zA-Z0-9_-]*"))
        children = raw.get("conditions")
        if not isinstance(children, Mapping) or not children:
            return problems + [(".conditions", "must be a non-empty map of name to condition")]
        for name, child in children.items():
            problems += [(f".conditions.{name}{rel}", message) for rel, message in check_condition(child, nested=True)]
        for prop in ("window", "windowAdvance"):
            if raw.get(prop):
                try:
                    parse_duration(raw[prop])
                except ValueError as exc:
                    problems.append((f".{prop}", str(exc)))
        if "resetOnSuccess" in raw and not isinstance(raw["resetOnSuccess"], bool):
            problems.append((".resetOnSuccess", "must be true or false"))
        return problems + check_time_window(raw.get("timeWindow"))

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        window = dict(raw.get("timeWindow") or {})
        for prop in ("window", "windowAdvance"):  # the deprecated spelling of timeWindow's
            if raw.get(prop):
                window[prop] = raw[prop]
        preconditions = Preconditions(
            id=str(raw["id"]), flows=tuple(parse_condition(c) for c in raw["conditions"].values()),
            time_window=TimeWindow.from_dict(window), reset_on_success=bool(raw.get("resetOnSuccess", True)))
        return cls(preconditions=preconditions)


# -- parsing ----------------------------------------------------------------------------------------

KINDS: dict[str, type[Condition]] = {cls.kind: cls for cls in (
    ExecutionFlow, ExecutionNamespace, ExecutionStatus, ExecutionLabels, ExecutionOutputs, HasRetryAttempt,
    Expression, Not, Or, FlowCondition, FlowNamespaceCondition,
    DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween, PublicHoliday, MultipleCondition)}
_LEGACY = {"Variable": "Expression"}  # io.kestra.core.models.conditions.types.VariableCondition


def _kind(condition_type: str) -> str:
    name = condition_type.rsplit(".", 1)[-1]
    if name not in KINDS:
        name = name.removesuffix("Condition")
    return _LEGACY.get(name, name)


def check_condition(condition: Any, nested: bool = False) -> Problems:
    """Problems with one condition map, relative to it (``.flowId``...). A MultipleCondition may not be
    ``nested`` in another condition."""
    if not isinstance(condition, Mapping) or not isinstance(condition.get("type"), str):
        return [("", "a condition must be a map with a type")]
    kind = _kind(condition["type"])
    cls = KINDS.get(kind) if condition["type"].startswith(PREFIXES) else None
    if cls is None or (nested and cls is MultipleCondition):
        supported = ", ".join(k for k in KINDS if not nested or k != "MultipleCondition")
        return [(".type", f"condition type '{condition['type']}' is not supported by nb_orchestra "
                          f"(supported: {supported})")]
    problems = [(f".{prop}", f"missing required property '{prop}'") for prop in cls.required
                if condition.get(prop) in (None, "", [], {})]
    return problems or cls.check(condition)


def parse_condition(raw: Mapping[str, Any]) -> Condition:
    """The condition of a map :func:`check_condition` accepts."""
    return KINDS[_kind(str(raw["type"]))].build(raw)
