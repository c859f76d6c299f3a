"""Mistakes in a flow's expressions that its text already reveals, found at validation.

``{{ inputs.usr }}`` with ``user`` declared, ``{{ vars.x }}`` with no such variable,
``{{ outputs.lod.uri }}`` for a task ``load`` (or for a task that runs later in the same
sequence), ``| uper``, ``nwo()``, ``randomInt(1)``. Kestra saves such a flow and fails when the
expression is rendered, so these are warnings, each located at the expression in the flow's text
and with a did-you-mean (docs/expressions.md). What only the run can tell (a key computed from a
variable, a task inside a branch that may not run) is not flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Problem, did_you_mean
from ..inputs import input_id
from .flow import Flow, Task
from .yaml_source import Document, Path, format_path

if TYPE_CHECKING:
    from ..expressions.lint import Reference

_NOT_RENDERED = ("tasks", "task_map")  # child tasks: checked as tasks of their own
# A task list's siblings that run after it: a task's (or the flow's) `errors`, then `finally`...
_RUNS_LATER = {"errors": 1, "finally": 2, "afterExecution": 3}


def reference_warnings(doc: Document, flow: Flow, task_paths: Mapping[str, Path]) -> list[Problem]:
    """Warnings for the expressions of ``flow`` (parsed from ``doc``); ``task_paths`` gives where
    each task id is declared, disabled tasks and tasks of unknown types included."""
    return _Checker(doc, flow, task_paths).run()


class _Checker:
    def __init__(self, doc: Document, flow: Flow, task_paths: Mapping[str, Path]):
        self.doc = doc
        self.flow = flow
        self.task_paths = task_paths
        self.inputs = [input_id(i) for i in flow.inputs if isinstance(i, dict)]
        self.tasks_by_path = {task.path: task for task in flow.all_tasks()}
        self.problems: dict[tuple[int, int, str], Problem] = {}

    def run(self) -> list[Problem]:
        for task in self.tasks_by_path.values():
            for key, prop in task.plugin.all_properties().items():
                if prop.dynamic and prop.kind not in _NOT_RENDERED and key in task.props:
                    self.value(task.props[key], task.path + (key,), task)
        for i, output in enumerate(self.flow.outputs):
            if isinstance(output, dict):
                self.value(output.get("value"), ("outputs", i, "value"), None)
        for name, value in self.flow.variables.items():
            self.value(value, ("variables", name), None)
        return list(self.problems.values())

    def value(self, value: Any, path: Path, task: Task | None) -> None:
        """Every template in ``value`` (strings of maps and lists too) written in the flow's text."""
        if isinstance(value, str):
            if path in self.doc.spans:  # written here, not inherited from pluginDefaults
                self.template(value, path, task)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.value(item, path + (key,), task)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.value(item, path + (i,), task)

    def template(self, text: str, path: Path, task: Task | None) -> None:
        if "{" not in text:
            return  # no tag: nothing to read (and the linter, with every filter, is imported with the first tag)
        from ..expressions.lint import lint

        findings = lint(text)
        for reference in findings.references:
            message = self.reference(reference, task)
            if message:
                self.warn(path, reference.text, f"`{reference.text}`: {message}")
        for mistake in findings.mistakes:
            self.warn(path, mistake.text, f"`{mistake.text}`: {mistake.message}")

    def reference(self, reference: Reference, task: Task | None) -> str:
        """Why ``reference`` cannot be read when ``task`` runs, or nothing."""
        name = reference.name
        if reference.root == "inputs" and name not in self.inputs:
            return f"no input '{name}' is declared{did_you_mean(name, self.inputs)}"
        if reference.root == "vars" and name not in self.flow.variables:
            return f"no variable '{name}' is declared{did_you_mean(name, self.flow.variables)}"
        if reference.root == "outputs":
            other = self.task_paths.get(name)
            if other is None:
                return f"no task '{name}' in this flow{did_you_mean(name, self.task_paths)}"
            if task is not None and self.runs_later(task.path, other):
                return f"task '{name}' runs after this one, so its outputs do not exist yet"
        return ""

    def runs_later(self, reader: Path, other: Path) -> bool:
        """True when the task at ``other`` certainly runs after the one at ``reader``: later in the
        same list of tasks run in order, or in an ``errors``/``finally`` that comes after it."""
        common = 0
        while common < min(len(reader), len(other)) and reader[common] == other[common]:
            common += 1
        if common in (len(reader), len(other)):
            return False  # the same task, or one inside the other
        mine, theirs = reader[common], other[common]
        if isinstance(mine, int) and isinstance(theirs, int):
            owner = self.tasks_by_path.get(reader[:common - 1])
            in_order = owner is None or getattr(owner.plugin, "children_in_order", True)
            return in_order and theirs > mine
        if isinstance(mine, str) and isinstance(theirs, str):
            return _RUNS_LATER.get(theirs, 0) > _RUNS_LATER.get(mine, 0)
        return False

    def warn(self, path: Path, snippet: str, message: str) -> None:
        line, column = self.doc.find(path, snippet)
        self.problems.setdefault((line, column, message), Problem(format_path(path), message, line, column))
