"""Kestra's execution.Resume: resume a PAUSED execution (the current one by default).

Only an execution running in this process can be resumed: a paused execution waits inside its
engine (``Execution.resume``), and an execution of an ended process was marked KILLED.
"""

from __future__ import annotations

from typing import Any

from ...errors import InputError
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from .log_fetch import execution_info


class Resume(TaskPlugin):
    """Resume a PAUSED execution: its paused Pause tasks go on, ``inputs`` answering their ``onResume``."""

    type = "io.kestra.plugin.core.execution.Resume"
    aliases = ("io.kestra.core.tasks.executions.Resume",)
    example = """\
id: resume_execution
namespace: company.team
inputs:
  - id: executionId
    type: STRING
tasks:
  - id: resume
    type: io.kestra.plugin.core.execution.Resume
    executionId: "{{ inputs.executionId }}"
"""
    properties = {
        "namespace": Prop("string", description="Namespace of the execution's flow, with `executionId` and "
                          "`flowId`."),
        "flowId": Prop("string", description="Id of the execution's flow, with `executionId` and `namespace`."),
        "executionId": Prop("string", description="The execution to resume (found by its id, of any flow); "
                            "the current execution when absent."),
        "inputs": Prop("map", description="Answers to the paused tasks' `onResume` inputs."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        # Kestra then finds the execution by its id alone (ExecutionRepository.findById).
        execution_id, _, _ = execution_info(ctx, ctx.get("namespace"), ctx.get("flowId"), ctx.get("executionId"))
        try:
            ctx.resume_execution(execution_id, ctx.get("inputs"))
        except InputError as exc:
            raise TaskFailure(str(exc)) from None
        ctx.info(f"resumed execution {execution_id}")
        return None
