"""io.kestra.plugin.core.flow.LoopUntil (formerly WaitFor): run child tasks in rounds until a
condition holds.

As Kestra does: the output ``iterationCount`` is 1 during the first round and goes up by one when a
round ends, before ``condition`` is rendered (so after the loop it is one more than the rounds run).
The loop ends when the condition is truthy, or when ``checkFrequency.maxIterations`` rounds have run
or ``maxDuration`` has passed (SUCCESS, or FAILED with ``failOnMaxReached``); a failed child ends it
FAILED. Rounds are ``checkFrequency.interval`` apart. Children see ``taskrun.iteration`` = the round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ... import expressions
from ...durations import parse_duration
from ...errors import did_you_mean
from ...records.execution import now
from ..base import FlowableTask, Group, Plan, Prop, TaskContext, TaskFailure

_FREQUENCY_KEYS = {
    "maxIterations": "an integer",
    "maxDuration": "an ISO-8601 duration",
    "interval": "an ISO-8601 duration",
}


@dataclass(frozen=True)
class _Frequency:
    max_iterations: int | None
    max_duration: timedelta | None
    interval: timedelta


class LoopUntil(FlowableTask):
    """Run ``tasks`` again and again until ``condition`` is true (or a maximum is reached)."""

    type = "io.kestra.plugin.core.flow.LoopUntil"
    aliases = ("io.kestra.plugin.core.flow.WaitFor",)
    example = """\
id: loop_until
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.LoopUntil
    condition: "{{ outputs.return.value == '4' }}"
    checkFrequency:
      interval: PT0.1S
    tasks:
      - id: return
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.loop.iterationCount }}"
"""
    outputs = {"iterationCount": "The round running (1 in the first); after the loop, the rounds run plus one."}
    properties = {
        **FlowableTask.properties,
        "tasks": Prop("tasks", required=True, dynamic=False, description="Child tasks run in every round."),
        "condition": Prop("string", required=True,
                          description="Rendered after each round; the loop ends when it is truthy "
                                      "(false only for '', 'false', '0', '-0')."),
        "failOnMaxReached": Prop("bool", default=False,
                                 description="End FAILED (instead of SUCCESS) when maxIterations or "
                                             "maxDuration is reached."),
        "checkFrequency": Prop("map", default={},
                               description="maxIterations (default 100), maxDuration (default PT1H) and "
                                           "interval between rounds (default PT1S)."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        return self._round(ctx, 1, 0.0)

    def check(self, task: Any) -> list[tuple[str | tuple[str | int, ...], str]]:
        problems: list[tuple[str | tuple[str | int, ...], str]] = []
        if not task.children.get("tasks"):
            problems.append(("tasks", "'tasks' must hold at least one task"))
        frequency = task.props.get("checkFrequency")
        if isinstance(frequency, dict):
            for key, value in frequency.items():
                where = ("checkFrequency", key)
                if key not in _FREQUENCY_KEYS:
                    problems.append((where, f"unknown property '{key}' for checkFrequency"
                                            f"{did_you_mean(key, _FREQUENCY_KEYS)}"))
                elif not _is_expression(value) and _frequency_value(key, value) is None:
                    problems.append((where, f"'{key}' must be {_FREQUENCY_KEYS[key]}, got {value!r}"))
        return problems

    def _round(self, ctx: TaskContext, count: int, delay: float) -> Plan:
        group = Group(ctx.task.children["tasks"], iteration=count)
        return Plan([group], outputs={"iterationCount": count}, again=self._again, delay=delay)

    def _again(self, ctx: TaskContext) -> Plan | None:
        count = int((ctx.run.outputs or {}).get("iterationCount", 1)) + 1
        # Kestra renders the condition with the count already raised: update the outputs the
        # expressions read (this run's own) before rendering it.
        if ctx.run.outputs is not None:
            ctx.run.outputs["iterationCount"] = count
        frequency = _frequency(ctx)
        reached = self._reached(frequency, count, ctx)
        if reached is None and not expressions.is_truthy(ctx.get("condition")):
            return self._round(ctx, count, frequency.interval.total_seconds())
        if reached is not None:
            ctx.log("WARN", reached)
            if ctx.get("failOnMaxReached"):
                raise TaskFailure(reached)
        return Plan([], outputs={"iterationCount": count})

    @staticmethod
    def _reached(frequency: _Frequency, count: int, ctx: TaskContext) -> str | None:
        if frequency.max_iterations is not None and count > frequency.max_iterations:
            return "Max iterations reached"
        if frequency.max_duration is not None and now() - ctx.run.start_date > frequency.max_duration:
            return "Max duration reached"
        return None


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _frequency_value(key: str, value: Any) -> Any:
    """A checkFrequency value converted, or None when it is not one."""
    if key == "maxIterations":
        if isinstance(value, bool):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    try:
        return parse_duration(value)
    except (TypeError, ValueError):
        return None


def _frequency(ctx: TaskContext) -> _Frequency:
    rendered = ctx.get("checkFrequency") or {}
    values: dict[str, Any] = {"maxIterations": 100, "maxDuration": timedelta(hours=1),
                              "interval": timedelta(seconds=1)}
    for key in _FREQUENCY_KEYS:
        if rendered.get(key) is not None:
            value = _frequency_value(key, rendered[key])
            if value is None:
                raise TaskFailure(f"checkFrequency.{key} must be {_FREQUENCY_KEYS[key]}, got {rendered[key]!r}")
            values[key] = value
    return _Frequency(values["maxIterations"], values["maxDuration"], values["interval"])
