"""Save-time checks of a flow's raw ``inputs:`` list, as Kestra's model validation does.

Every function returns ``(relative path, message)`` pairs such as ``("[2].itemType", ...)``;
the flow validator prefixes them with ``inputs``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

from nb_orchestra.expressions import patterns
from nb_orchestra.inputs.coercion import INPUT_TYPES, input_id, parse_value

Problems = list[tuple[str, str]]

_ID = re.compile(r"[a-zA-Z0-9][.a-zA-Z0-9_-]*")
_MAX_DISPLAY_NAME = 64
_COMMON = ("id", "name", "type", "description", "displayName", "required", "defaults", "prefill", "dependsOn")
_CHOICES = ("values", "expression", "allowCustomValue", "autoSelectFirst")
_EXTRA: dict[str, tuple[str, ...]] = {
    "STRING": ("validator",),
    "SECRET": ("validator",),
    "INT": ("min", "max"),
    "FLOAT": ("min", "max"),
    "DURATION": ("min", "max"),
    "DATETIME": ("after", "before"),
    "DATE": ("after", "before"),
    "TIME": ("after", "before"),
    "SELECT": _CHOICES + ("allowInput", "isRadio"),
    "MULTISELECT": _CHOICES + ("options", "itemType"),
    "ENUM": ("values",),
    "ARRAY": ("itemType",),
    "FILE": ("extension", "allowedFileExtensions"),
}
_YAML_BOOLEAN = "value became a boolean (YAML 1.1 reads yes/no/on/off as booleans); quote it"
_YAML_SEXAGESIMAL = "value became a number (YAML 1.1 reads an unquoted 10:15:30 in base 60); quote it"
_TEXT_CHOICE_TYPES = ("STRING", "SELECT", "MULTISELECT", "ENUM")


def is_known_type(value: Any) -> TypeGuard[str]:
    """True for one of :data:`INPUT_TYPES` (and safe for unhashable YAML values)."""
    return isinstance(value, str) and value in INPUT_TYPES


def unknown_type_message(value: Any) -> str:
    """``Unknown input type 'STRNG'; did you mean STRING?``"""
    guess = difflib.get_close_matches(str(value).upper(), sorted(INPUT_TYPES), n=1)
    hint = f"did you mean {guess[0]}?" if guess else "known types: " + ", ".join(sorted(INPUT_TYPES))
    return f"Unknown input type '{value}'; {hint}"


# --- property value checks: (input type, value) -> message or None ---------------------

def _boolean(_type: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got `{value}`"


def _string(_type: str, value: Any) -> str | None:
    return None if isinstance(value, str) else f"must be a string, got `{value}`"


def _display_name(type_name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return _string(type_name, value)
    if len(value) > _MAX_DISPLAY_NAME:
        return f"size must be between 0 and {_MAX_DISPLAY_NAME} (it has {len(value)} characters)"
    return None


def _regex(type_name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return _string(type_name, value)
    try:
        patterns.compile_pattern(value)
    except patterns.PatternError as exc:
        return str(exc)
    return None


def _string_list(_type: str, value: Any) -> str | None:
    scalars = isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)
    return None if scalars else f"must be a list of strings, got `{value}`"


def _typed_bound(type_name: str, value: Any) -> str | None:
    """``min``/``max``/``after``/``before``: a value of the input's own type."""
    try:
        parse_value(type_name, value)
    except ValueError as exc:
        return f"must be a valid {type_name} value: {exc}"
    return None


def _item_type(_type: str, value: Any) -> str | None:
    if value in ("ARRAY", "MULTISELECT"):
        return f"`itemType` cannot be `{value}`"
    return None if is_known_type(value) else unknown_type_message(value)


def _depends_on(_type: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"must be a map with `inputs` and `condition`, got `{value}`"
    unknown = sorted(set(value) - {"inputs", "condition"}, key=str)
    if unknown:
        return _unknown_property(str(unknown[0]), "dependsOn", ("inputs", "condition"))
    inputs = value.get("inputs", [])
    if not (isinstance(inputs, list) and all(isinstance(i, str) for i in inputs)):
        return f"`inputs` must be a list of input ids, got `{inputs}`"
    if not isinstance(value.get("condition", ""), str):
        return "`condition` must be a string expression"
    return None


_PROPERTY_CHECKS: dict[str, Callable[[str, Any], str | None]] = {
    **dict.fromkeys(("required", "allowCustomValue", "allowInput", "isRadio", "autoSelectFirst"), _boolean),
    **dict.fromkeys(("description", "expression", "extension"), _string),
    **dict.fromkeys(("values", "options", "allowedFileExtensions"), _string_list),
    **dict.fromkeys(("min", "max", "after", "before"), _typed_bound),
    "displayName": _display_name,
    "validator": _regex,
    "itemType": _item_type,
    "dependsOn": _depends_on,
}


def _unknown_property(key: str, owner: str, allowed: tuple[str, ...]) -> str:
    guess = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {guess[0]}?" if guess else ""
    return f"Unknown property '{key}' for {owner}{hint}"


# --- one entry ----------------------------------------------------------------------------

def _check_entry(at: str, declaration: Any) -> Problems:
    if not isinstance(declaration, dict):
        return [(at, f"an input must be a map with `id` and `type`, got `{declaration}`")]
    problems = _check_id(at, declaration) + _check_type(at, declaration)
    type_name = declaration.get("type")
    if is_known_type(type_name):
        problems += _check_properties(at, declaration, type_name)
        problems += _check_requirements(at, declaration, type_name)
    return problems


def _check_id(at: str, declaration: dict) -> Problems:
    key = "id" if "id" in declaration else "name"
    if key not in declaration:
        return [(at, "`id` is required")]
    ident = declaration[key]
    if isinstance(ident, str) and _ID.fullmatch(ident):
        return []
    return [(f"{at}.{key}", f"must match \"^{_ID.pattern}$\", got '{ident}'")]


def _check_type(at: str, declaration: dict) -> Problems:
    if "type" not in declaration:
        return [(at, "`type` is required")]
    if is_known_type(declaration["type"]):
        return []
    return [(f"{at}.type", unknown_type_message(declaration["type"]))]


def _check_properties(at: str, declaration: dict, type_name: str) -> Problems:
    allowed = _COMMON + _EXTRA.get(type_name, ())
    problems: Problems = []
    for key, value in declaration.items():
        if key not in allowed:
            problems.append((f"{at}.{key}", _unknown_property(str(key), f"a {type_name} input", allowed)))
        elif key in _PROPERTY_CHECKS and (message := _PROPERTY_CHECKS[key](type_name, value)):
            problems.append((f"{at}.{key}", message))
    return problems


def _check_requirements(at: str, declaration: dict, type_name: str) -> Problems:
    has = declaration.keys()
    if type_name == "ENUM" and "values" not in has:
        return [(at, "an ENUM input needs `values`")]
    if type_name in ("SELECT", "MULTISELECT") and not has & {"values", "options", "expression"}:
        return [(at, f"a {type_name} input needs `values` or `expression`")]
    if type_name == "MULTISELECT" and {"values", "options"} <= has:
        return [(at, "you can't define both `values` and `options`")]
    if type_name == "ARRAY" and "itemType" not in has:
        return [(at, "an ARRAY input needs `itemType`")]
    return []


# --- across entries -----------------------------------------------------------------------

def _check_duplicates(entries: list[tuple[int, dict]]) -> Problems:
    ids = [input_id(d) for _, d in entries]
    duplicates = [i for i in dict.fromkeys(ids) if i and ids.count(i) > 1]
    if not duplicates:
        return []
    second = next(index for n, (index, _) in enumerate(entries) if ids[n] in ids[:n])
    return [(f"[{second}].id", f"Duplicate input with name [{', '.join(duplicates)}]")]


def _dependencies(declaration: dict) -> list[str]:
    depends_on = declaration.get("dependsOn")
    inputs = depends_on.get("inputs") if isinstance(depends_on, dict) else None
    return [i for i in inputs if isinstance(i, str)] if isinstance(inputs, list) else []


def _find_cycle(node: str, graph: dict[str, list[str]], path: list[str], done: set[str]) -> list[str] | None:
    """The cycle reachable from ``node``, as Kestra prints it: ``[x, y]`` for x -> y -> x."""
    if node in path:
        return path[path.index(node):]
    if node in done:
        return None
    path.append(node)
    for dependency in graph.get(node, ()):
        if cycle := _find_cycle(dependency, graph, path, done):
            return cycle
    path.pop()
    done.add(node)
    return None


def _check_dependencies(entries: list[tuple[int, dict]]) -> Problems:
    graph: dict[str, list[str]] = {}
    for _, declaration in entries:
        graph.setdefault(input_id(declaration), _dependencies(declaration))
    problems: Problems = []
    for index, declaration in entries:
        ident = input_id(declaration)
        for n, dependency in enumerate(_dependencies(declaration)):
            if dependency not in graph:
                problems.append((f"[{index}].dependsOn.inputs[{n}]",
                                 f"Input with id '{ident}' depends on a non-existent input '{dependency}'."))
        if cycle := _find_cycle(ident, graph, [], set()):
            problems.append((f"[{index}].dependsOn.inputs",
                             f"Cycle dependency detected for input with id '{ident}': [{', '.join(cycle)}]"))
    return problems


# --- public API -----------------------------------------------------------------------------

def check_declarations(inputs: list) -> Problems:
    """Every error in the raw ``inputs:`` list (see :func:`declaration_warnings` for warnings)."""
    if not isinstance(inputs, list):
        return [("", f"`inputs` must be a list of input maps, got `{inputs}`")]
    problems: Problems = []
    for index, declaration in enumerate(inputs):
        problems += _check_entry(f"[{index}]", declaration)
    entries = [(index, d) for index, d in enumerate(inputs) if isinstance(d, dict)]
    return problems + _check_duplicates(entries) + _check_dependencies(entries)


def _literal_values(declaration: dict) -> Iterator[tuple[str, Any]]:
    """(path, value) of each literal the declaration holds, list items one by one."""
    for key in ("defaults", "prefill", "values", "options", "after", "before"):
        value = declaration.get(key)
        if isinstance(value, list):
            yield from ((f"{key}[{n}]", item) for n, item in enumerate(value))
        elif key in declaration:
            yield key, value


def _yaml_surprise(type_name: Any, value: Any) -> str | None:
    """What PyYAML's YAML 1.1 reading did to a value that was meant as text, if anything."""
    if type_name in _TEXT_CHOICE_TYPES and isinstance(value, bool):
        return _YAML_BOOLEAN
    if type_name == "TIME" and isinstance(value, int) and not isinstance(value, bool):
        return _YAML_SEXAGESIMAL
    return None


def declaration_warnings(inputs: list) -> Problems:
    """Unquoted yes/no/on/off (and 10:15:30) that PyYAML turned into booleans (numbers)."""
    if not isinstance(inputs, list):
        return []
    warnings: Problems = []
    for index, declaration in enumerate(inputs):
        if not isinstance(declaration, dict):
            continue
        for path, value in _literal_values(declaration):
            if message := _yaml_surprise(declaration.get("type"), value):
                warnings.append((f"[{index}].{path}", message))
    return warnings
