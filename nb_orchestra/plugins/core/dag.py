"""io.kestra.plugin.core.flow.Dag: child tasks that start once the tasks they depend on have ended.

As Kestra: a task starts when every task of its ``dependsOn`` has ended (``concurrent`` at most at
once, 0 = no limit); after a failure no new task starts. A ``dependsOn`` naming no task of the Dag,
or a dependency cycle, is a validation error located at the entry (Kestra's DagTaskValidator
messages: "Not existing task id in dependency: ..." first, else "Cyclic dependency detected: ...").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..base import FlowableTask, Group, Plan, Prop, TaskContext


class Dag(FlowableTask):
    """Run child tasks as a graph: each starts when the tasks it ``dependsOn`` have ended."""

    type = "io.kestra.plugin.core.flow.Dag"
    children_in_order = False
    example = """\
id: dag
namespace: company.team
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: extract
          type: io.kestra.plugin.core.log.Log
          message: extract
      - task:
          id: load
          type: io.kestra.plugin.core.log.Log
          message: load after extract
        dependsOn:
          - extract
"""
    entry_properties = {
        "dependsOn": Prop("list", dynamic=False,
                          description="Ids of the tasks of this Dag that must have ended before this one starts."),
    }
    properties = {
        **FlowableTask.properties,
        "tasks": Prop("task_entries", required=True, dynamic=False,
                      description="Entries with the task under `task` and its `dependsOn` (task ids)."),
        "concurrent": Prop("int", default=0, dynamic=False,
                           description="Tasks running at once; 0 = every task whose dependencies ended."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        children = ctx.task.children.get("tasks", [])
        ids = {task.id for task in children}
        depends = _depends_on(ctx.task.props.get("tasks") or [])
        groups = [Group([task], name=task.id, after=[d for d in depends.get(task.id, ()) if d in ids])
                  for task in children]
        return Plan(groups, concurrency=ctx.get("concurrent"))

    def check(self, task: Any) -> list[tuple[str | tuple[str | int, ...], str]]:
        entries = task.props.get("tasks")
        if not isinstance(entries, list):
            return []
        if not entries:
            return [("tasks", "No task defined")]
        depends = _depends_on(entries)
        ids = [entry["task"] for entry in entries]
        unknown = [(i, j, dep) for i, entry in enumerate(entries)
                   for j, dep in enumerate(_dependencies(entry)) if dep not in ids]
        if unknown:  # one problem, as Kestra, at the first unknown id
            first, names = unknown[0], ", ".join(dep for *_, dep in unknown)
            return [(("tasks", first[0], "dependsOn", first[1]), f"Not existing task id in dependency: {names}")]
        cyclic = [task_id for task_id in ids if depends.get(task_id) and task_id in _reachable(task_id, depends)]
        if cyclic:
            return [(("tasks", ids.index(cyclic[0]), "dependsOn"), "Cyclic dependency detected: " + ", ".join(cyclic))]
        return []


def _dependencies(entry: Mapping[str, Any]) -> list[str]:
    raw = entry.get("dependsOn")
    return [str(dep) for dep in raw] if isinstance(raw, list) else []


def _depends_on(entries: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Task id -> the ids it depends on."""
    return {str(entry["task"]): _dependencies(entry) for entry in entries if "task" in entry}


def _reachable(start: str, depends: Mapping[str, Sequence[str]]) -> set[str]:
    """Every task id ``start`` depends on, directly or not."""
    seen: set[str] = set()
    todo = list(depends.get(start, ()))
    while todo:
        task_id = todo.pop()
        if task_id not in seen:
            seen.add(task_id)
            todo.extend(depends.get(task_id, ()))
    return seen
