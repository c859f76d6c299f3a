"""io.kestra.plugin.core.flow: If, Switch, ForEach, Parallel, Sequential, WorkingDirectory,
Sleep, Pause and Subflow.

Flowable tasks only decide which child tasks run (a Plan); the engine runs them.
"""

from __future__ import annotations

from typing import Any

from ... import expressions
from ...errors import FlowDisabledError, InputError
from ..base import FlowableTask, Group, Plan, Prop, TaskContext, TaskFailure, TaskPlugin

_TASKS = Prop("tasks", required=True, dynamic=False, description="Child tasks.")


class If(FlowableTask):
    """Run ``then`` when ``condition`` renders truthy, else ``else``."""

    type = "io.kestra.plugin.core.flow.If"
    outputs = {"evaluationResult": "Whether the condition was true."}
    properties = {
        **FlowableTask.properties,
        "condition": Prop("string", required=True, description="Expression; false only for '', 'false', '0', '-0'."),
        "then": _TASKS,
        "else": Prop("tasks", dynamic=False, description="Tasks run when the condition is false."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        result = expressions.is_truthy(ctx.get("condition"))
        branch = ctx.task.children.get("then" if result else "else") or []
        return Plan([Group(branch)] if branch else [], outputs={"evaluationResult": result})

    def check(self, task) -> list[tuple[str, str]]:
        return [] if task.children.get("then") else [("then", "'then' must hold at least one task")]


class Switch(FlowableTask):
    """Run the tasks of the case equal to the rendered ``value``, else ``defaults``."""

    type = "io.kestra.plugin.core.flow.Switch"
    example = """\
id: route
namespace: company.team
inputs:
  - id: size
    type: SELECT
    values: [small, large]
    defaults: small
tasks:
  - id: by_size
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.size }}"
    cases:
      small:
        - id: quick
          type: io.kestra.plugin.core.log.Log
          message: a small job
    defaults:
      - id: slow
        type: io.kestra.plugin.core.log.Log
        message: "a {{ inputs.size }} job"
"""
    outputs = {"value": "The rendered `value`.", "defaults": "True when no case matched."}
    properties = {
        **FlowableTask.properties,
        "value": Prop("string", required=True, description="Expression whose text selects a case."),
        "cases": Prop("task_map", dynamic=False, description="Map of value -> tasks."),
        "defaults": Prop("tasks", dynamic=False, description="Tasks run when no case matches."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        value = ctx.get("value")
        cases = ctx.task.child_maps.get("cases", {})
        matched = value in cases
        tasks = cases[value] if matched else ctx.task.children.get("defaults", [])
        return Plan([Group(tasks)] if tasks else [], outputs={"value": value, "defaults": not matched})

    def check(self, task) -> list[tuple[str, str]]:
        if any(task.child_maps.get("cases", {}).values()) or task.children.get("defaults"):
            return []
        return [("", "No task defined, neither cases or default have any tasks")]


def loop_values(raw: Any) -> list[str]:
    """ForEach values as Kestra makes them: strings, objects as JSON, duplicates dropped."""
    values: list[str] = []
    nulls = 0
    for item in raw:
        if item is None:
            nulls += 1
            continue
        values.append(item if isinstance(item, str) else expressions.to_text(item))
    if nulls:
        raise TaskFailure(f"Found '{nulls}' null values on Each")
    return list(dict.fromkeys(values))


class ForEach(FlowableTask):
    """Run ``tasks`` once per value, ``concurrencyLimit`` value groups at a time (0 = all)."""

    type = "io.kestra.plugin.core.flow.ForEach"
    properties = {
        **FlowableTask.properties,
        "values": Prop("list_or_string", required=True, description="A list, or an expression giving a JSON array."),
        "concurrencyLimit": Prop("int", default=1, dynamic=False,
                                 description="Value groups run at once; 0 = no limit."),
        "tasks": _TASKS,
    }
    values_property = "values"

    def plan(self, ctx: TaskContext) -> Plan:
        values = loop_values(ctx.get(self.values_property))
        tasks = ctx.task.children.get("tasks", [])
        groups = [Group(tasks, value, i) for i, value in enumerate(values)]
        return Plan(groups, concurrency=self.concurrency(ctx))

    def concurrency(self, ctx: TaskContext) -> int:
        limit = ctx.get("concurrencyLimit")
        if limit < 0:
            raise TaskFailure("concurrencyLimit must be 0 (no limit) or more")
        return limit


class EachSequential(ForEach):
    """Deprecated: ForEach with concurrencyLimit 1 (the property is ``value``)."""

    type = "io.kestra.plugin.core.flow.EachSequential"
    properties = {
        **FlowableTask.properties,
        "value": Prop("list_or_string", required=True, description="A list, or an expression giving a JSON array."),
        "tasks": _TASKS,
    }
    values_property = "value"

    def concurrency(self, ctx: TaskContext) -> int:
        return 1


class EachParallel(EachSequential):
    """Deprecated: ForEach with every value at once, up to ``concurrent``."""

    type = "io.kestra.plugin.core.flow.EachParallel"
    children_in_order = False  # Kestra starts the tasks of a value together
    properties = {
        **EachSequential.properties,
        "concurrent": Prop("int", default=0, dynamic=False, description="Values run at once; 0 = no limit."),
    }

    def concurrency(self, ctx: TaskContext) -> int:
        return ctx.get("concurrent")


class Parallel(FlowableTask):
    """Start every child task at once (at most ``concurrent``, 0 = no limit)."""

    type = "io.kestra.plugin.core.flow.Parallel"
    children_in_order = False
    properties = {
        **FlowableTask.properties,
        "tasks": _TASKS,
        "concurrent": Prop("int", default=0, dynamic=False, description="Children run at once; 0 = no limit."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        return Plan([Group([task]) for task in ctx.task.children["tasks"]], concurrency=ctx.get("concurrent"))


class Sequential(FlowableTask):
    """Group child tasks (run one after the other), e.g. for a local ``errors`` handler."""

    type = "io.kestra.plugin.core.flow.Sequential"
    properties = {**FlowableTask.properties, "tasks": _TASKS}

    def plan(self, ctx: TaskContext) -> Plan:
        return Plan([Group(ctx.task.children["tasks"])])


class WorkingDirectory(Sequential):
    """Run runnable child tasks one after the other in one shared directory."""

    type = "io.kestra.plugin.core.flow.WorkingDirectory"

    def plan(self, ctx: TaskContext) -> Plan:
        return Plan([Group(ctx.task.children["tasks"])], working_dir=True)

    def check(self, task) -> list[tuple[str, str]]:
        if any(child.plugin.flowable for child in task.children.get("tasks", [])):
            return [("tasks", "Only runnable tasks are allowed as children of a WorkingDirectory task")]
        return []


class Sleep(TaskPlugin):
    """Wait for ``duration``."""

    type = "io.kestra.plugin.core.flow.Sleep"
    blocking = True
    properties = {"duration": Prop("duration", required=True, description="ISO-8601 duration, e.g. PT15S.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        ctx.wait(ctx.get("duration").total_seconds())
        return None


class Pause(TaskPlugin):
    """Pause the execution for ``pauseDuration``, or until ``Execution.resume()`` is called."""

    type = "io.kestra.plugin.core.flow.Pause"
    blocking = True
    properties = {
        "pauseDuration": Prop("duration", description="Resume by itself after this long."),
        "delay": Prop("duration", description="The name of pauseDuration before Kestra 0.21."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        duration = ctx.get("pauseDuration") or ctx.get("delay")
        if duration is not None:
            ctx.wait(duration.total_seconds())
            return None
        ctx.log("INFO", "paused: call resume() on the execution (or %flow resume) to continue")
        ctx.pause()
        return None


class Subflow(TaskPlugin):
    """Run another registered flow as a child execution and expose its flow outputs."""

    type = "io.kestra.plugin.core.flow.Subflow"
    outputs = {
        "executionId": "Id of the child execution.",
        "state": "Final state of the child (with wait).",
        "outputs": "The flow outputs of the child (with wait).",
    }
    aliases = ("io.kestra.plugin.core.flow.Flow",)
    blocking = True
    properties = {
        "namespace": Prop("string", required=True, description="Namespace of the flow to run."),
        "flowId": Prop("string", required=True, description="Id of the flow to run."),
        "revision": Prop("int", description="Revision to run; the latest when absent."),
        "inputs": Prop("map", default={}, description="Inputs of the child execution (rendered)."),
        "labels": Prop("any", description="Labels added to the child execution."),
        "wait": Prop("bool", default=True, description="Wait for the child to end."),
        "transmitFailed": Prop("bool", default=True, description="Fail when the child fails (with wait)."),
        "inheritLabels": Prop("bool", default=False, description="Copy this execution's labels to the child."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        namespace, flow_id, revision = ctx.get("namespace"), ctx.get("flowId"), ctx.get("revision")
        labels = dict(ctx.execution.labels) if ctx.get("inheritLabels") else {}
        labels.update(_labels(ctx.render(ctx.task.props.get("labels") or {})))
        wait = ctx.get("wait")
        try:
            child = ctx.run_subflow(namespace, flow_id, revision, ctx.get("inputs"), labels, wait)
        except (InputError, FlowDisabledError) as exc:  # an unknown flow keeps Kestra's own message
            raise TaskFailure(f"subflow {namespace}.{flow_id}: {exc}") from None
        if not wait:
            return {"executionId": child.id}
        outputs = {"executionId": child.id, "state": child.state, "outputs": child.flow_outputs}
        if child.state in ("FAILED", "KILLED") and ctx.get("transmitFailed"):
            raise TaskFailure(f"subflow {namespace}.{flow_id} execution {child.id} ended {child.state}", outputs)
        ctx.warning = child.state == "WARNING"
        return outputs


def _labels(raw: Any) -> dict[str, str]:
    if isinstance(raw, list):
        raw = {item["key"]: item["value"] for item in raw}
    return {str(k): expressions.to_text(v) for k, v in (raw or {}).items()}
