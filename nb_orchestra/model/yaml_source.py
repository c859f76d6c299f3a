"""YAML text -> plain Python data, remembering where every value stands.

PyYAML alone loses positions once values are constructed and silently keeps
the last of two duplicate keys. Here the document is composed into nodes,
converted by hand, and each value's position is recorded under its path
(``("tasks", 1, "message")``), so validation can point at a line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import FlowValidationError, Problem

Path = tuple  # of str keys and int indexes

# SnakeYAML's default, which Kestra's parser inherits: a document may reuse collections through
# aliases this many times. Beyond it, a few hundred bytes could expand to gigabytes ("billion laughs").
MAX_ALIASES_FOR_COLLECTIONS = 50
MAX_DEPTH = 200  # nesting of maps and lists; real flows stay far below
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

if TYPE_CHECKING:  # both are SafeConstructor + Resolver over a parser: check against the pure-Python one
    _BaseLoader = yaml.SafeLoader
else:
    try:  # the C loader composes the same nodes, faster
        _BaseLoader = yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        _BaseLoader = yaml.SafeLoader


class _FlowLoader(_BaseLoader):
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
    # Where the text of a string holding ``{`` stands: (start, end) offsets of its YAML scalar.
    spans: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def find(self, path: Path, snippet: str) -> tuple[int, int]:
        """Line and column of ``snippet`` inside the string at ``path`` (of ``path`` when not found there)."""
        start, end = self.spans.get(path, (0, 0))
        at = self.text.find(snippet, start, end) if snippet else -1
        if at < 0:
            return self.locate(path)
        return self.text.count("\n", 0, at) + 1, at - self.text.rfind("\n", 0, at)

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


class _Refused(Exception):
    """The document builds more than a flow may (aliases, depth): one located problem."""

    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.problem = Problem("", message, mark.line + 1, mark.column + 1)


class _Walk:
    """What the conversion has seen: collections already built (a second visit is an alias), and
    the collections it is inside of (an alias to one of them is a document that contains itself)."""

    def __init__(self) -> None:
        self.built: set[int] = set()
        self.inside: list[int] = []
        self.aliases = 0

    def enter(self, node: yaml.Node) -> None:
        if id(node) in self.inside:
            raise _Refused("invalid YAML: an alias refers to a collection that contains it", node.start_mark)
        if len(self.inside) >= MAX_DEPTH:
            raise _Refused(f"invalid YAML: maps and lists nested deeper than {MAX_DEPTH} levels", node.start_mark)
        if id(node) in self.built:
            self.aliases += 1
            if self.aliases > MAX_ALIASES_FOR_COLLECTIONS:
                raise _Refused(f"invalid YAML: more than {MAX_ALIASES_FOR_COLLECTIONS} aliases to maps or lists "
                               "(a limit Kestra's parser has too)", node.start_mark)
        self.built.add(id(node))
        self.inside.append(id(node))


def load_document(text: str, name: str | None = None) -> Document:
    """Parse ``text``; malformed YAML or a duplicate key raises a located FlowValidationError."""
    surrogate = _LONE_SURROGATE.search(text)
    if surrogate:  # not Unicode text at all (a bad decode upstream): the YAML reader cannot take it
        at = surrogate.start()
        line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        problem = Problem("", f"invalid YAML: U+{ord(surrogate.group()):04X} is half of a character, not text",
                          line, column)
        raise FlowValidationError([problem], source=text, name=name)
    loader = _FlowLoader(text)
    try:
        node = loader.get_single_node()
        doc = Document(data=None, text=text)
        problems: list[Problem] = []
        if node is not None:
            doc.data = _convert(loader, node, (), doc, problems, _Walk())
    except yaml.MarkedYAMLError as exc:  # said for people, on the line of the mistake
        from .yaml_errors import explain  # with the first mistake: a text that parses never needs it

        raise FlowValidationError([explain(exc, text)], source=text, name=name) from None
    except yaml.reader.ReaderError as exc:  # a NUL or another character YAML forbids
        at = exc.position
        line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problem = Problem("", f"invalid YAML: the character U+{code:04X} is not allowed in YAML", line, column)
        raise FlowValidationError([problem], source=text, name=name) from None
    except _Refused as exc:
        raise FlowValidationError([exc.problem], source=text, name=name) from None
    except RecursionError:  # the parser itself, before any limit of ours could see the nesting
        raise FlowValidationError([Problem("", f"invalid YAML: nested too deeply (the limit is {MAX_DEPTH})")],
                                  source=text, name=name) from None
    finally:
        loader.dispose()
    if problems:
        raise FlowValidationError(problems, source=text, name=name)
    return doc


def _convert(loader: Any, node: yaml.Node, path: Path, doc: Document, problems: list[Problem], walk: _Walk,
             mark: Any = None) -> Any:
    # A map entry is located at its key (``mark``): where people look for ``mesage:``.
    mark = mark or node.start_mark
    doc.positions[path] = (mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        walk.enter(node)
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                from .yaml_errors import unquoted_expression

                line = key_node.start_mark.line + 1
                problems.append(unquoted_expression(doc.text, line) or Problem(
                    format_path(path), "a key must be a plain value, not a map or a list", line,
                    key_node.start_mark.column + 1))
                continue
            key = key_node.value if key_node.tag == _STR_TAG else loader.construct_object(key_node, deep=True)
            if key in result:
                problems.append(Problem(
                    format_path(path + (key,)), f"duplicate key '{key}' (YAML would keep only the last one)",
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                ))
            result[key] = _convert(loader, value_node, path + (key,), doc, problems, walk, key_node.start_mark)
        walk.inside.pop()
        return result
    if isinstance(node, yaml.SequenceNode):
        walk.enter(node)
        items = [_convert(loader, item, path + (i,), doc, problems, walk) for i, item in enumerate(node.value)]
        walk.inside.pop()
        return items
    if node.tag == _STR_TAG:
        if "{" in node.value:  # a template: where its text stands, to locate what is wrong inside it
            doc.spans[path] = (node.start_mark.index, node.end_mark.index)
        return node.value  # the common case, without PyYAML's constructor dispatch
    return loader.construct_object(node, deep=True)


_STR_TAG = "tag:yaml.org,2002:str"
