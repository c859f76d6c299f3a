"""What triggers ask: the base of every condition (``Condition``, what it looks at, its errors), the
state and label checks they share, and a Flow trigger's preconditions and their time window. The
condition types are in ``condition_types.py`` and ``date_conditions.py``.

Each is parsed once from its YAML map (``check_*`` first lists the problems of
the map) into an immutable object with the pure test it stands for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, ClassVar, Protocol

from .. import expressions
from ..durations import parse_duration
from ..errors import TemplateError, UserError
from ..records import states
from ..records.execution import ExecutionView

Problems = list[tuple[str, str]]
Variables = Callable[[], dict[str, Any]]  # the variables of an expression, made on first use

STATE_NAMES = states.NAMES  # Kestra's State.Type names
WINDOW_TYPES = ("DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW")


def check_states(value: Any, prop: str) -> Problems:
    """A list of Kestra state names, or nothing."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [(prop, "must be a list of execution states")]
    return [(f"{prop}[{i}]", f"unknown execution state '{state}' (expected one of {', '.join(sorted(STATE_NAMES))})")
            for i, state in enumerate(value) if state not in STATE_NAMES]


def labels_match(wanted: Mapping[str, str], execution: ExecutionView) -> bool:
    return all(execution.labels.get(key) == value for key, value in wanted.items())


def wanted_labels(raw: Any) -> dict[str, str]:
    """Labels to match, written as a map or as a list of ``{key, value}``."""
    pairs = [(item["key"], item["value"]) for item in raw] if isinstance(raw, list) else (raw or {}).items()
    return {str(k): str(v) for k, v in pairs}


def check_labels(raw: Any, prop: str) -> Problems:
    if raw is None or isinstance(raw, Mapping):
        return []
    if isinstance(raw, list) and all(isinstance(item, Mapping) and "key" in item and "value" in item for item in raw):
        return []
    return [(prop, "must be a map of label to value or a list of {key, value}")]


def optional_states(raw: Any) -> frozenset[str] | None:
    return None if raw is None else frozenset(raw)


# -- conditions ------------------------------------------------------------------------------------


class ConditionError(UserError):
    """A condition could not be evaluated (an expression that does not render, a date that does not parse)."""


class ConditionContext:
    """What a condition looks at: an upstream execution now in ``state`` (Flow triggers) or a Schedule's
    tick (``date``), and the variables its expressions render with (built on first use)."""

    def __init__(self, execution: ExecutionView | None = None, state: str | None = None,
                 variables: Variables | None = None, date: datetime | None = None) -> None:
        self.execution, self.state, self.date = execution, state, date
        self._make = variables or dict

    @functools.cached_property
    def variables(self) -> dict[str, Any]:
        return self._make()

    def render(self, template: str) -> str:
        try:
            return expressions.render(template, self.variables)
        except TemplateError as exc:
            raise ConditionError(f"unable to render `{template}`: {exc}") from None


@dataclass(frozen=True)
class Condition:
    """One condition; ``schedule`` ones may be used by a Schedule trigger."""

    kind: ClassVar[str] = ""
    schedule: ClassVar[bool] = False
    required: ClassVar[tuple[str, ...]] = ()

    def test(self, context: ConditionContext) -> bool:
        raise NotImplementedError

    def holds(self, execution: ExecutionView, state: str, variables: Variables | None = None) -> bool:
        """True when ``execution``, now in ``state``, passes this condition."""
        return self.test(ConditionContext(execution, state, variables))

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        """Problems beyond the required properties, relative to the condition (``.in``...)."""
        return []

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        raise NotImplementedError


def execution_of(context: ConditionContext) -> ExecutionView:
    """The execution a condition tests; ConditionError where there is none (a Schedule's tick)."""
    if context.execution is None:
        raise ConditionError("Invalid condition with null execution")
    return context.execution



# -- preconditions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamFlow:
    """One entry of ``preconditions.flows``: a namespace, optionally a flow, states and labels."""

    namespace: str
    flow_id: str | None = None
    states: frozenset[str] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> UpstreamFlow:
        return cls(namespace=str(raw["namespace"]),
                   flow_id=str(raw["flowId"]) if raw.get("flowId") is not None else None,
                   states=optional_states(raw.get("states")), labels=wanted_labels(raw.get("labels")))

    def holds(self, execution: ExecutionView, state: str, variables: Variables | None = None) -> bool:
        """True when ``execution``, now in ``state``, is this upstream flow ending as wanted."""
        return (execution.namespace == self.namespace and self.flow_id in (None, execution.flow_id)
                and (self.states is None or state in self.states) and labels_match(self.labels, execution))


FILTER_FIELDS = ("FLOW_ID", "NAMESPACE", "STATE", "EXPRESSION")
FILTER_TYPES = ("EQUAL_TO", "NOT_EQUAL_TO", "IN", "NOT_IN", "IS_TRUE", "IS_FALSE", "IS_NULL", "IS_NOT_NULL",
                "STARTS_WITH", "ENDS_WITH", "REGEX", "CONTAINS")
LIST_FILTER_TYPES = ("IN", "NOT_IN")  # the types compared with ``values``; every other one needs a ``value``
OPERANDS = ("AND", "OR")
_FALSY = ("false", "0", "-0", "")  # what Kestra's TruthUtils reads as false


def _truthy(text: str | None) -> bool:
    return text is not None and text not in _FALSY


# How each filter type compares the field's value (``got``) with the filter's value(s).
_COMPARISONS: dict[str, Callable[[str | None, Filter], bool]] = {
    "EQUAL_TO": lambda got, f: got == f.value,
    "NOT_EQUAL_TO": lambda got, f: got != f.value,
    "IN": lambda got, f: got in f.values,
    "NOT_IN": lambda got, f: got not in f.values,
    "IS_TRUE": lambda got, f: _truthy(got),
    "IS_FALSE": lambda got, f: not _truthy(got),
    "IS_NULL": lambda got, f: got is None,
    "IS_NOT_NULL": lambda got, f: got is not None,
    "STARTS_WITH": lambda got, f: got is not None and got.startswith(f.value or ""),
    "ENDS_WITH": lambda got, f: got is not None and got.endswith(f.value or ""),
    "REGEX": lambda got, f: got is not None and re.fullmatch(f.value or "", got) is not None,
    "CONTAINS": lambda got, f: got is not None and (f.value or "") in got,
}


@dataclass(frozen=True)
class Filter:
    """One filter of a ``preconditions.where`` entry: a field of the upstream execution compared by ``type``.

    EXPRESSION renders ``value`` with the execution's variables and compares the result (as Kestra does,
    with the same ``value``: it is meant for IS_TRUE / IS_FALSE).
    """

    field: str
    type: str
    value: str | None = None
    values: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Filter:
        return cls(field=str(raw["field"]), type=str(raw["type"]),
                   value=None if raw.get("value") is None else str(raw["value"]),
                   values=tuple(str(v) for v in raw.get("values") or ()))

    def test(self, context: ConditionContext) -> bool:
        return _COMPARISONS[self.type](self._field_value(context), self)

    def _field_value(self, context: ConditionContext) -> str | None:
        execution = execution_of(context)
        if self.field == "FLOW_ID":
            return execution.flow_id
        if self.field == "NAMESPACE":
            return execution.namespace
        if self.field == "STATE":
            return context.state
        return context.render(self.value or "")  # EXPRESSION


@dataclass(frozen=True)
class ExecutionFilter:
    """One entry of ``preconditions.where``: its filters joined by ``operand`` (AND or OR), one more
    condition of the preconditions."""

    id: str
    filters: tuple[Filter, ...]
    operand: str = "AND"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ExecutionFilter:
        return cls(id=str(raw["id"]), filters=tuple(Filter.from_dict(f) for f in raw["filters"]),
                   operand=str(raw.get("operand") or "AND"))

    def holds(self, execution: ExecutionView, state: str, variables: Variables | None = None) -> bool:
        """True when ``execution``, now in ``state``, passes the filters; ConditionError when an
        expression does not render."""
        context = ConditionContext(execution, state, variables)
        results = (f.test(context) for f in self.filters)
        return any(results) if self.operand == "OR" else all(results)


def check_where(where: Any) -> Problems:
    """Problems with ``preconditions.where``, relative to the preconditions (``.where[0].filters[1].type``...)."""
    if where is None:
        return []
    if not isinstance(where, list):
        return [(".where", "must be a list of execution filters ({id, operand, filters})")]
    problems: Problems = []
    for i, entry in enumerate(where):
        at = f".where[{i}]"
        if not isinstance(entry, Mapping):
            problems.append((at, "must be a map with id, operand and filters"))
            continue
        if not entry.get("id"):
            problems.append((f"{at}.id", "missing required property 'id'"))
        if entry.get("operand") is not None and entry["operand"] not in OPERANDS:
            problems.append((f"{at}.operand", f"must be one of {', '.join(OPERANDS)}"))
        filters = entry.get("filters")
        if not isinstance(filters, list) or not filters:
            problems.append((f"{at}.filters", "must list the filters ({field, type, value or values})"))
            continue
        for j, raw in enumerate(filters):
            problems += _check_filter(raw, f"{at}.filters[{j}]")
    return problems


def _check_filter(raw: Any, at: str) -> Problems:
    """A filter's field and type are known; ``value`` or ``values`` is set as its type needs (Kestra's
    PreconditionFilterValidator: IN and NOT_IN take ``values``, every other type a ``value``)."""
    if not isinstance(raw, Mapping):
        return [(at, "must be a map with field, type and value or values")]
    problems: Problems = [(f"{at}.{prop}", f"must be one of {', '.join(known)}")
                          for prop, known in (("field", FILTER_FIELDS), ("type", FILTER_TYPES))
                          if raw.get(prop) not in known]
    kind = raw.get("type")
    if kind not in FILTER_TYPES:
        return problems
    wanted, unwanted = ("values", "value") if kind in LIST_FILTER_TYPES else ("value", "values")
    if raw.get(wanted) is None:
        problems.append((f"{at}.{wanted}", f"`{wanted}` cannot be null for type {kind}"))
    elif raw.get(unwanted) is not None:
        problems.append((f"{at}.{unwanted}", f"`{unwanted}` must be null for type {kind}"))
    if kind in LIST_FILTER_TYPES and raw.get("values") is not None and not isinstance(raw["values"], list):
        problems.append((f"{at}.values", "must be a list"))
    if kind == "REGEX" and raw.get("value") is not None:
        try:
            re.compile(str(raw["value"]))
        except re.error as exc:
            problems.append((f"{at}.value", f"not a regular expression: {exc}"))
    return problems


@dataclass(frozen=True)
class TimeWindow:
    """``preconditions.timeWindow``: the period in which every upstream flow must have matched.

    The default is Kestra's: a DURATION_WINDOW of one day.
    """

    type: str = "DURATION_WINDOW"
    window: timedelta = timedelta(days=1)
    window_advance: timedelta = timedelta()
    deadline: time | None = None
    start_time: time | None = None
    end_time: time | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> TimeWindow:
        """Read a ``timeWindow`` map that :func:`check_time_window` accepts (None: the default window)."""
        raw = raw or {}

        def clock_time(prop: str) -> time | None:
            return _parse_time(raw[prop]) if raw.get(prop) else None

        return cls(type=raw.get("type") or "DURATION_WINDOW",
                   window=parse_duration(raw["window"]) if raw.get("window") else timedelta(days=1),
                   window_advance=parse_duration(raw["windowAdvance"]) if raw.get("windowAdvance") else timedelta(),
                   deadline=clock_time("deadline"), start_time=clock_time("startTime"), end_time=clock_time("endTime"))

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The period that contains ``now`` (UTC), as Kestra computes it."""
        if self.type == "SLIDING_WINDOW":
            return now - self.window, now
        if self.type == "DURATION_WINDOW":
            start = now.replace(microsecond=0)
            if self.window >= timedelta(days=1):
                start = start.replace(hour=0)
            if self.window >= timedelta(hours=1):
                start = start.replace(minute=0)
            minutes = int(self.window.total_seconds() // 60)
            if minutes:
                start = start.replace(second=0, minute=minutes * (start.minute // minutes))
            start += self.window_advance
            return start, start + self.window - timedelta(milliseconds=1)
        if self.type == "DAILY_TIME_DEADLINE":
            assert self.deadline is not None
            day = _day_start(now, self.deadline)
            return day, day + _time_of_day(self.deadline)
        assert self.start_time is not None and self.end_time is not None
        day = _day_start(now, self.start_time)
        return day + _time_of_day(self.start_time), day + _time_of_day(self.end_time)


def _parse_time(text: Any) -> time:
    return time.fromisoformat(str(text).replace("Z", "+00:00"))


def _time_of_day(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _day_start(now: datetime, t: time) -> datetime:
    """Midnight of ``now``'s day in the offset a daily time is written with (UTC when none)."""
    local = now.astimezone(t.tzinfo or timezone.utc)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class Upstream(Protocol):
    """One thing preconditions wait for: an upstream flow, or a condition of a MultipleCondition."""

    def holds(self, execution: ExecutionView, state: str, variables: Variables | None = None) -> bool: ...


@dataclass(frozen=True)
class Preconditions:
    """A Flow trigger's ``preconditions`` (or its MultipleCondition): every upstream flow (or condition)
    must match inside the time window. ``flows`` holds the ``flows`` entries, then the ``where`` ones."""

    id: str
    flows: tuple[Upstream, ...]
    time_window: TimeWindow = TimeWindow()
    reset_on_success: bool = True

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Preconditions:
        """Read a ``preconditions`` map that :func:`check_preconditions` accepts."""
        upstream: list[Upstream] = [UpstreamFlow.from_dict(f) for f in raw.get("flows") or ()]
        upstream += [ExecutionFilter.from_dict(w) for w in raw.get("where") or ()]
        return cls(id=str(raw["id"]), flows=tuple(upstream),
                   time_window=TimeWindow.from_dict(raw.get("timeWindow")),
                   reset_on_success=bool(raw.get("resetOnSuccess", True)))

    def matched(self, execution: ExecutionView, state: str, variables: Variables | None = None) -> list[int]:
        """The positions in ``flows`` that ``execution``, now in ``state``, satisfies (``variables``: what
        an Expression condition renders with)."""
        return [i for i, upstream in enumerate(self.flows) if upstream.holds(execution, state, variables)]


def check_preconditions(pre: Any) -> Problems:
    """Problems with a ``preconditions`` map, relative to it (``.flows[0].namespace``...)."""
    if not isinstance(pre, Mapping):
        return [("", "must be a map with id and flows")]
    problems: Problems = [] if pre.get("id") else [(".id", "missing required property 'id'")]
    if "resetOnSuccess" in pre and not isinstance(pre["resetOnSuccess"], bool):
        problems.append((".resetOnSuccess", "must be true or false"))
    flows = pre.get("flows")
    if not flows and pre.get("where"):
        flows = []
    elif not isinstance(flows, list) or not flows:
        problems.append((".flows", "must list the upstream flows ({namespace, flowId, states}) unless `where` "
                                   "lists execution filters"))
        flows = []
    for i, upstream in enumerate(flows):
        if not isinstance(upstream, Mapping) or not upstream.get("namespace"):
            problems.append((f".flows[{i}].namespace", "missing required property 'namespace'"))
            continue
        problems += check_states(upstream.get("states"), f".flows[{i}].states")
        problems += check_labels(upstream.get("labels"), f".flows[{i}].labels")
    return problems + check_where(pre.get("where")) + check_time_window(pre.get("timeWindow"))


def check_time_window(tw: Any) -> Problems:
    """Problems with a ``timeWindow`` map, relative to the preconditions (``.timeWindow.window``...)."""
    if tw is None:
        return []
    if not isinstance(tw, Mapping):
        return [(".timeWindow", "must be a map")]
    kind = tw.get("type") or "DURATION_WINDOW"
    if kind not in WINDOW_TYPES:
        return [(".timeWindow.type", f"must be one of {', '.join(WINDOW_TYPES)}")]
    needed = {"DAILY_TIME_DEADLINE": ("deadline",), "DAILY_TIME_WINDOW": ("startTime", "endTime")}.get(kind, ())
    problems = [(f".timeWindow.{p}", f"a time window of type `{kind}` must have a {p}")
                for p in needed if not tw.get(p)]
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
