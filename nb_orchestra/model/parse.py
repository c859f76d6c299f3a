"""Flow text -> validated Flow, reporting every problem at once with its location."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import inputs as input_types
from ..durations import parse_duration
from ..errors import FlowValidationError, Problem, did_you_mean
from ..plugins import find_plugin, refusal, suggest_types
from ..plugins.base import Prop
from .defaults import apply_plugin_defaults
from .flow import Flow, RetryPolicy, Task
from .references import reference_warnings
from .yaml_source import Document, Path, format_path, load_document

if TYPE_CHECKING:
    from .triggers import Trigger

FLOW_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*\Z")
NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
TASK_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*\Z")
OUTPUT_ID = re.compile(r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*\Z")
# `outputs.my-task.value` is a subtraction in every template language.
HYPHENATED_OUTPUT = re.compile(r"\b(outputs|tasks)\.([A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)+)")

FLOW_PROPS: dict[str, Prop] = {
    "id": Prop("string", required=True), "namespace": Prop("string", required=True),
    "tasks": Prop("tasks", required=True), "revision": Prop("int"), "description": Prop("string"),
    "labels": Prop("any"), "inputs": Prop("list"), "variables": Prop("map"), "errors": Prop("tasks"),
    "finally": Prop("tasks"), "afterExecution": Prop("tasks"), "triggers": Prop("list"),
    "pluginDefaults": Prop("any"), "taskDefaults": Prop("any"), "retry": Prop("map"),
    "concurrency": Prop("map"), "outputs": Prop("list"), "disabled": Prop("bool"),
    "sla": Prop("list"), "checks": Prop("list"), "listeners": Prop("list"),
}
TRIGGER_TYPES = frozenset({
    f"io.kestra.plugin.core.trigger.{name}" for name in ("Schedule", "Flow", "Webhook", "ScheduleOnDates")
} | {f"io.kestra.core.models.triggers.types.{name}" for name in ("Schedule", "Flow", "Webhook")}
  | {"io.kestra.plugin.core.http.Trigger", "io.kestra.plugin.fs.http.Trigger"})
RETRY_TYPES = ("constant", "exponential", "random")
SUBFLOW_TYPES = frozenset({"io.kestra.plugin.core.flow.Subflow", "io.kestra.core.tasks.flows.Subflow",
                           "io.kestra.plugin.core.flow.Flow", "io.kestra.core.tasks.flows.Flow"})


def parse_flow(text: str, name: str | None = None) -> Flow:
    """Parse and validate a flow document; raises FlowValidationError listing every problem."""
    doc = load_document(text, name=name)
    return _Builder(doc, name).build()


def parse_task(text: str, task_id: str) -> Task:
    """Parse and validate one task's YAML map (a TemplatedTask's ``spec``), as a flow's tasks are;
    ``task_id`` when the map has no ``id``. Raises FlowValidationError listing every problem."""
    doc = load_document(text)
    builder = _Builder(doc, None)
    if not isinstance(doc.data, dict):
        builder.problem((), "a task must be a YAML map with at least a type")
        builder.fail()
    task = builder.task({"id": task_id, **doc.data}, ())
    if task is None or builder.problems:
        raise FlowValidationError(builder.problems, source=text)
    return task


def declared_properties(type_name: str) -> frozenset[str] | None:
    """The properties a task type declares (common ones included), or None for a type with no plugin."""
    plugin_cls = find_plugin(type_name)
    return None if plugin_cls is None else frozenset(plugin_cls.all_properties())


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


_SCALARS = (str, int, float, bool)
# kind -> (accepts a static value?, what to call it in a message)
_KIND_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "string": (lambda v: isinstance(v, _SCALARS), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "map": (lambda v: isinstance(v, dict), "a map"),
    "tasks": (lambda v: isinstance(v, list), "a list of tasks"),
    "task_map": (lambda v: isinstance(v, dict) and all(isinstance(x, list) for x in v.values()),
                 "a map of task lists"),
    "task_entries": (lambda v: isinstance(v, list), "a list of entries, each with a task under 'task'"),
    "string_or_list": (lambda v: isinstance(v, _SCALARS) or isinstance(v, list), "a string or a list of strings"),
    "list_or_string": (lambda v: isinstance(v, (list, str)), "a list (or an expression giving one)"),
    "map_or_string": (lambda v: isinstance(v, (dict, str)), "a map (or an expression giving one)"),
    "any": (lambda v: True, "anything"),
}


class _Builder:
    def __init__(self, doc: Document, name: str | None):
        self.doc = doc
        self.name = name
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.task_ids: dict[str, Path] = {}
        self.unbuilt = 0  # tasks that could not be built (each reported once, where it is)

    def problem(self, path: Path, message: str, warning: bool = False, related_line: int = 0) -> None:
        line, column = self.doc.locate(path)
        (self.warnings if warning else self.problems).append(
            Problem(format_path(path), message, line, column, related_line))

    def build(self) -> Flow:
        data = self.doc.data
        if not isinstance(data, dict):
            self.problem((), "a flow must be a YAML map with id, namespace and tasks")
            self.fail()
        self.check_props(data, FLOW_PROPS, (), "flow")
        self.check_format(data, "id", FLOW_ID, "letters, digits, '.', '_' and '-', starting with a letter or digit")
        self.check_format(data, "namespace", NAMESPACE, "lower-case letters, digits, '.', '_' and '-'")
        defaults = self.plugin_defaults(data)
        apply_plugin_defaults(data, defaults, declared_properties)
        flow = Flow(
            id=str(data.get("id", "")), namespace=str(data.get("namespace", "")),
            tasks=self.task_list(data.get("tasks"), ("tasks",), required=True),
            source=self.doc.text,
            revision=data.get("revision") or 1,
            description=data.get("description"),
            labels=self.labels(data.get("labels"), ("labels",)),
            inputs=self.inputs(data.get("inputs")),
            variables=data.get("variables") or {},
            errors=self.task_list(data.get("errors"), ("errors",)),
            finally_=self.task_list(data.get("finally"), ("finally",)),
            after_execution=self.task_list(data.get("afterExecution"), ("afterExecution",)),
            triggers=self.triggers(data.get("triggers")),
            outputs=self.flow_outputs(data.get("outputs")),
            concurrency=self.concurrency(data.get("concurrency")),
            retry=self.retry(data.get("retry"), ("retry",)),
            disabled=bool(data.get("disabled", False)),
        )
        self.listeners(data.get("listeners"))
        self.check_expressions()
        for task in flow.all_tasks():
            if task.plugin.notebook_only:
                self.problem(task.path + ("type",), f"'{task.type}' is notebook-only: it runs in nb_orchestra, "
                             "not on a Kestra server", warning=True)
            if task.type in SUBFLOW_TYPES and (task.props.get("namespace"), task.props.get("flowId")) == flow.key:
                self.problem(task.path, f"Recursive call to flow [{flow.namespace}.{flow.id}]")
        if self.problems:
            self.fail()
        flow.warnings = self.warnings + reference_warnings(self.doc, flow, self.task_ids)
        return flow

    def fail(self) -> None:
        raise FlowValidationError(self.problems, source=self.doc.text, name=self.name)

    # -- generic property checks ------------------------------------------------

    def check_props(self, raw: dict[str, Any], props: dict[str, Prop], path: Path, what: str) -> None:
        for key, value in raw.items():
            prop = props.get(key)
            if prop is None:
                self.problem(path + (key,), f"unknown property '{key}' for {what}{did_you_mean(key, props)}")
            else:
                self.check_value(value, prop, path + (key,))
        for key, prop in props.items():
            if prop.required and raw.get(key) is None:
                self.problem(path, f"missing required property '{key}' for {what}")

    def check_value(self, value: Any, prop: Prop, path: Path) -> None:
        if value is None or (prop.dynamic and _is_expression(value)):
            return
        if prop.kind == "duration":
            try:
                parse_duration(value)
            except ValueError as exc:
                self.problem(path, str(exc))
        elif prop.kind == "enum":
            if str(value) not in prop.choices:
                self.problem(
                    path, f"'{value}' is not one of {', '.join(prop.choices)}{did_you_mean(value, prop.choices)}"
                )
        else:
            accepts, expected = _KIND_CHECKS[prop.kind]
            if not accepts(value):
                self.problem(path, f"expected {expected}, got {type(value).__name__} {value!r}"[:160])

    def check_format(self, raw: dict[str, Any], key: str, pattern: re.Pattern, rule: str) -> None:
        value = raw.get(key)
        if isinstance(value, str) and not pattern.match(value):
            self.problem((key,), f"'{value}' is not a valid {key}: use {rule}")

    # -- tasks ---------------------------------------------------------------------

    def task_list(self, raw: Any, path: Path, required: bool = False) -> list[Task]:
        if raw is None:
            return []
        if not isinstance(raw, list) or (required and not raw):
            if raw == [] and required:
                self.problem(path, f"'{path[-1]}' must hold at least one task")
            return []
        tasks = [self.task(item, path + (i,)) for i, item in enumerate(raw)]
        self.unbuilt += tasks.count(None)
        return [t for t in tasks if t is not None and not t.disabled]

    def task(self, raw: Any, path: Path) -> Task | None:
        if not isinstance(raw, dict):
            self.problem(path, "a task must be a map with at least id and type")
            return None
        task_id, type_name = raw.get("id"), raw.get("type")
        self.task_id(task_id, path)
        if not isinstance(type_name, str):
            self.problem(path, "missing required property 'type' for a task")
            return None
        plugin_cls = find_plugin(type_name)
        if plugin_cls is None and refusal(type_name) is not None:
            self.problem(path + ("type",), str(refusal(type_name)))
            return None
        if plugin_cls is None:
            hints = suggest_types(type_name)
            hint = f"; did you mean {' or '.join(hints)}?" if hints else ""
            self.problem(path + ("type",), f"unknown task type '{type_name}'{hint}")
            return None
        props = plugin_cls.all_properties()
        if "assets" in raw:  # Kestra's data lineage (Enterprise): accepted, never acted upon
            if not isinstance(raw["assets"], dict):
                self.problem(path + ("assets",), "expected a map with inputs and outputs")
            self.problem(path + ("assets",), "assets (data lineage) are an Enterprise feature: accepted and ignored",
                         warning=True)
            raw = {k: v for k, v in raw.items() if k != "assets"}
        before = len(self.problems)
        self.check_props(raw, props, path, f"{plugin_cls.type.rsplit('.', 1)[-1]} task '{task_id}'")
        if raw.get("workerGroup") is not None:  # Kestra's open-source edition refuses it too
            self.problem(path + ("workerGroup",), "Worker Group is an Enterprise Edition functionality")
        if isinstance(raw.get("taskCache"), dict):
            self.check_props(raw["taskCache"], {"enabled": Prop("bool", required=True, dynamic=False),
                                                "ttl": Prop("duration", dynamic=False)},
                             path + ("taskCache",), "taskCache")
        valid_props = len(self.problems) == before
        task = Task(
            id=str(task_id), type=type_name, plugin=_instance(plugin_cls), path=path,
            props={
                k: v for k, v in raw.items()
                if props.get(k) is not None and props[k].kind not in ("tasks", "task_map")
            },
            disabled=raw.get("disabled") is True,
            run_if=raw.get("runIf"),
            timeout=self.duration(raw.get("timeout")),
            retry=self.retry(raw.get("retry"), path + ("retry",)),
            allow_failure=raw.get("allowFailure") is True,
            allow_warning=raw.get("allowWarning") is True,
            log_level=raw.get("logLevel"),
        )
        unbuilt = self.unbuilt
        for key, prop in props.items():
            if prop.kind == "tasks" and key in raw:
                task.children[key] = self.task_list(raw[key], path + (key,))
            elif prop.kind == "task_entries" and isinstance(raw.get(key), list):
                task.children[key], task.props[key] = self.task_entries(raw[key], path + (key,), plugin_cls)
            elif prop.kind == "task_map" and isinstance(raw.get(key), dict):
                task.child_maps[key] = {
                    str(case): self.task_list(tasks, path + (key, case)) for case, tasks in raw[key].items()
                }
        if valid_props:  # tasks made from the task's own properties (ForEachItem's)
            for key, items in task.plugin.implicit_tasks(raw).items():
                task.children[key] = self.task_list(items, path + (key,))
        if self.unbuilt == unbuilt:  # a child already reported (unknown type...) would make "'then' is empty" here
            for where, message in task.plugin.check(task):
                self.problem(path + (where if isinstance(where, tuple) else (where,) if where else ()), message)
        return task

    def task_entries(self, raw: list[Any], path: Path, plugin_cls: Any) -> tuple[list[Task], list[dict[str, Any]]]:
        """A "task_entries" list: the tasks (disabled ones left out) and the entries, each with
        `task` replaced by its task's id."""
        props = {"task": Prop("map", required=True, dynamic=False), **plugin_cls.entry_properties}
        what = f"an entry of {plugin_cls.type.rsplit('.', 1)[-1]} '{path[-1]}'"
        tasks: list[Task] = []
        entries: list[dict[str, Any]] = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                self.problem(path + (i,), "an entry must be a map with a task under 'task'")
                self.unbuilt += 1
                continue
            self.check_props(entry, props, path + (i,), what)
            task = self.task(entry["task"], path + (i, "task")) if isinstance(entry.get("task"), dict) else None
            if task is None:
                self.unbuilt += 1
                continue
            entries.append({**entry, "task": task.id})
            if not task.disabled:
                tasks.append(task)
        return tasks, entries

    def task_id(self, task_id: Any, path: Path) -> None:
        if task_id is None:
            self.problem(path, "missing required property 'id' for a task")
            return
        task_id = str(task_id)
        if not TASK_ID.match(task_id):
            self.problem(
                path + ("id",), f"'{task_id}' is not a valid task id: use letters, digits, '_' and '-' (no dots)"
            )
        if task_id in self.task_ids:
            first_line = self.doc.locate(self.task_ids[task_id])[0]
            self.problem(path + ("id",), f"Duplicate task id with name [{task_id}] (first used at line {first_line})",
                         related_line=first_line)
        else:
            self.task_ids[task_id] = path

    @staticmethod
    def duration(value: Any):
        try:
            return parse_duration(value) if value is not None else None
        except ValueError:
            return None  # already reported by check_value

    # -- flow-level sections -----------------------------------------------------

    def retry(self, raw: Any, path: Path) -> RetryPolicy | None:
        if not isinstance(raw, dict):
            return None
        props = {
            "type": Prop("enum", required=True, choices=RETRY_TYPES, dynamic=False),
            "maxAttempts": Prop("int", dynamic=False), "maxAttempt": Prop("int", dynamic=False),
            "maxDuration": Prop("duration", dynamic=False), "interval": Prop("duration", dynamic=False),
            "maxInterval": Prop("duration", dynamic=False), "minInterval": Prop("duration", dynamic=False),
            "delayFactor": Prop("number", dynamic=False), "warningOnRetry": Prop("bool", dynamic=False),
            "behavior": Prop("enum", choices=("RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"), dynamic=False),
        }
        before = len(self.problems)
        self.check_props(raw, props, path, "retry")
        kind = raw.get("type")
        needed: tuple[str, ...] = ()
        if kind is not None:
            needed = {"constant": ("interval",), "exponential": ("interval", "maxInterval"),
                      "random": ("minInterval", "maxInterval")}.get(kind, ())
        for key in needed:
            if raw.get(key) is None:
                self.problem(path, f"missing required property '{key}' for a {kind} retry")
        if len(self.problems) > before or kind is None:  # a missing 'type' is always reported above
            return None
        policy = RetryPolicy(
            type=kind, max_attempts=raw.get("maxAttempts", raw.get("maxAttempt")),
            max_duration=self.duration(raw.get("maxDuration")), interval=self.duration(raw.get("interval")),
            max_interval=self.duration(raw.get("maxInterval")), min_interval=self.duration(raw.get("minInterval")),
            delay_factor=float(raw.get("delayFactor", 2.0)), warning_on_retry=raw.get("warningOnRetry") is True,
            behavior=raw.get("behavior", "RETRY_FAILED_TASK"),
        )
        if policy.interval and policy.max_duration and policy.interval >= policy.max_duration:
            self.problem(path + ("interval",), f"'interval' must be less than 'maxDuration' but is {raw['interval']}")
        if policy.max_interval and policy.interval and kind == "exponential" and policy.interval >= policy.max_interval:
            self.problem(path + ("interval",), f"'interval' must be less than 'maxInterval' but is {raw['interval']}")
        if (
            kind == "random" and policy.min_interval and policy.max_interval
            and policy.min_interval >= policy.max_interval
        ):
            self.problem(path + ("minInterval",), "'minInterval' must be less than 'maxInterval'")
        return policy

    def plugin_defaults(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        key = "pluginDefaults" if "pluginDefaults" in data else "taskDefaults"
        raw = data.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem((key,), f"{key} must be a list of entries with type, values and optional forced")
            return []
        valid = []
        for i, entry in enumerate(raw):
            path = (key, i)
            if not isinstance(entry, dict):
                self.problem(path, "a plugin default must be a map with type and values")
                continue
            self.check_props(entry, {"type": Prop("string", required=True), "values": Prop("map", required=True),
                                     "forced": Prop("bool")}, path, "a plugin default")
            if not isinstance(entry.get("type"), str) or not isinstance(entry.get("values"), dict):
                continue
            plugin_cls = find_plugin(entry["type"])
            if plugin_cls is not None:
                props = plugin_cls.all_properties()
                unknown = [name for name in entry["values"] if name not in props]
                for name in unknown:
                    self.problem(path + ("values", name),
                                 f"No property '{name}' exists in plugin '{entry['type']}'{did_you_mean(name, props)}")
                # reported once here, not again on every task it would reach
                entry = {**entry, "values": {k: v for k, v in entry["values"].items() if k not in unknown}}
            valid.append(entry)
        return valid

    def labels(self, raw: Any, path: Path) -> dict[str, str]:
        if raw is None:
            return {}
        if isinstance(raw, list):
            pairs = []
            for i, item in enumerate(raw):
                if isinstance(item, dict) and "key" in item and "value" in item:
                    pairs.append((item["key"], item["value"]))
                else:
                    self.problem(path + (i,), "a label in a list must be a map with key and value")
        elif isinstance(raw, dict):
            pairs = list(raw.items())
        else:
            self.problem(path, "labels must be a map or a list of {key, value}")
            return {}
        for key, _ in pairs:
            if str(key).startswith("system.") and key != "system.readOnly":
                self.problem(path, f"System labels can only be set by Kestra itself, offending label: {key}")
        return {str(k): _label_text(v) for k, v in pairs}

    def inputs(self, raw: Any) -> list[dict[str, Any]]:
        if not isinstance(raw, list):
            return []
        for rel, message in input_types.check_declarations(raw):
            self.problem(("inputs",) + _parse_rel_path(rel), message)
        for rel, message in input_types.declaration_warnings(raw):
            self.problem(("inputs",) + _parse_rel_path(rel), message, warning=True)
        return raw

    def triggers(self, raw: Any) -> list[Trigger]:
        if not isinstance(raw, list):
            return []
        from .triggers import parse_trigger  # imported only for flows that have triggers

        declared: list[Trigger] = []
        seen: set[Any] = set()  # raw ids, not yet validated (may be missing or non-strings)
        for i, trigger in enumerate(raw):
            path = ("triggers", i)
            if not isinstance(trigger, dict):
                self.problem(path, "a trigger must be a map with id and type")
                continue
            trigger_type = trigger.get("type")
            if trigger_type is not None and trigger_type not in TRIGGER_TYPES:
                self.problem(
                    path + ("type",),
                    f"unknown trigger type '{trigger_type}'{did_you_mean(trigger_type, TRIGGER_TYPES)}",
                )
            if trigger.get("id") in seen:
                self.problem(path + ("id",), f"Duplicate trigger id with name [{trigger['id']}]")
            seen.add(trigger.get("id"))
            declaration, problems = parse_trigger(trigger)
            for rel, message in problems:
                self.problem(path + _parse_rel_path(rel), message)
            if declaration is not None:
                declared.append(declaration)
        return declared

    def flow_outputs(self, raw: Any) -> list[dict[str, Any]]:
        if not isinstance(raw, list):
            return []
        props = {"id": Prop("string", required=True), "type": Prop("string", required=True),
                 "value": Prop("any", required=True), "description": Prop("string"),
                 "displayName": Prop("string"), "required": Prop("bool")}
        seen: set[str] = set()
        for i, output in enumerate(raw):
            path = ("outputs", i)
            if not isinstance(output, dict):
                self.problem(path, "a flow output must be a map with id, type and value")
                continue
            self.check_props(output, props, path, "a flow output")
            output_id = str(output.get("id", ""))
            if output_id and not OUTPUT_ID.match(output_id):
                self.problem(path + ("id",), f"'{output_id}' is not a valid output id")
            if output.get("type") is not None and output["type"] not in input_types.INPUT_TYPES:
                self.problem(
                    path + ("type",),
                    f"unknown output type '{output['type']}'"
                    f"{did_you_mean(output['type'], input_types.INPUT_TYPES)}",
                )
            if output_id in seen:
                self.problem(path + ("id",), f"Duplicate output with name [{output_id}]")
            seen.add(output_id)
        return raw

    def listeners(self, raw: Any) -> None:
        """Kestra's deprecated ``listeners``: checked as Kestra checks them (each with tasks), never run."""
        if not isinstance(raw, list):
            return
        props = {"tasks": Prop("tasks", required=True), "conditions": Prop("list"), "description": Prop("string")}
        for i, listener in enumerate(raw):
            path = ("listeners", i)
            if not isinstance(listener, dict):
                self.problem(path, "a listener must be a map with conditions and tasks")
                continue
            self.check_props(listener, props, path, "a listener")
            if listener.get("tasks") == []:
                self.problem(path + ("tasks",), "must not be empty")
            elif isinstance(listener.get("tasks"), list):
                self.task_list(listener["tasks"], path + ("tasks",))
        if raw:
            self.problem(("listeners",), "listeners are deprecated in Kestra (use afterExecution): they are "
                         "checked but never run here", warning=True)

    def concurrency(self, raw: Any) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            return None
        props = {"limit": Prop("int", required=True, dynamic=False),
                 "behavior": Prop("enum", choices=("QUEUE", "CANCEL", "FAIL"), dynamic=False)}
        self.check_props(raw, props, ("concurrency",), "concurrency")
        limit = raw.get("limit")
        if isinstance(limit, int) and limit < 1:
            self.problem(("concurrency", "limit"), "concurrency limit must be a positive integer")
        return {"limit": limit, "behavior": raw.get("behavior", "QUEUE")}

    def check_expressions(self) -> None:
        for number, line in enumerate(self.doc.text.splitlines(), start=1):
            if "-" not in line:
                continue
            for match in HYPHENATED_OUTPUT.finditer(line):
                root, task_id = match.groups()
                self.problems.append(Problem(
                    "", f"`{match.group(0)}` reads as a subtraction in an expression; "
                        f"write {root}['{task_id}'] instead", number, match.start() + 1))


_INSTANCES: dict[type, Any] = {}


def _instance(plugin_cls: type) -> Any:
    """Plugins keep no state: one instance per class serves every task."""
    instance = _INSTANCES.get(plugin_cls)
    if instance is None:
        instance = _INSTANCES[plugin_cls] = plugin_cls()
    return instance


def _label_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_rel_path(rel: str) -> Path:
    """``[2].itemType`` -> ``(2, "itemType")``."""
    parts: list[Any] = []
    for index, key in re.findall(r"\[(\d+)\]|\.?([^.\[\]]+)", rel):
        parts.append(int(index) if index else key)
    return tuple(parts)
