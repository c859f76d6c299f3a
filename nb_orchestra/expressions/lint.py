"""What the text of a template reveals before it runs: the flow values it reads (``inputs.user``,
``outputs.load``, ``vars.x``), filters and functions that do not exist, and calls of well-known
functions and filters with the wrong arguments.

Only what is certain from the text is said: a name read through a variable (``outputs[task]``),
a macro of the template, or a syntax error (reported when the template runs) is left alone.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from nb_orchestra.errors import PebbleSyntaxError, did_you_mean
from nb_orchestra.expressions import filters, functions
from nb_orchestra.expressions.pebble import Token, tokenize

ROOTS = ("inputs", "outputs", "vars")  # the roots whose keys the flow declares
_OPENERS = re.compile(r"\{[{%#]")
_CLOSERS = {"{": ("-}}", "}}"), "%": ("-%}", "%}")}
_BLOCKS = {"raw": "endraw", "verbatim": "endverbatim"}
_KEYWORDS = frozenset({"and", "or", "not", "is", "in", "contains", "equals"})  # `not (a)` is no call


@dataclass(frozen=True)
class Reference:
    """``inputs.user``: the template reads ``name`` under ``root`` (one of :data:`ROOTS`)."""

    root: str
    name: str
    text: str  # as written, to find it in the flow's text


@dataclass(frozen=True)
class Mistake:
    """A filter or function that does not exist, or a call with the wrong arguments."""

    text: str  # as written: `| uper`, `randomInt(1)`
    message: str


@dataclass
class Findings:
    references: list[Reference]
    mistakes: list[Mistake]


def lint(template: str) -> Findings:
    """The references and mistakes of a Pebble template (stops quietly at a syntax error)."""
    found = Findings([], [])
    macros = set(re.findall(r"\{%-?\s*macro\s+(\w+)", template))
    try:
        for kind, tokens in _tags(template):
            _Tag(template, tokens, macros, found).check(kind)
    except PebbleSyntaxError:
        pass  # the template fails to compile when it runs, with its own message
    return found


def _tags(template: str) -> Iterator[tuple[str, list[Token]]]:
    """(kind, tokens) of each ``{{ }}`` and ``{% %}`` tag; comments and raw blocks skipped."""
    pos = 0
    while True:
        match = _OPENERS.search(template, pos)
        if match is None:
            return
        kind = template[match.start() + 1]
        if kind == "#":
            end = template.find("#}", match.end())
            if end < 0:
                return
            pos = end + 2
            continue
        body = match.end() + (1 if template.startswith("-", match.end()) else 0)
        tokens, pos, _closer = tokenize(template, body, _CLOSERS[kind])
        if kind == "%" and tokens and tokens[0].value in _BLOCKS:
            closing = re.compile(r"\{%-?\s*" + _BLOCKS[str(tokens[0].value)] + r"\s*-?%\}").search(template, pos)
            if closing is None:
                return
            pos = closing.end()
            continue
        yield kind, tokens


def known_filters() -> list[str]:
    """Kestra's filters, as templates name them."""
    return sorted(filters.FILTERS)


def known_functions() -> list[str]:
    """Kestra's functions, as templates name them."""
    return sorted(functions.FUNCTIONS)


@cache
def _accepted_filters() -> frozenset[str]:
    """Every filter a template may use here: Kestra's, and those of the Jinja2 environment."""
    from nb_orchestra.expressions.environment import ENVIRONMENT

    return frozenset(name for name in ENVIRONMENT.filters if not name.startswith("_nbo_"))


def _is(token: Token | None, *values: str) -> bool:
    return token is not None and token.kind in ("op", "name") and token.value in values


class _Tag:
    """The tokens of one tag, read left to right."""

    def __init__(self, template: str, tokens: list[Token], macros: set[str], found: Findings):
        self.template = template
        self.tokens = tokens
        self.macros = macros
        self.found = found

    def token(self, index: int) -> Token | None:
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def text(self, first: int, last: int) -> str:
        return self.template[self.tokens[first].start:self.tokens[last].end]

    def check(self, kind: str) -> None:
        start = 0
        if kind == "%":
            keyword = self.token(0)
            if _is(keyword, "macro", "set"):
                start = 2  # the macro's or the variable's name
            elif _is(keyword, "filter"):
                self.filter_chain()
                return
            else:
                start = 1
        for index in range(start, len(self.tokens)):
            self.read(index)

    def filter_chain(self) -> None:
        """``{% filter upper | trim %}``: every name is a filter."""
        for index in range(1, len(self.tokens)):
            before = self.token(index - 1)
            if self.tokens[index].kind == "name" and (index == 1 or _is(before, "|")):
                self.filter(index)

    def read(self, index: int) -> None:
        token = self.tokens[index]
        if token.kind != "name":
            return
        before = self.token(index - 1)
        if _is(before, "|"):
            self.filter(index)
        elif _is(before, ".", "is") or (_is(before, "not") and _is(self.token(index - 2), "is")):
            return  # an attribute, or a test
        elif _is(self.token(index + 1), "(") and token.value not in _KEYWORDS:
            self.function(index)
        elif token.value in ROOTS and not _is(self.token(index + 1), "="):
            self.reference(index)

    def reference(self, index: int) -> None:
        """``inputs.user`` or ``inputs['user']``."""
        after = self.token(index + 1)
        name = self.token(index + 2)
        if name is None:
            return
        if _is(after, ".") and name.kind == "name":
            last = index + 2
        elif _is(after, "[") and name.kind == "str" and _is(self.token(index + 3), "]"):
            last = index + 3
        else:
            return  # the whole map, or a key computed when it runs
        if self.guarded(self.chain_end(last)):
            return
        root = str(self.tokens[index].value)
        self.found.references.append(Reference(root, str(name.value), self.text(index, last)))

    def chain_end(self, index: int) -> int:
        """The last token of the attribute and item chain going on after ``tokens[index]``."""
        while True:
            after = self.token(index + 1)
            if _is(after, ".") and self.token(index + 2) is not None:
                index += 2
            elif _is(after, "["):
                index = self.closing(index + 1)
            else:
                return index

    def closing(self, opening: int) -> int:
        """The index of the ``]`` closing the ``[`` at ``opening`` (the last token when none does)."""
        depth = 0
        for index in range(opening, len(self.tokens)):
            depth += 1 if _is(self.tokens[index], "[") else -1 if _is(self.tokens[index], "]") else 0
            if depth == 0:
                return index
        return len(self.tokens) - 1

    def guarded(self, index: int) -> bool:
        """True when the value ending at ``tokens[index]`` may be missing: ``?? x``, ``is defined``,
        ``| default(x)``."""
        after = self.token(index + 1)
        return _is(after, "??", "???", "is") or (_is(after, "|") and _is(self.token(index + 2), "default"))

    def filter(self, index: int) -> None:
        name = str(self.tokens[index].value)
        if name not in _accepted_filters():
            text = self.text(index - 1, index) if _is(self.token(index - 1), "|") else name
            self.found.mistakes.append(Mistake(text, f"unknown filter '{name}'{did_you_mean(name, known_filters())}"))
        elif name in filters.FILTERS:
            self.arguments(index, filters.FILTERS[name], "filter", skip=1)

    def function(self, index: int) -> None:
        name = str(self.tokens[index].value)
        if name in self.macros:
            return
        function = functions.FUNCTIONS.get(name)
        if function is None:
            close = self.call(index + 1)[2]
            message = f"unknown function '{name}'{did_you_mean(name, known_functions())}"
            self.found.mistakes.append(Mistake(self.text(index, close) if close > 0 else f"{name}(", message))
            return
        self.arguments(index, function, "function", skip=1 if getattr(function, "jinja_pass_arg", None) else 0)

    def arguments(self, index: int, function: Callable[..., object], what: str, skip: int) -> None:
        """Check the arguments after ``tokens[index]`` (none without parentheses) against ``function``'s
        parameters; the first ``skip`` are given by the template engine (the render context, or the
        value a filter is applied to)."""
        positional, named, close = self.call(index + 1) if _is(self.token(index + 1), "(") else (0, [], index)
        if close < 0:
            return
        parameters = _parameters(function, skip)
        try:
            inspect.Signature(parameters).bind(*([None] * positional), **dict.fromkeys(named))
        except TypeError:
            name = str(self.tokens[index].value)
            first = index - 1 if what == "filter" and _is(self.token(index - 1), "|") else index
            self.found.mistakes.append(Mistake(self.text(first, close), _arity(name, what, parameters,
                                                                                 positional, named)))

    def call(self, opening: int) -> tuple[int, list[str], int]:
        """(positional arguments, argument names, index of the closing parenthesis) of a call."""
        depth, positional, named, close = 0, 0, [], -1
        expecting = True  # at the start of an argument
        for index in range(opening, len(self.tokens)):
            token = self.tokens[index]
            if _is(token, "(", "[", "{"):
                depth += 1
                if depth == 1:
                    continue
            elif _is(token, ")", "]", "}"):
                depth -= 1
                if depth == 0:
                    close = index
                    break
            if depth == 1 and _is(token, ","):
                expecting = True
                continue
            if depth == 1 and expecting:
                expecting = False
                if token.kind == "name" and _is(self.token(index + 1), "="):
                    named.append(str(token.value))
                else:
                    positional += 1
        return positional, named, close


def _parameters(function: Callable[..., object], skip: int) -> list[inspect.Parameter]:
    """The parameters a template gives: without the first ``skip`` and without the engine's own."""
    parameters = list(inspect.signature(function).parameters.values())[skip:]
    return [p for p in parameters if not p.name.startswith("_nbo_")]


def _arity(name: str, what: str, parameters: list[inspect.Parameter], positional: int, named: list[str]) -> str:
    """Why the arguments do not fit: an unknown argument name, or how many arguments it takes."""
    names = [p.name for p in parameters if p.kind is not p.VAR_POSITIONAL]
    unknown = [n for n in named if n not in names]
    label = f"{name}()" if what == "function" else f"the filter '{name}'"
    if unknown:
        return f"{label} has no argument '{unknown[0]}'{did_you_mean(unknown[0], names)}"
    least = sum(1 for p in parameters if p.default is p.empty and p.kind is not p.VAR_POSITIONAL)
    most = len(names)
    span = str(most) if least == most else f"{least} to {most}"
    takes = f"takes {span} argument{'' if most == 1 and least == most else 's'}"
    return f"{label} {takes} ({', '.join(names)}), got {positional + len(named)}" if names else (
        f"{label} takes no arguments, got {positional + len(named)}")
