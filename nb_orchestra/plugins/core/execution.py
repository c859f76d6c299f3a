"""io.kestra.plugin.core.execution: Fail, Labels, Exit."""

from __future__ import annotations

import json
from typing import Any

from ... import expressions
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
