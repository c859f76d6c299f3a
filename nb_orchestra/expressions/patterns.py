"""Regular expressions written by users (``replace``, ``split``, an input's ``validator``), run with a
time limit: a pattern with catastrophic backtracking fails with a message instead of freezing the
interpreter, which a thread cannot interrupt (Ctrl-C, a task's timeout and Kill all wait for it).

The ``regex`` package reads the same syntax as ``re`` and gives up after ``timeout`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

REGEX_TIMEOUT = 1.0  # seconds one match, search, split or substitution may take


class PatternError(ValueError):
    """A pattern that does not compile, or that took longer than REGEX_TIMEOUT on a text."""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern; PatternError for invalid syntax."""
    import regex  # with the first pattern: most flows have none

    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise PatternError(f"'{pattern}' is not a valid regular expression: {exc}") from None


def fullmatch(pattern: str, text: str) -> bool:
    return _bounded(pattern, lambda p: p.fullmatch(text, timeout=REGEX_TIMEOUT) is not None)


def sub(pattern: str, replacement: Callable[[Any], str], text: str) -> str:
    return _bounded(pattern, lambda p: p.sub(replacement, text, timeout=REGEX_TIMEOUT))


def finditer(pattern: str, text: str) -> list[Any]:
    """Every match, found within one time limit for the whole text."""
    def collect(compiled: Any) -> list[Any]:
        found: Iterator[Any] = compiled.finditer(text, timeout=REGEX_TIMEOUT)
        return list(found)

    return _bounded(pattern, collect)


def _bounded(pattern: str, use: Callable[[Any], Any]) -> Any:
    compiled = compile_pattern(pattern)
    try:
        return use(compiled)
    except TimeoutError:
        raise PatternError(f"the regular expression '{pattern}' took more than {REGEX_TIMEOUT:g} s on this text "
                           "(it backtracks too much: make it more specific)") from None
