"""Kestra's input resolution at execution creation (``FlowInputOutput.resolveInputs``).

Declaration order; value = supplied else ``defaults``; ``dependsOn`` inputs are resolved
first and can disable an input; SELECT/MULTISELECT ``expression`` and ``{{ }}`` defaults
are rendered; then the value is coerced and validated. Every problem is collected and
raised once as :class:`~nb_orchestra.errors.InputError`, worded for people with Kestra's
wording beside it (:class:`~nb_orchestra.errors.InputProblem`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nb_orchestra.errors import InputError, InputProblem, UserError
from nb_orchestra.inputs.coercion import InvalidValue, coerce_input, input_id, is_required, java_text
from nb_orchestra.secrets import SecretValues, mask

Render = Callable[[str, dict], Any]

_OK, _DISABLED, _FAILED, _RESOLVING = "ok", "disabled", "failed", "resolving"


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Expand dotted ids into nested dicts: ``{"a.b": 1}`` -> ``{"a": {"b": 1}}``."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    return tree


def _is_true(rendered: Any) -> bool:
    """A condition is on only when it renders to boolean true (or the text ``true``)."""
    return rendered is True or (isinstance(rendered, str) and rendered.strip().lower() == "true")


def _as_value_list(rendered: Any) -> list[str] | None:
    """An ``expression`` result as a list of strings; a JSON-array text counts as a list."""
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError:
            return None
    if not isinstance(rendered, list):
        return None
    return [java_text(item) for item in rendered if item is not None]


class _Resolver:
    """Resolves each declared input once, dependencies first."""

    def __init__(self, declarations: list[dict], supplied: Mapping[str, Any], render: Render | None):
        self.declarations: dict[str, dict] = {}
        for declaration in declarations:
            self.declarations.setdefault(input_id(declaration), declaration)
        self.supplied = supplied
        self.render = render
        self.values: dict[str, Any] = {}
        self.states: dict[str, str] = {}
        self.problems: list[InputProblem] = []

    def resolve(self, ident: str) -> bool:
        """Resolve ``ident`` (once); True when it is enabled and valid."""
        if ident not in self.states:
            self.states[ident] = _RESOLVING  # a dependency cycle reads as "not enabled"
            self.states[ident] = self._resolve(ident, self.declarations[ident])
        return self.states[ident] == _OK

    def _resolve(self, ident: str, declaration: dict) -> str:
        if not self._enabled(ident, declaration):
            return _DISABLED
        try:
            declaration = self._with_rendered_values(declaration)
            value = self._raw_value(ident, declaration)
            if value is None and is_required(declaration):
                raise InvalidValue("Required.", f"Invalid input for `{ident}`, missing required input, "
                                                "but received `null`")
            self.values[ident] = None if value is None else coerce_input(declaration, value)
        except InvalidValue as problem:
            message, kestra = str(problem), problem.kestra
            if declaration.get("type") == "SECRET":  # the messages must not show what was typed
                typed = SecretValues([str(self.supplied.get(ident) or "")])
                message, kestra = mask(message, typed), mask(kestra, typed)
            self.problems.append(InputProblem(ident, message, kestra))
            return _FAILED
        return _OK

    def _context(self) -> dict:
        return {"inputs": nest(self.values)}

    def _enabled(self, ident: str, declaration: dict) -> bool:
        """Dependencies enabled and valid, and ``condition`` (if rendered) true.

        Unknown dependency ids are ignored, as Kestra does; a condition that fails to
        render disables the input silently, as in Kestra.
        """
        depends_on = declaration.get("dependsOn") or {}
        dependencies = [d for d in depends_on.get("inputs") or [] if d != ident and d in self.declarations]
        if not all(self.resolve(dependency) for dependency in dependencies):
            return False
        condition = depends_on.get("condition")
        if condition is None or self.render is None:
            return True
        try:
            return _is_true(self.render(condition, self._context()))
        except Exception:  # noqa: BLE001 -- any template failure means "not enabled"
            return False

    def _with_rendered_values(self, declaration: dict) -> dict:
        """SELECT/MULTISELECT ``expression`` rendered into ``values``."""
        expression = declaration.get("expression")
        render = self.render
        if expression is None or render is None or declaration.get("type") not in ("SELECT", "MULTISELECT"):
            return declaration
        ident = input_id(declaration)
        rendered = self._render(render, ident, "expression", expression)
        values = _as_value_list(rendered)
        if values is None:
            raise InvalidValue(f"Its `expression` must give a list of strings, not {type(rendered).__name__}.",
                               f"Invalid input for `{ident}`, Invalid expression result. "
                               f"Expected a list of strings, but received {type(rendered).__name__}")
        return {**declaration, "values": values}

    def _raw_value(self, ident: str, declaration: dict) -> Any:
        """The supplied value, else ``defaults`` (rendered when it holds ``{{``)."""
        value = self.supplied.get(ident)
        if value is not None:
            return value
        default = declaration.get("defaults")
        if isinstance(default, str) and "{{" in default and self.render is not None:
            return self._render(self.render, ident, "defaults", default)
        return default

    def _render(self, render: Render, ident: str, what: str, template: str) -> Any:
        try:
            return render(template, self._context())
        except Exception as exc:  # noqa: BLE001 -- reported as this input's problem
            raise InvalidValue(f"Cannot render its `{what}`: {str(exc).rstrip('.')}.",
                               f"Invalid input for `{ident}`, Cannot render '{what}'. Cause: {exc}, "
                               f"but received `{template}`") from None


def resolve_inputs(
    declarations: list[dict],
    supplied: Mapping[str, Any] | None,
    render: Render | None = None,
) -> dict[str, Any]:
    """Typed ``inputs`` for an execution; raises InputError listing every problem.

    ``render(template, {"inputs": resolved-so-far})`` renders ``dependsOn.condition``,
    SELECT/MULTISELECT ``expression`` and ``{{ }}`` defaults; without it they are not
    rendered (conditions count as true). Undeclared supplied keys are ignored, as in Kestra
    (front ends where a person types the names check them first with :func:`check_names`).
    """
    resolver = _Resolver(declarations, supplied or {}, render)
    for ident in resolver.declarations:
        resolver.resolve(ident)
    if resolver.problems:
        raise InputError(resolver.problems)
    return nest(resolver.values)


def missing_inputs(declarations: Iterable[dict], supplied: Mapping[str, Any]) -> list[str]:
    """Ids of the required inputs that would have no value: none supplied, no ``defaults``, and no
    ``dependsOn`` (such an input may be disabled, so it is left to resolution)."""
    return [input_id(declaration) for declaration in declarations
            if is_required(declaration) and declaration.get("defaults") is None and not declaration.get("dependsOn")
            and input_id(declaration) not in supplied]


def check_names(declarations: Iterable[dict], supplied: Iterable[str]) -> None:
    """InputError for each supplied name the flow does not declare (a typo that would otherwise be
    ignored), with the closest declared id: ``agee: Not an input of this flow; did you mean `age`?``"""
    import difflib  # imported here: only front ends where names are typed check them

    declared = [input_id(declaration) for declaration in declarations]
    problems = []
    for name in supplied:
        if name in declared:
            continue
        guess = difflib.get_close_matches(name, declared, n=1)
        if guess:
            hint = f"; did you mean `{guess[0]}`?"
        else:
            hint = f" (its inputs: {', '.join(declared)})." if declared else " (it has no inputs)."
        problems.append(InputProblem(name, f"Not an input of this flow{hint}"))
    if problems:
        raise InputError(problems)


def parse_assignments(pairs: Iterable[str], option: str = "-i/--input") -> dict[str, str]:
    """``["user=Ann", "n=3"]`` from a command line -> ``{"user": "Ann", "n": "3"}``."""
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} takes KEY=VALUE, got '{pair}'")
        values[key.strip()] = value
    return values
