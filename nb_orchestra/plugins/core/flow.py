"""io.kestra.plugin.core.flow: If, Switch, ForEach, Parallel, Sequential, WorkingDirectory,
Sleep, Pause and Subflow.

Flowable tasks only decide which child tasks run (a Plan); the engine runs them.
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path
from typing import Any

from ... import expressions
from ...config import settings
from ...durations import parse_duration
from ...errors import FlowDisabledError, InputError, UserError
from ...inputs import check_declarations, coerce_input
from ..base import FlowableTask, Group, PauseSpec, Plan, Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import inside, write_input_files
from ..scripts.files import collect_output_files, copy_namespace_files, matching_files

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
        if not matched and not tasks:  # Kestra: no child tasks resolved ends the Switch FAILED
            ex = ctx.execution
            raise TaskFailure(f"No task found on flow '{ex.namespace}.{ex.flow_id}', task '{ctx.task.id}', "
                              f"execution '{ex.id}'")
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
    """Run runnable child tasks one after the other in one shared directory.

    The directory is filled first from the ``cache``, the namespace's files and ``inputFiles``;
    ``outputFiles`` are kept and the cache saved once every child succeeded."""

    type = "io.kestra.plugin.core.flow.WorkingDirectory"
    outputs = {"outputFiles": "outputFiles path -> kestra:// URI (when outputFiles is set)."}
    properties = {
        **Sequential.properties,
        "inputFiles": Prop("map_or_string", description="File name -> text or kestra:// URI, written into the "
                                                       "directory before the first child runs."),
        "outputFiles": Prop("list", description="Globs of the directory's files kept as `outputFiles` once every "
                                                "child succeeded."),
        "namespaceFiles": Prop("map", description="{enabled, include, exclude, ifExists}: copy the namespace's "
                                                  "files (<home>/namespaces/<ns>/) into the directory first."),
        "cache": Prop("map", dynamic=False, description="{patterns, ttl}: the files matching `patterns` are kept "
                                                        "after a successful run and put back by the next run of the "
                                                        "task within `ttl` (no ttl: always)."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        work = ctx.working_dir  # a WorkingDirectory is never inside another: a fresh folder of its own
        namespace = ctx.execution.namespace
        cache: dict[str, Any] = ctx.task.props.get("cache") or {}
        archive = _cache_archive(ctx) if cache else None
        restored = 0.0
        if archive is not None and archive.is_file():
            ttl = parse_duration(cache["ttl"]).total_seconds() if cache.get("ttl") else None
            if ttl is not None and archive.stat().st_mtime + ttl < time.time():
                archive.unlink()
                ctx.log("DEBUG", "cache expired: deleted")
            else:
                try:
                    restored = _restore_cache(archive, work)
                    ctx.log("DEBUG", "cache restored")
                except (OSError, zipfile.BadZipFile) as exc:  # as Kestra: an unreadable cache is not used
                    ctx.log("ERROR", f"Unable to restore the cache: {exc}")
        ns_config = ctx.get("namespaceFiles") or {}
        if ns_config and ns_config.get("enabled", True) not in (False, "false"):
            ctx.log("DEBUG", f"copied {copy_namespace_files(ns_config, work, namespace)} namespace file(s)")
        write_input_files(ctx.get("inputFiles") or {}, work, namespace)
        patterns = [str(pattern) for pattern in ctx.get("outputFiles") or []]

        def finish(end: TaskContext) -> Plan | None:
            """Once every child succeeded: keep outputFiles, save the cache when its files changed."""
            if archive is not None:
                try:
                    _save_cache(end, work, [str(p) for p in cache.get("patterns") or []], archive, restored)
                except OSError as exc:  # as Kestra: logged, the task still succeeds
                    end.log("ERROR", f"Unable to save the cache: {exc}")
            if not patterns:
                return None
            try:
                return Plan([], outputs={"outputFiles": collect_output_files(patterns, work, end.storage_dir)})
            except OSError as exc:
                raise TaskFailure(f"Unable to capture WorkingDirectory output files: {exc}") from None

        return Plan([Group(ctx.task.children["tasks"])], working_dir=work, again=finish)

    def check(self, task) -> list[tuple[str, str]]:
        problems = []
        if any(child.plugin.flowable for child in task.children.get("tasks", [])):
            problems.append(("tasks", "Only runnable tasks are allowed as children of a WorkingDirectory task"))
        cache = task.props.get("cache")
        if isinstance(cache, dict):
            unknown = sorted(set(cache) - {"patterns", "ttl"})
            if unknown:
                problems.append(("cache", f"unknown property '{unknown[0]}' for cache: it has patterns and ttl"))
            if not isinstance(cache.get("patterns"), list) or not cache["patterns"]:
                problems.append(("cache", "cache.patterns: must not be empty (a list of globs)"))
            if cache.get("ttl") is not None:
                try:
                    parse_duration(cache["ttl"])
                except ValueError as exc:
                    problems.append(("cache", f"cache.ttl: {exc}"))
        return problems


def _cache_archive(ctx: TaskContext) -> Path:
    """Where a WorkingDirectory's cache is kept: one archive per flow, task and loop value."""
    ex = ctx.execution
    value = ctx.run.value
    folder = settings.home / "cache" / Path(*ex.namespace.split(".")) / ex.flow_id / ctx.task.id
    return (folder / _safe_name(value) if value is not None else folder) / "cache.zip"


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", value)[:100] or "_"


def _restore_cache(archive: Path, work: Path) -> float:
    """Put a cache archive's files into ``work``; returns when (for the later check of changed files)."""
    with zipfile.ZipFile(archive) as zipped:
        for name in zipped.namelist():
            if not name.endswith("/"):
                target = inside(work, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zipped.read(name))
    return time.time()


def _save_cache(ctx: TaskContext, work: Path, patterns: list[str], archive: Path, restored: float) -> None:
    found = matching_files(patterns, work)
    if not any((work / relative).stat().st_mtime > restored for relative in found):
        ctx.log("DEBUG", "cache files did not change: cache kept as it is")
        return
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zipped:
        for relative in found:
            zipped.write(work / relative, relative)
    partial.replace(archive)
    ctx.log("DEBUG", f"cache saved: {len(found)} file(s)")


class Sleep(TaskPlugin):
    """Wait for ``duration``."""

    type = "io.kestra.plugin.core.flow.Sleep"
    blocking = True
    properties = {"duration": Prop("duration", required=True, description="ISO-8601 duration, e.g. PT15S.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        ctx.wait(ctx.get("duration").total_seconds())
        return None


PAUSE_BEHAVIORS = ("RESUME", "WARN", "FAIL", "CANCEL")


class Pause(FlowableTask):
    """Pause the execution until resumed, for ``pauseDuration`` (then ``behavior``) or up to ``timeout``.

    Resumed by ``Execution.resume(inputs)`` or ``%flow resume -i KEY=VALUE`` (the ``onResume`` inputs);
    a ``timeout`` fails it; ``onPause`` starts when it pauses; the deprecated ``tasks`` run after it."""

    type = "io.kestra.plugin.core.flow.Pause"
    outputs = {
        "onResume": "The `onResume` inputs given when the execution was resumed.",
        "resumed": "How the pause ended: `by` (null here), `on` (local date-time) and `to` (the state).",
    }
    properties = {
        **FlowableTask.properties,
        "pauseDuration": Prop("duration", description="Resume by itself after this long, as `behavior` says."),
        "delay": Prop("duration", description="Deprecated name of pauseDuration (before Kestra 0.21)."),
        "behavior": Prop("enum", default="RESUME", choices=PAUSE_BEHAVIORS,
                         description="When pauseDuration ends: RESUME goes on, WARN goes on and ends the Pause "
                                     "WARNING, FAIL fails it, CANCEL cancels the execution. A resume by hand "
                                     "always goes on."),
        "onResume": Prop("list", dynamic=False,
                         description="Input declarations (as flow inputs) answered when resuming; their values "
                                     "are the `onResume` output."),
        "tasks": Prop("tasks", dynamic=False, description="Deprecated: tasks run once the pause ends."),
        "onPause": Prop("map", dynamic=False, description="A runnable task started as soon as the execution is "
                                                          "paused (a notification asking for a resume)."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        duration = ctx.get("pauseDuration") or ctx.get("delay")
        timeout = ctx.get("timeout")
        behavior = ctx.get("behavior")
        if behavior not in PAUSE_BEHAVIORS:
            raise TaskFailure(f"property 'behavior': '{behavior}' is not one of {', '.join(PAUSE_BEHAVIORS)}")
        if duration is None and timeout is None:
            ctx.log("INFO", "paused: call resume() on the execution (or %flow resume) to continue")
        tasks = ctx.task.children.get("tasks") or []
        spec = PauseSpec(duration=duration.total_seconds() if duration is not None else None, behavior=behavior,
                         timeout=timeout.total_seconds() if timeout is not None else None,
                         on_resume=ctx.task.props.get("onResume") or (),
                         on_pause=ctx.task.children.get("onPause") or ())
        return Plan([Group(tasks)] if tasks else [], pause=spec)

    def implicit_tasks(self, raw) -> dict[str, list[dict[str, Any]]]:
        return {"onPause": [raw["onPause"]]} if isinstance(raw.get("onPause"), dict) else {}

    def check(self, task) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if any(child.plugin.flowable for child in task.children.get("onPause", [])):
            problems.append((("onPause",), "onPause must be a runnable task"))
        declarations = task.props.get("onResume")
        if not isinstance(declarations, list):
            return problems
        for rel, message in check_declarations(declarations):
            where: tuple[str | int, ...] = ("onResume",) + tuple(
                int(index) if index else key for index, key in re.findall(r"\[(\d+)\]|\.?([^.\[\]]+)", rel))
            problems.append((where, message))
        return problems


class Subflow(TaskPlugin):
    """Run another registered flow as a child execution and expose its flow outputs."""

    type = "io.kestra.plugin.core.flow.Subflow"
    outputs = {
        "executionId": "Id of the child execution.",
        "state": "Final state of the child (with wait).",
        "outputs": "The flow outputs of the child (with wait), else its deprecated `outputs` property rendered "
                   "against the child.",
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
        "outputs": Prop("map", dynamic=False,
                        description="Deprecated (Kestra 0.15): name -> expression rendered against the child "
                                    "execution once it ends (with wait), used when the child flow declares no "
                                    "outputs of its own."),
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
        extract, declared = ctx.task.props.get("outputs"), child.flow.outputs
        ended_badly = child.state not in ("SUCCESS", "WARNING")  # its own flow outputs were not rendered
        if (extract and not declared) or (declared and ended_badly):
            # Kestra renders the child's flow outputs (else the deprecated `outputs`) whatever its state
            variables = _child_variables(ctx, child)
            try:
                if declared:
                    outputs["outputs"] = {
                        output["id"]: coerce_input(output, expressions.render_value(output.get("value"), variables,
                                                                                    typed=True))
                        for output in declared}
                else:
                    outputs["outputs"] = expressions.render_value(extract, variables, typed=True)
            except (UserError, ValueError) as exc:
                ctx.log("WARN", f"Failed to extract outputs with the error: '{exc}'")
                del outputs["outputs"]
                raise TaskFailure(f"Failed to extract outputs with the error: '{exc}'", outputs) from None
        if child.state in ("FAILED", "KILLED") and ctx.get("transmitFailed"):
            raise TaskFailure(f"subflow {namespace}.{flow_id} execution {child.id} ended {child.state}", outputs)
        ctx.warning = child.state == "WARNING"
        return outputs


def _child_variables(ctx: TaskContext, child: Any) -> dict[str, Any]:
    """The variables a child execution's expressions saw (what the deprecated ``outputs`` read)."""
    variables = {
        "flow": {"id": child.flow_id, "namespace": child.namespace, "revision": child.revision},
        "execution": {"id": child.id, "startDate": child.start_date, "originalId": child.original_id,
                      "state": child.state},
        "inputs": child.inputs, "vars": child.vars, "outputs": child.outputs, "tasks": child.task_states,
        "labels": child.labels,
    }
    for shared in ("envs", "_runtime"):  # KV, secrets and envs as the parent reaches them
        if shared in ctx.variables:
            variables[shared] = ctx.variables[shared]
    return variables


def _labels(raw: Any) -> dict[str, str]:
    if isinstance(raw, list):
        raw = {item["key"]: item["value"] for item in raw}
    return {str(k): expressions.to_text(v) for k, v in (raw or {}).items()}
