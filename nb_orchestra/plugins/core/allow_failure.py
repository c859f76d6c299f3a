"""io.kestra.plugin.core.flow.AllowFailure: a sequence of tasks whose failure does not fail the flow."""

from __future__ import annotations

from ..base import FlowableTask, Group, Plan, Prop, TaskContext


class AllowFailure(FlowableTask):
    """Run ``tasks`` one after the other; when one fails the rest are skipped, ``errors`` run, and
    this task ends WARNING so the tasks after it still run (as Kestra)."""

    type = "io.kestra.plugin.core.flow.AllowFailure"
    properties = {
        **FlowableTask.properties,
        "tasks": Prop("tasks", required=True, dynamic=False, description="Child tasks, run one after the other."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        return Plan([Group(ctx.task.children["tasks"])], allow_failure=True)
