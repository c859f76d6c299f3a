"""io.kestra.plugin.core.log.Log."""

from __future__ import annotations

from typing import Any

from ..base import LEVELS, Prop, TaskContext, TaskPlugin


class Log(TaskPlugin):
    """Log a message (or each message of a list) at a level."""

    type = "io.kestra.plugin.core.log.Log"
    example = """\
id: greet
namespace: company.team
inputs:
  - id: user
    type: STRING
    defaults: Ann
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello, {{ inputs.user }}!"
    level: WARN
"""
    properties = {
        "message": Prop("string_or_list", required=True, description="Message, or list of messages, to log."),
        "level": Prop("enum", default="INFO", choices=LEVELS, description="Log level."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        level = ctx.get("level")
        messages = ctx.get("message")
        for message in messages if isinstance(messages, list) else [messages]:
            ctx.log(level, message)
        return None
