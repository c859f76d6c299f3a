"""Kestra's log.Fetch: the logs of an execution (the current one by default) into an Ion file."""

from __future__ import annotations

from typing import Any

from ..base import LEVELS, Prop, TaskContext, TaskFailure, TaskPlugin
from ..ion import store_values

_MISSING = "log.Fetch writes Ion files: install amazon.ion (pip install amazon.ion)"


def execution_info(ctx: TaskContext, namespace: str | None, flow_id: str | None,
                   execution_id: str | None) -> tuple[str, str, str]:
    """(execution id, namespace, flow id) a task names (Kestra's
    PluginUtilsService.executionFromTaskParameters): the current execution without ``executionId``;
    with it, one of the current flow unless ``namespace`` and ``flowId`` are both given."""
    current = ctx.execution
    if execution_id is None:
        if namespace is not None or flow_id is not None:
            raise TaskFailure("`namespace` and `flowId` should only be set when `executionId` is set.")
        return current.id, current.namespace, current.flow_id
    if namespace is None and flow_id is None:
        return execution_id, current.namespace, current.flow_id
    if namespace is None or flow_id is None:
        raise TaskFailure("Both `namespace` and `flowId` must be set when `executionId` is set.")
    return execution_id, namespace, flow_id


class Fetch(TaskPlugin):
    """Fetch the logs of an execution at or above ``level``, of some tasks only when ``tasksId`` is given
    (in that order, task by task), as an Ion file: one log entry per line."""

    type = "io.kestra.plugin.core.log.Fetch"
    aliases = ("io.kestra.core.tasks.log.Fetch",)
    outputs = {"uri": "Internal storage URI of the Ion file: one log entry per line.",
               "size": "The number of log entries fetched."}
    example = """\
id: fetch_logs
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: Hello
  - id: fetch
    type: io.kestra.plugin.core.log.Fetch
    level: INFO
"""
    properties = {
        "namespace": Prop("string", description="Namespace of the execution's flow, with `executionId` and "
                          "`flowId`."),
        "flowId": Prop("string", description="Id of the execution's flow, with `executionId` and `namespace`."),
        "executionId": Prop("string", description="The execution whose logs are fetched (of the current flow "
                            "unless `namespace` and `flowId` are set); the current execution when absent."),
        "tasksId": Prop("list", dynamic=False, description="Fetch only the logs of these task ids."),
        "level": Prop("enum", default="INFO", choices=LEVELS, dynamic=False,
                      description="The lowest log level fetched."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        execution_id, namespace, flow_id = execution_info(ctx, ctx.get("namespace"), ctx.get("flowId"),
                                                          ctx.get("executionId"))
        ex = ctx.find_execution(execution_id)
        if ex is None or (ex.namespace, ex.flow_id) != (namespace, flow_id):
            raise TaskFailure(f"No execution found for execution id {execution_id} of flow {namespace}.{flow_id}")
        lowest = LEVELS.index(ctx.get("level"))
        logs = [log for log in list(ex.logs) if log.level in LEVELS and LEVELS.index(log.level) >= lowest]
        tasks = ctx.get("tasksId")
        if tasks is not None:
            logs = [log for task_id in tasks for log in logs if log.task_id == str(task_id)]
        attempts = {run.id: max(len(run.attempts) - 1, 0) for run in list(ex.taskruns)}
        entries = ({"namespace": ex.namespace, "flowId": ex.flow_id, "taskId": log.task_id,
                    "executionId": ex.id, "taskRunId": log.taskrun_id,
                    "attemptNumber": attempts.get(log.taskrun_id) if log.taskrun_id else None,
                    "timestamp": log.timestamp, "level": log.level, "message": log.message}
                   for log in logs)
        return store_values(ctx, entries, _MISSING)
