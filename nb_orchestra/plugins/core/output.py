"""io.kestra.plugin.core.output.OutputValues."""

from __future__ import annotations

from typing import Any

from ..base import Prop, TaskContext, TaskPlugin


class OutputValues(TaskPlugin):
    """Expose a map of values (rendered, types kept) as the output ``values``."""

    type = "io.kestra.plugin.core.output.OutputValues"
    outputs = {"values": "The rendered map (types kept)."}
    properties = {"values": Prop("map", description="Values to output; strings are rendered.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        raw = ctx.task.props.get("values") or {}
        return {"values": ctx.render(raw, typed=True)}
