"""Completion in a flow's text: what may be typed at the cursor.

Pure functions of the text and the cursor offset (the notebook hooks them into IPython's
completer, through the api). The text is usually half typed and not valid YAML, so it is read
line by line (:mod:`nb_orchestra.model.yaml_lines`), never parsed:

- after ``type:`` the task, trigger, input or retry types (current names first, aliases after);
- at a key's column in a task, the task type's properties (required first, those already there
  left out); at the top, the flow's own properties;
- inside ``{{ }}`` or ``{% %}``: the roots (``inputs``, ``outputs``...) and functions, then after
  ``inputs.``/``vars.``/``outputs.`` the flow's input ids, variable names and task ids, after
  ``outputs.<task>.`` the outputs that task's type declares, after ``|`` the filters and after
  ``is`` the tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import inputs as input_types
from ..expressions.lint import known_filters, known_functions
from ..expressions.operators import TESTS
from ..model.parse import FLOW_PROPS, RETRY_TYPES, TRIGGER_TYPES
from ..model.yaml_lines import Line, read_lines
from ..plugins import find_plugin, registry
from ..plugins.base import COMMON_PROPS, Prop, TaskPlugin


@dataclass(frozen=True)
class Candidate:
    """One completion: the text that replaces the fragment, and what it is (shown beside it)."""

    text: str
    kind: str = ""


@dataclass(frozen=True)
class Completions:
    """The candidates for the fragment ``text[start:cursor]``, in the order to show them."""

    start: int
    candidates: list[Candidate] = field(default_factory=list)


# Roots of an expression, in the order they are offered; functions follow (these three first).
ROOTS = ("inputs", "outputs", "vars", "taskrun", "item", "parent", "parents", "execution", "flow", "task",
         "trigger", "labels", "envs", "tasks")
_FIRST_FUNCTIONS = ("kv", "secret", "render")
# The keys of the roots whose shape is known (docs/expressions.md).
_FIELDS = {
    "taskrun": ("id", "startDate", "attemptsCount", "value", "iteration", "parentId"),
    "execution": ("id", "startDate", "originalId", "state"),
    "flow": ("id", "namespace", "revision"),
    "task": ("id", "type"),
    "parent": ("taskrun", "outputs"),
    "item": ("value", "index", "key", "parent", "parents"),  # inside a flow.Loop
}
_TAGS = ("if", "elseif", "else", "endif", "for", "endfor", "set", "filter", "endfilter", "macro", "endmacro",
         "raw", "endraw")
_TASK_LISTS = frozenset({"tasks", "then", "else", "errors", "finally", "afterExecution", "defaults"})
_INPUT_TYPE_ALIASES = ("BOOL", "ENUM")  # newer/older spellings: offered after the others

_FILTER = re.compile(r"\|\s*(\w*)$")
_TEST = re.compile(r"\bis\s+(?:not\s+)?(\w*)$")
_OUTPUT_FIELD = re.compile(r"(?<![\w.\])])outputs(?:\.(\w+)|\[\s*['\"]([\w-]+)['\"]\s*\])(?:\[[^\[\]]*\])*\.(\w*)$")
_BRACKET_KEY = re.compile(r"(?<![\w.\])])(inputs|outputs|vars)\[\s*['\"]([\w.-]*)$")
_DOT_KEY = re.compile(r"(?<![\w.\])])(\w+)\.(\w*)$")
_NAME = re.compile(r"(?<![\w.\])'\"])(\w*)$")
_TYPE_VALUE = re.compile(r"^(\s*(?:-\s+)?)type:\s*(\S*)$")
_KEY_TYPED = re.compile(r"^(\s*)(-\s+)?(\w*)$")


def complete_flow(text: str, cursor: int) -> Completions:
    """What may be typed at offset ``cursor`` of the flow ``text`` (no candidates: nothing known)."""
    before = text[:cursor]
    expression = _open_expression(before)
    outline = _Outline(read_lines(text))
    if expression is not None:
        return _complete_expression(expression, cursor, outline)
    line_start = before.rfind("\n") + 1
    number = before.count("\n") + 1
    typed = before[line_start:]
    match = _TYPE_VALUE.match(typed)
    if match:
        mapping = outline.mapping(number, len(match.group(1)))
        return Completions(cursor - len(match.group(2)), _types(mapping, match.group(2), outline))
    match = _KEY_TYPED.match(typed)
    if match and text[cursor:cursor + 1] in ("", "\n", " ", ":"):
        column = len(match.group(1)) + len(match.group(2) or "")
        mapping = outline.mapping(number, column)
        return Completions(cursor - len(match.group(3)), _properties(mapping, match.group(3), outline))
    return Completions(cursor)


# -- the lines around the cursor -------------------------------------------------------------------

@dataclass
class _Mapping:
    """The map a key at some column belongs to: its keys (the lines that hold them), the key above
    that holds the map (or its list), and whether the map is a list item."""

    keys: dict[str, Line]
    parent: Line | None
    item: bool
    top: bool

    def value(self, key: str) -> str:
        line = self.keys.get(key)
        return line.value.strip("'\"") if line is not None else ""


class _Outline:
    """The lines of the text, read for the map around a position, and for the flow's ids."""

    def __init__(self, lines: list[Line]):
        self.lines = lines

    def mapping(self, number: int, column: int) -> _Mapping:
        """The map holding a key at ``column`` on line ``number`` (1-based)."""
        current = self.lines[number - 1]
        keys: dict[str, Line] = {current.key: current} if current.key_column == column else {}
        item, parent = current.dash >= 0 and current.dash + 2 <= column, None
        if item:
            parent = self._list_holder(number, current.dash)
        else:
            for line in reversed(self.lines[:number - 1]):
                if line.blank:
                    continue
                if line.key_column == column:
                    keys.setdefault(line.key, line)
                    if line.dash >= 0:  # the first key of a list item
                        item, parent = True, self._list_holder(line.number, line.dash)
                        break
                elif line.indent < column:
                    parent = line if line.key_column >= 0 else None
                    break
        for line in self.lines[number:]:
            if line.blank:
                continue
            if line.indent < column or 0 <= line.dash < column:
                break
            if line.key_column == column and line.dash < 0:
                keys.setdefault(line.key, line)
        return _Mapping(keys, parent, item, column == 0 and not item)

    def _list_holder(self, number: int, dash: int) -> Line | None:
        """The key holding the list whose item starts with the `-` at column ``dash`` of line ``number``."""
        for line in reversed(self.lines[:number - 1]):
            if line.blank:
                continue
            if line.indent < dash or (line.indent == dash and line.dash < 0):
                return line if line.key_column >= 0 else None
        return None

    def _holder(self, line: Line) -> Line | None:
        """The key whose map holds the key of ``line``."""
        for other in reversed(self.lines[:line.number - 1]):
            if not other.blank and other.indent < line.indent:
                return other if other.key_column >= 0 else None
        return None

    def is_task(self, mapping: _Mapping) -> bool:
        """A list item of a list of tasks (``tasks``, ``then``, a case of ``cases``...)."""
        parent = mapping.parent
        if not mapping.item or parent is None:
            return False
        if parent.key in _TASK_LISTS:
            return True
        holder = self._holder(parent)
        return holder is not None and holder.key == "cases"

    def _items(self) -> list[tuple[_Mapping, dict[str, str]]]:
        """Every list item of the text: its map, and its plain values (of a one-line map too)."""
        items = []
        for line in self.lines:
            if line.dash < 0:
                continue
            if line.key_column >= 0:
                mapping = self.mapping(line.number, line.key_column)
                items.append((mapping, {key: mapping.value(key) for key in mapping.keys}))
            else:
                items.append((self.mapping(line.number, line.dash + 2), _inline_map(line.text)))
        return items

    def inputs(self) -> list[str]:
        """The ids of the flow's inputs."""
        return [values["id"] for mapping, values in self._items()
                if values.get("id") and mapping.parent is not None and mapping.parent.key == "inputs"
                and mapping.parent.indent == 0]

    def tasks(self) -> dict[str, str]:
        """Task id -> type, in the order of the text."""
        found: dict[str, str] = {}
        for mapping, values in self._items():
            if values.get("id") and self.is_task(mapping):
                found.setdefault(values["id"], values.get("type", ""))
        return found

    def variables(self) -> list[str]:
        """The keys of the top-level ``variables`` map."""
        names: list[str] = []
        inside, column = False, -1
        for line in self.lines:
            if line.blank:
                continue
            if line.indent == 0:
                inside, column = line.key == "variables", -1
            elif inside and line.key_column >= 0 and line.dash < 0 and column in (-1, line.key_column):
                column = line.key_column
                names.append(line.key)
        return names


def _inline_map(text: str) -> dict[str, str]:
    """``- {id: a, type: b}``: the plain keys and values of a one-line map."""
    body = re.search(r"\{(.*)\}?", text)
    if body is None:
        return {}
    pairs = re.findall(r"(\w+)\s*:\s*([^,{}\[\]]+)", body.group(1))
    return {key: value.strip().strip("'\"") for key, value in pairs}


# -- types and properties --------------------------------------------------------------------------

def _matching(names: Iterable[str], typed: str) -> list[str]:
    """Names starting with ``typed``; a type's class name may be typed instead of its full name."""
    lowered = typed.lower()
    return [name for name in names
            if name.startswith(typed) or ("." not in typed and name.rsplit(".", 1)[-1].lower().startswith(lowered))]


def task_type_names() -> tuple[list[str], list[str]]:
    """(current type names, other accepted names), each sorted."""
    names = {name: cls for name, cls in registry().items() if not cls.internal}  # not ForEachItem's parts
    current = sorted({cls.type for cls in names.values()})
    return current, sorted(set(names) - set(current))


def _types(mapping: _Mapping, typed: str, outline: _Outline) -> list[Candidate]:
    parent = mapping.parent.key if mapping.parent is not None else ""
    top_list = mapping.item and mapping.parent is not None and mapping.parent.indent == 0
    if parent == "retry" and not mapping.item:
        return [Candidate(name, "retry type") for name in _matching(RETRY_TYPES, typed)]
    if top_list and parent == "triggers":
        current = sorted(t for t in TRIGGER_TYPES if ".plugin.core." in t)  # not plugin.fs: an old name
        older = sorted(TRIGGER_TYPES - set(current))
        return ([Candidate(n, "trigger type") for n in _matching(current, typed)]
                + [Candidate(n, "trigger type (old name)") for n in _matching(older, typed)])
    if top_list and parent in ("inputs", "outputs"):
        main = sorted(set(input_types.INPUT_TYPES) - set(_INPUT_TYPE_ALIASES))
        return [Candidate(n, "input type") for n in _matching([*main, *_INPUT_TYPE_ALIASES], typed)]
    if not (outline.is_task(mapping) or top_list and parent in ("pluginDefaults", "taskDefaults")):
        return []
    current, aliases = task_type_names()
    return ([Candidate(n, "task type") for n in _matching(current, typed)]
            + [Candidate(n, "task type (other name)") for n in _matching(aliases, typed)])


def ordered_properties(plugin: type[TaskPlugin]) -> list[tuple[str, Prop]]:
    """A task type's properties: the required ones, then its own, then those of every task."""
    props = list(plugin.all_properties().items())
    own = set(plugin.properties)
    return ([(n, p) for n, p in props if p.required] + [(n, p) for n, p in props if not p.required and n in own]
            + [(n, p) for n, p in props if not p.required and n not in own])


def _kind(prop: Prop) -> str:
    return prop.kind + (", required" if prop.required else "")


def _properties(mapping: _Mapping, typed: str, outline: _Outline) -> list[Candidate]:
    if mapping.top:
        props = sorted(FLOW_PROPS.items(), key=lambda item: not item[1].required)
    elif outline.is_task(mapping):
        plugin = find_plugin(mapping.value("type"))
        props = ordered_properties(plugin) if plugin is not None else [
            (name, prop) for name, prop in COMMON_PROPS.items() if prop.required]
    else:
        return []
    return [Candidate(name, _kind(prop)) for name, prop in props if name.startswith(typed) and name not in mapping.keys]


# -- expressions -----------------------------------------------------------------------------------

def _open_expression(before: str) -> tuple[str, str] | None:
    """(kind, text typed so far) of a ``{{`` or ``{%`` tag still open at the end of ``before``."""
    opening = max(before.rfind("{{"), before.rfind("{%"))
    if opening < 0:
        return None
    inside = before[opening + 2:]
    if "}}" in inside or "%}" in inside:
        return None
    return before[opening + 1], inside


def _complete_expression(expression: tuple[str, str], cursor: int, outline: _Outline) -> Completions:
    kind, typed = expression
    for complete in (_filters, _tests, _output_fields, _bracket_keys, _dot_keys):
        found = complete(typed, outline)
        if found is not None:
            fragment, candidates = found
            return Completions(cursor - len(fragment), candidates)
    match = _NAME.search(typed)
    if match is None:
        return Completions(cursor)
    fragment = match.group(1)
    if kind == "%" and not typed[:match.start()].strip():
        return Completions(cursor - len(fragment), [Candidate(t, "tag") for t in _TAGS if t.startswith(fragment)])
    functions = [*_FIRST_FUNCTIONS, *(f for f in known_functions() if f not in _FIRST_FUNCTIONS)]
    candidates = ([Candidate(r, "variable") for r in ROOTS if r.startswith(fragment)]
                  + [Candidate(f + "(", "function") for f in functions if f.startswith(fragment)])
    return Completions(cursor - len(fragment), candidates)


Found = tuple[str, list[Candidate]] | None


def _filters(typed: str, _outline: _Outline) -> Found:
    match = _FILTER.search(typed)
    if match is None:
        return None
    fragment = match.group(1)
    return fragment, [Candidate(f, "filter") for f in known_filters() if f.startswith(fragment)]


def _tests(typed: str, _outline: _Outline) -> Found:
    match = _TEST.search(typed)
    if match is None:
        return None
    fragment = match.group(1)
    return fragment, [Candidate(t, "test") for t in TESTS if t.startswith(fragment)]


def _output_fields(typed: str, outline: _Outline) -> Found:
    """``outputs.load.`` -> the outputs the type of task ``load`` declares."""
    match = _OUTPUT_FIELD.search(typed)
    if match is None:
        return None
    task_id, fragment = match.group(1) or match.group(2), match.group(3)
    plugin = find_plugin(outline.tasks().get(task_id, ""))
    outputs = plugin.outputs if plugin is not None else {}
    return fragment, [Candidate(name, "output") for name in outputs if name.startswith(fragment)]


def _keys(root: str, outline: _Outline) -> list[Candidate] | None:
    if root == "inputs":
        return [Candidate(i, "input") for i in outline.inputs()]
    if root == "vars":
        return [Candidate(v, "variable") for v in outline.variables()]
    if root == "outputs":
        return [Candidate(t, f"task {kind.rsplit('.', 1)[-1]}".strip()) for t, kind in outline.tasks().items()]
    if root in _FIELDS:
        return [Candidate(f, "field") for f in _FIELDS[root]]
    return None


def _bracket_keys(typed: str, outline: _Outline) -> Found:
    """``outputs['`` -> task ids (any id, a hyphenated one too)."""
    match = _BRACKET_KEY.search(typed)
    if match is None:
        return None
    fragment = match.group(2)
    return fragment, [c for c in _keys(match.group(1), outline) or [] if c.text.startswith(fragment)]


def _dot_keys(typed: str, outline: _Outline) -> Found:
    """``inputs.`` -> input ids; ``vars.`` -> variables; ``outputs.`` -> task ids (read with a dot: no
    hyphen); ``taskrun.``... -> their fields."""
    match = _DOT_KEY.search(typed)
    if match is None:
        return None
    keys = _keys(match.group(1), outline)
    fragment = match.group(2)
    if keys is None:
        return fragment, []
    return fragment, [c for c in keys if c.text.startswith(fragment) and (match.group(1) != "outputs"
                                                                             or "-" not in c.text)]
