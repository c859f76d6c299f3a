"""io.kestra.plugin.core.execution: Fail, Labels, Exit, Assert, Count."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any

from ... import expressions
from ...errors import TemplateError
from ...expressions.dates import to_datetime
from ...records import states
from ..base import ExitExecution, Prop, TaskContext, TaskFailure, TaskPlugin


class Fail(TaskPlugin):
    """Fail the task with ``errorMessage`` (only when ``condition`` is truthy, if given)."""

    type = "io.kestra.plugin.core.execution.Fail"
    properties = {
        "condition": Prop("string", description="Fail only when this renders truthy."),
        "errorMessage": Prop("string", default="Task failure", description="The failure message."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        if ctx.task.props.get("condition") is not None and not expressions.is_truthy(ctx.get("condition")):
            return None
        raise TaskFailure(ctx.get("errorMessage"))


class Labels(TaskPlugin):
    """Add or replace labels of the running execution."""

    type = "io.kestra.plugin.core.execution.Labels"
    properties = {"labels": Prop("any", required=True, description="Map, list of {key, value}, or a JSON expression.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        raw = ctx.task.props["labels"]
        if isinstance(raw, str):
            raw = ctx.render(raw, typed=True)
            raw = json.loads(raw) if isinstance(raw, str) else raw
        else:
            raw = ctx.render(raw)
        if isinstance(raw, list):
            raw = {item.get("key"): item.get("value") for item in raw if isinstance(item, dict)}
        if not isinstance(raw, dict):
            raise TaskFailure("labels must be a map, a list of {key, value}, or an expression giving a JSON map")
        for key, value in raw.items():
            if str(key).startswith("system."):
                raise TaskFailure(f"System labels can only be set by Kestra itself, offending label: {key}={value}")
            ctx.execution.labels[str(key)] = expressions.to_text(value)
        return None


class Exit(TaskPlugin):
    """End the execution now in ``state``; KILLED also stops running branches."""

    type = "io.kestra.plugin.core.execution.Exit"
    properties = {"state": Prop("enum", default="SUCCESS",
                                choices=("SUCCESS", "WARNING", "KILLED", "FAILED", "CANCELED"),
                                description="State the execution ends in.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        state = ctx.get("state")
        raise ExitExecution("CANCELLED" if state == "CANCELED" else state)


class Assert(TaskPlugin):
    """Render each condition; fail, naming how many were falsy, when any is (``errorMessage`` added)."""

    type = "io.kestra.plugin.core.execution.Assert"
    example = """\
id: assert
namespace: company.team
inputs:
  - id: param
    type: STRING
    defaults: ok
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{ inputs.param == 'ok' }}"
      - "{{ 1 + 1 == 2 }}"
"""
    properties = {
        "conditions": Prop("list", required=True, dynamic=False,
                           description="Expressions; each must render truthy (0, -0, '' and false are falsy)."),
        "errorMessage": Prop("string", description="Added on a new line to the failure message."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        failed = 0
        for condition in ctx.task.props["conditions"]:
            text = expressions.to_text(condition)
            try:
                passed = expressions.is_truthy(ctx.render(text))
            except TemplateError as exc:
                ctx.log("ERROR", f"Assertion `{text}` failed, failed to render `{exc}`")
                passed = False
            else:
                if not passed:
                    ctx.log("ERROR", f"Assertion `{text}` failed!")
            failed += not passed
        if failed:
            extra = ctx.get("errorMessage")
            plural = "s" if failed > 1 else ""
            raise TaskFailure(f"{failed} assertion{plural} failed!" + (f"\n{extra}" if extra is not None else ""))
        return None


class Count(TaskPlugin):
    """Count the stored executions of flows (or namespaces) started in a period; keep the counts for
    which ``expression`` (with ``count`` set) renders ``true``."""

    type = "io.kestra.plugin.core.execution.Count"
    aliases = ("io.kestra.plugin.core.execution.Counts", "io.kestra.core.tasks.executions.Counts")
    outputs = {"results": "The kept counts: {namespace, flowId (null for a namespace), count}.",
               "total": "The sum of the kept counts."}
    example = """\
id: executions_count
namespace: company.team
tasks:
  - id: counts
    type: io.kestra.plugin.core.execution.Count
    expression: "{{ count == 0 }}"
    flows:
      - namespace: company.team
        flowId: logs
    startDate: "{{ now() | dateAdd(-1, 'DAYS') }}"
"""
    properties = {
        "flows": Prop("list", description="Flows to count, each {namespace, flowId}; or give `namespaces`."),
        "namespaces": Prop("list", description="Namespaces whose executions are counted together."),
        "states": Prop("list", description="Count only executions in these states."),
        "startDate": Prop("string", required=True, description="Count executions started at or after this date."),
        "endDate": Prop("string", description="Count executions started at or before this date (now by default)."),
        "expression": Prop("string", required=True, dynamic=False,
                           description="Rendered with `count` for each flow; the count is kept when `true`."),
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        return check_names(task, "states", STATES, "execution state")

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        flows, namespaces = ctx.get("flows"), ctx.get("namespaces")
        if flows is None and namespaces is None:
            raise TaskFailure("You must provide a list of flows or namespaces")
        wanted = [(str(f.get("namespace")), str(f.get("flowId"))) for f in flows or () if isinstance(f, dict)]
        start, end = date_property(ctx, "startDate"), date_property(ctx, "endDate")
        now = datetime.now(timezone.utc)
        found: Counter[tuple[str, str]] = Counter(
            (ex.namespace, ex.flow_id) for ex in ctx.executions(
                states=ctx.get("states"), start=start or now - timedelta(days=30), end=end or now)
            if (ex.namespace, ex.flow_id) in wanted or ex.namespace in (namespaces or ()))
        counts: list[tuple[str, str | None, int]] = [(ns, flow, found[(ns, flow)]) for ns, flow in wanted]
        for namespace in dict.fromkeys(namespaces or ()):
            total = sum(n for (ns, _), n in found.items() if ns == namespace)
            if total:
                counts.append((namespace, None, total))
        expression = ctx.task.props["expression"]
        results = [{"namespace": ns, "flowId": flow, "count": n} for ns, flow, n in counts
                   if expressions.render(expression, {**ctx.variables, "count": n}) == "true"]
        ctx.log("DEBUG", f"{len(results)} flows matching the expression")
        return {"results": results, "total": sum(r["count"] for r in results)}


def check_names(task: Any, prop: str, names: Collection[str], what: str) -> list[tuple[str, str]]:
    """Each entry of the list property ``prop`` that is not one of ``names`` (Kestra's enums: states,
    log levels), located; expressions are left to run time."""
    value = task.props.get(prop)
    if not isinstance(value, list):
        return []
    return [(f"{prop}[{i}]", f"unknown {what} '{item}' (expected one of {', '.join(names)})")
            for i, item in enumerate(value) if "{{" not in str(item) and item not in names]


STATES = sorted(states.NAMES)


def date_property(ctx: TaskContext, name: str) -> datetime | None:
    """A date property (``ZonedDateTime.parse`` of its rendered text), or None when absent."""
    text = ctx.get(name)
    if text is None:
        return None
    try:
        return to_datetime(text)
    except ValueError as exc:
        raise TaskFailure(f"property '{name}': {exc}") from None
