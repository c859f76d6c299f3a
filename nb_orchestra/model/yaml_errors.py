"""PyYAML's syntax errors, said for people: what went wrong, on the line where it went wrong.

PyYAML reports where its reader gave up, which is often lines after the mistake (an unclosed
quote is "found unexpected end of stream" past the last line) and in its own words ("mapping
values are not allowed in this context" for a key indented one space too far). Each explanation
below recognises one kind of mistake from the error and the text, and locates it where the
mistake is: the opening quote, the tab, the mis-indented key. A location is never past the end
of the text, so the offending line can always be shown under the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import Problem
from .yaml_lines import Line, read_lines

PREFIX = "invalid YAML: "
_QUOTE_START = re.compile(r"(?:-\s+)*(?:[^\s#'\"][^:#]*?:\s+)?(['\"])")  # a value starting with a quote


class _Source:
    """The text of the document and a clipped position for any PyYAML mark."""

    def __init__(self, text: str):
        self.text = text
        self.lines = read_lines(text.removesuffix("\n"))

    def line(self, number: int) -> Line:
        return self.lines[number - 1]

    def clip(self, line: int, column: int) -> tuple[int, int]:
        """A 1-based (line, column) inside the text: past the end is the end of the last line."""
        if line > len(self.lines):
            return len(self.lines), len(self.lines[-1].text) + 1
        return max(line, 1), max(column, 1)

    def at(self, mark: Any) -> tuple[int, int]:
        return self.clip(mark.line + 1, mark.column + 1) if mark is not None else (1, 1)

    def position(self, index: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = self.text.count("\n", 0, index) + 1
        return self.clip(line, index - self.text.rfind("\n", 0, index))


Explanation = Callable[[Any, _Source], "Problem | None"]


def explain(exc: Any, text: str) -> Problem:
    """A located problem for a ``yaml.MarkedYAMLError`` raised while reading ``text``."""
    source = _Source(text)
    for explanation in _EXPLANATIONS:
        problem = explanation(exc, source)
        if problem is not None:
            return problem
    line, column = source.at(exc.problem_mark or exc.context_mark)
    return Problem("", PREFIX + str(exc.problem or exc.context), line, column)


def _problem(message: str, where: tuple[int, int]) -> Problem:
    return Problem("", PREFIX + message, where[0], where[1])


def _spaces(count: int) -> str:
    return "at the start of the line" if count == 0 else f"{count} space" + ("" if count == 1 else "s")


# -- tabs ------------------------------------------------------------------------------------------

def _tab(exc: Any, source: _Source) -> Problem | None:
    """A tab where YAML wants spaces: in the indentation of a line up to the error, or at the error."""
    mark = exc.problem_mark
    last = min(mark.line + 1 if mark is not None else len(source.lines), len(source.lines))
    if mark is not None and mark.index < len(source.text) and source.text[mark.index] == "\t":
        line = source.line(last)
        if not line.text[:mark.column].strip(" \t"):
            return _problem("a tab in the indentation: YAML indents with spaces, never tabs", source.at(mark))
        return _problem("a tab here: YAML cannot read a tab at this place, use spaces", source.at(mark))
    for line in source.lines[:last]:
        lead = line.text[:len(line.text) - len(line.text.lstrip(" \t"))]
        if "\t" in lead:
            return _problem("a tab in the indentation: YAML indents with spaces, never tabs",
                            (line.number, lead.index("\t") + 1))
    return None


# -- unclosed quotes and brackets ------------------------------------------------------------------

def _closing_quote(text: str, start: int) -> int:
    """Offset of the quote closing the string opened at ``start`` (YAML's escapes), or -1."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if quote == "'" and text.startswith("''", i):
                i += 2
                continue
            return i
        i += 1
    return -1


def _quote_message(quote: str) -> str:
    name = "double" if quote == '"' else "single"
    return f"the {name} quote {quote} opened here is never closed"


def _unclosed_quote(exc: Any, source: _Source) -> Problem | None:
    """A quoted string left open: PyYAML reads on, and fails at the end or where a later quote closes it."""
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        return _problem(_quote_message(source.text[exc.context_mark.index]), source.at(exc.context_mark))
    mark = exc.problem_mark
    if mark is None:
        return None
    offset = 0
    for line in source.lines[:mark.line]:  # lines before the one where reading stopped
        match = _QUOTE_START.match(line.text, line.indent)
        if match is not None and not line.blank:
            start = offset + match.start(1)
            end = _closing_quote(source.text, start)
            if end < 0 or (source.text.count("\n", start, end) and source.position(end)[0] == mark.line + 1):
                return _problem(_quote_message(match.group(1)), source.position(start))
        offset += len(line.text) + 1
    return None


_BRACKETS = {"while parsing a flow sequence": ("[", "]"), "while parsing a flow mapping": ("{", "}")}


def _unclosed_bracket(exc: Any, source: _Source) -> Problem | None:
    brackets = _BRACKETS.get(exc.context or "")
    if brackets is None or exc.context_mark is None:
        return None
    opening, closing = brackets
    return _problem(f"the {opening} opened here is never closed by a {closing} (or an item in it lacks a comma)",
                    source.at(exc.context_mark))


def unquoted_expression(text: str, line: int) -> Problem | None:
    """``message: {{ x }}`` on ``line``: YAML reads a value starting with ``{`` as a map (whose key is
    a map, which no flow can hold)."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    column = lines[line - 1].find("{{")
    if column < 0:
        return None
    return Problem("", "a value that starts with { is read as a YAML map: put the expression in quotes, "
                       f"\"{lines[line - 1][column:].strip()}\"", line, column + 1)


# -- indentation -----------------------------------------------------------------------------------

def _colon_in_value(exc: Any, source: _Source) -> Problem | None:
    """``message: Note: this``: a second ``: `` inside a plain value."""
    mark = exc.problem_mark
    if mark is None or not str(exc.problem).startswith("mapping values are not allowed"):
        return None
    line = source.line(source.at(mark)[0])
    if line.key and mark.column == line.key_column + len(line.key):
        return None  # the colon of the line's own key: an indentation slip, explained below
    return _problem("': ' inside a value: put the value in quotes", source.at(mark))


def _levels(source: _Source, before: int, dashes: bool) -> list[tuple[int, Line]]:
    """The levels open above line ``before``, innermost first: (column, the line that opened it).
    Key columns, or with ``dashes`` the columns of `-` items; the lines of a block scalar
    (``code: |``) are text, not levels."""
    levels: list[tuple[int, Line]] = []
    lowest = 10**9
    for line in reversed(source.lines[:before - 1]):
        if line.blank:
            continue
        if line.opens_text:
            levels = [(column, opener) for column, opener in levels if column <= line.key_column]
        column = line.dash if dashes else line.key_column
        if 0 <= column < lowest:
            levels.append((column, line))
        lowest = min(lowest, line.indent)
    return levels


def _indentation(exc: Any, source: _Source) -> Problem | None:
    """A key or a list item not lined up with any level open above it."""
    mark = exc.problem_mark
    if mark is None or mark.line >= len(source.lines):
        return None
    line = source.line(mark.line + 1)
    dashes = line.dash >= 0
    column = line.dash if dashes else line.key_column
    if column < 0:
        return None
    levels = _levels(source, line.number, dashes)
    if not levels or any(level == column for level, _ in levels):
        return None
    level, other = min(levels, key=lambda entry: (abs(entry[0] - column), -entry[0]))
    if dashes:
        message = (f"this list item is indented by {_spaces(column)}; it should line up with the list item "
                   f"'{other.text.strip()}' above ({_spaces(level)})")
    else:
        message = (f"'{line.key}' is indented by {_spaces(column)}; it should line up with '{other.key}' "
                   f"above ({_spaces(level)})")
    return _problem(message, (line.number, column + 1))


def _stray_line(exc: Any, source: _Source) -> Problem | None:
    """A line that is neither ``key: value`` nor a list item."""
    if exc.context != "while scanning a simple key" or exc.context_mark is None:
        return None
    return _problem("this line is neither 'key: value' nor a list item '- ...'", source.at(exc.context_mark))


_EXPLANATIONS: tuple[Explanation, ...] = (
    _tab, _unclosed_quote, _unclosed_bracket, _colon_in_value, _indentation, _stray_line,
)
