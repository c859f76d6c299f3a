"""YAML text -> plain Python data, remembering where every value stands.

PyYAML alone loses positions once values are constructed and silently keeps
the last of two duplicate keys. Here the document is composed into nodes,
converted by hand, and each value's position is recorded under its path
(``("tasks", 1, "message")``), so validation can point at a line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import FlowValidationError, Problem

Path = tuple  # of str keys and int indexes

try:  # the C loader composes the same nodes, faster
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


class _FlowLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that keeps ``2024-01-01`` a string, as Kestra's YAML parser does."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # Most scalars of a flow are plain words: when no implicit resolver (bool, int, null...)
        # can match their first character they are strings, without trying the regexes.
        if kind is yaml.ScalarNode and implicit[0] and value and value[0] not in self.yaml_implicit_resolvers:
            return _STR_TAG
        return super().resolve(kind, value, implicit)


_FlowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    """A loaded YAML document: its data, its text and the position of each path."""

    data: Any
    text: str
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path) -> tuple[int, int]:
        """Line and column of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (0, 0))


def format_path(path: Path) -> str:
    """``("tasks", 1, "then", 0, "type")`` -> ``tasks[1].then[0].type``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_document(text: str, name: str | None = None) -> Document:
    """Parse ``text``; malformed YAML or a duplicate key raises a located FlowValidationError."""
    loader = _FlowLoader(text)
    try:
        node = loader.get_single_node()
        doc = Document(data=None, text=text)
        problems: list[Problem] = []
        if node is not None:
            doc.data = _convert(loader, node, (), doc, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise FlowValidationError([Problem("", message, line, column)], source=text, name=name) from None
    finally:
        loader.dispose()
    if problems:
        raise FlowValidationError(problems, source=text, name=name)
    return doc


def _convert(loader: Any, node: yaml.Node, path: Path, doc: Document, problems: list[Problem],
             mark: Any = None) -> Any:
    # A map entry is located at its key (``mark``): where people look for ``mesage:``.
    mark = mark or node.start_mark
    doc.positions[path] = (mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.tag == _STR_TAG else loader.construct_object(key_node, deep=True)
            if key in result:
                problems.append(Problem(
                    format_path(path + (key,)), f"duplicate key '{key}' (YAML would keep only the last one)",
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                ))
            result[key] = _convert(loader, value_node, path + (key,), doc, problems, key_node.start_mark)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, path + (i,), doc, problems) for i, item in enumerate(node.value)]
    if node.tag == _STR_TAG:
        return node.value  # the common case, without PyYAML's constructor dispatch
    return loader.construct_object(node, deep=True)


_STR_TAG = "tag:yaml.org,2002:str"
