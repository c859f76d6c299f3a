"""io.kestra.plugin.core.debug: Return, and the deprecated Echo."""

from __future__ import annotations

from typing import Any

from ..base import LEVELS, Prop, TaskContext, TaskPlugin


class Return(TaskPlugin):
    """Render ``format`` and return it as the output ``value``."""

    type = "io.kestra.plugin.core.debug.Return"
    outputs = {"value": "The rendered `format`."}
    properties = {"format": Prop("string", description="Text to render; becomes the output `value`.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        value = ctx.get("format")
        ctx.log("DEBUG", f"Return: {value}")
        return {"value": value}


class Echo(TaskPlugin):
    """Deprecated in Kestra (use log.Log): log the rendered ``format`` at ``level``."""

    type = "io.kestra.plugin.core.debug.Echo"
    properties = {
        "format": Prop("string", required=True, description="The message to render and log."),
        "level": Prop("enum", default="INFO", choices=LEVELS, description="Log level."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        ctx.log(ctx.get("level"), ctx.get("format"))
        return None
