"""The lines of a YAML text as its indentation reads them, without parsing it.

A text being typed (a notebook cell under the cursor) or one YAML refuses (a syntax error) has
no data to read, but its lines still say which key a line holds, at which column, and whether it
starts a list item: what completion and the explanation of a syntax error both need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The first `key:` of a line, after any `- `: a plain key followed by a space or the end of the line.
_KEY = re.compile(r"(-\s+)*([^\s#'\"{\[][^:#]*?):(?:\s|$)")
_BLOCK_SCALAR = re.compile(r":\s+[|>][-+0-9]*\s*(#.*)?$")  # `key: |`: the deeper lines below are text


@dataclass(frozen=True)
class Line:
    """One line of a YAML text."""

    number: int      # 1-based
    text: str
    indent: int      # leading spaces
    dash: int        # 0-based column of a leading `- `, else -1
    key: str         # its first key, else ""
    key_column: int  # 0-based column of that key, else -1

    @property
    def blank(self) -> bool:
        """Empty, or only a comment."""
        stripped = self.text.strip()
        return not stripped or stripped.startswith("#")

    @property
    def value(self) -> str:
        """What follows the key's colon, without a trailing comment."""
        if self.key_column < 0:
            return ""
        rest = self.text[self.key_column + len(self.key) + 1:]
        return re.sub(r"\s+#.*$", "", rest).strip()

    @property
    def opens_text(self) -> bool:
        """``key: |`` or ``key: >``: the deeper lines below are a block of text."""
        return self.key_column >= 0 and _BLOCK_SCALAR.search(self.text) is not None


def read_line(number: int, text: str) -> Line:
    """One line, numbered ``number``."""
    indent = len(text) - len(text.lstrip(" "))
    rest = text[indent:]
    dash = indent if (rest.startswith("- ") or rest.rstrip() == "-") else -1
    match = _KEY.match(text, indent)
    if match is None:
        return Line(number, text, indent, dash, "", -1)
    return Line(number, text, indent, dash, match.group(2).strip(), match.start(2))


def read_lines(text: str) -> list[Line]:
    """Every line of ``text`` (one empty line for an empty text)."""
    return [read_line(i, line) for i, line in enumerate(text.split("\n"), start=1)]
