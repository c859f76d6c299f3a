"""io.kestra.plugin.core.trigger.Toggle: switch a flow's trigger on or off."""

from __future__ import annotations

from typing import Any

from ...errors import UserError
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin


class Toggle(TaskPlugin):
    """Enable or disable a trigger of a registered flow (this flow by default), as the scheduler's
    switch does (``%flow triggers --enable/--disable``)."""

    type = "io.kestra.plugin.core.trigger.Toggle"
    aliases = ("io.kestra.core.tasks.trigger.Toggle",)
    example = """\
id: trigger_toggle
namespace: company.team
tasks:
  - id: disable
    type: io.kestra.plugin.core.trigger.Toggle
    trigger: schedule
    enabled: false
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
"""
    properties = {
        "namespace": Prop("string", description="The namespace of the trigger's flow; this flow's by default."),
        "flowId": Prop("string", description="The id of the trigger's flow; this flow by default."),
        "trigger": Prop("string", required=True, description="The id of the trigger."),
        "enabled": Prop("bool", default=False, description="Enable (true) or disable (false) the trigger."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        namespace = ctx.get("namespace") or ctx.execution.namespace
        flow_id = ctx.get("flowId") or ctx.execution.flow_id
        try:
            ctx.toggle_trigger(namespace, flow_id, ctx.get("trigger"), ctx.get("enabled"))
        except UserError as exc:
            raise TaskFailure(str(exc)) from None
        return None
