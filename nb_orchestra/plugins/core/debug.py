"""io.kestra.plugin.core.debug.Return."""

from __future__ import annotations

from typing import Any

from ..base import Prop, TaskContext, TaskPlugin


class Return(TaskPlugin):
    """Render ``format`` and return it as the output ``value``."""

    type = "io.kestra.plugin.core.debug.Return"
    outputs = {"value": "The rendered `format`."}
    properties = {"format": Prop("string", description="Text to render; becomes the output `value`.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        value = ctx.get("format")
        ctx.log("DEBUG", f"Return: {value}")
        return {"value": value}
