"""io.kestra.plugin.core.templating.TemplatedTask: a task whose whole definition is a template.

``spec`` is rendered, read as one task's YAML map (validated as a flow's tasks are) and that task
runs in this task's run, as Kestra runs it with the TemplatedTask's ``RunContext``: its outputs are
this task's. A task that is not runnable (flowable, a Subflow) or another TemplatedTask is refused
with Kestra's messages.
"""

from __future__ import annotations

from typing import Any

from ...errors import FlowValidationError
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from .flow import Subflow


class TemplatedTask(TaskPlugin):
    """Render ``spec`` into a runnable task's definition and run that task; its outputs are this task's."""

    type = "io.kestra.plugin.core.templating.TemplatedTask"
    aliases = ("io.kestra.core.tasks.templating.TemplatedTask",)
    # No outputs of its own: those of the task `spec` renders into (docstring), unknown before it runs.
    # The templated task may be any runnable one, sleeping or doing I/O: off the coordinator's thread.
    blocking = True
    properties = {
        "spec": Prop("string", required=True, description=(
            "The task's YAML map (`type` and its properties; `id` is this task's), rendered first, so any of "
            "its keys and values may be expressions.")),
    }
    example = """\
id: templated_task
namespace: company.team

inputs:
  - id: level
    type: STRING
    defaults: INFO

tasks:
  - id: templated
    type: io.kestra.plugin.core.templating.TemplatedTask
    spec: |
      type: io.kestra.plugin.core.log.Log
      level: {{ inputs.level }}
      message: Hello from a templated task
"""

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        try:
            task = ctx.build_task(ctx.get("spec"))
        except FlowValidationError as exc:
            raise TaskFailure("property 'spec': " + "; ".join(str(problem) for problem in exc.problems)) from None
        if isinstance(task.plugin, TemplatedTask):
            raise TaskFailure(f"The templated task cannot be of type '{self.type}'")
        # Kestra runs RunnableTasks only: not flowable tasks, nor a Subflow (an ExecutableTask) or the
        # parts of a ForEachItem
        if task.plugin.flowable or task.plugin.internal or isinstance(task.plugin, Subflow):
            raise TaskFailure("The templated task must be a runnable task")
        return ctx.run_task(task)
