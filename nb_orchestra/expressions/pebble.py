"""Translate Kestra's Pebble templates into Jinja2 templates.

Text outside tags is copied as is.  Every ``{{ expr }}`` and the expressions of
``{% if %}``, ``{% for %}``, ``{% set %}``... are tokenised and parsed with
Pebble's precedence (a small Pratt parser), then re-emitted as a Jinja2
expression with explicit parentheses.  Pebble operators without a Jinja2
equivalent become calls of helper filters (``_nbo_add``, ``_nbo_div``...) that
:mod:`nb_orchestra.expressions.environment` registers.  Newlines inside a tag
are kept so that Jinja2's line numbers match the Pebble source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nb_orchestra.errors import PebbleSyntaxError

# Pebble binary operators and their precedence (higher binds tighter).
_PRECEDENCE = {
    "or": 10, "and": 15, "is": 20, "contains": 20,
    "==": 30, "equals": 30, "!=": 30, "<": 30, ">": 30, "<=": 30, ">=": 30,
    "+": 40, "-": 40, "*": 60, "/": 60, "%": 60,
    "|": 100, "~": 110, "..": 120, "??": 120, "???": 120,
}
_HELPER_OPS = {
    "==": "_nbo_eq", "equals": "_nbo_eq", "contains": "_nbo_contains",
    "+": "_nbo_add", "-": "_nbo_sub", "*": "_nbo_mul", "/": "_nbo_div", "%": "_nbo_mod",
    "~": "_nbo_concat", "..": "_nbo_range",
}
_KEYWORD_OPS = {"or", "and", "is", "contains", "equals"}
_SYMBOLS = ("???", "??", "..", "==", "!=", "<=", ">=", "?", ":", ".", ",", "(", ")",
            "[", "]", "{", "}", "|", "~", "+", "-", "*", "/", "%", "<", ">", "=")
_LITERALS = {"true": "true", "TRUE": "true", "false": "false", "FALSE": "false",
             "null": "none", "NULL": "none", "none": "none", "NONE": "none"}
# Names a template must never reach, even when they are in the render context.
RESERVED_NAMES = frozenset({"_runtime", "self"})
MISSING_PREFIX = "_nbo_missing_"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s*")
_OPEN = re.compile(r"\{[{%#]")
_PRINT_CLOSE = ("-}}", "}}")
_TAG_CLOSE = ("-%}", "%}")
_BLOCK_TAGS = {"raw": "endraw", "verbatim": "endverbatim"}
_PASS_TAGS = {"else", "endif", "endfor", "endmacro", "endfilter", "endblock"}
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_SCOPED_FUNCTIONS = {"render", "renderOnce"}


@dataclass(frozen=True)
class Token:
    """One lexical token: ``kind`` is name, int, float, str, istr (interpolated) or op."""

    kind: str
    value: object
    start: int
    end: int


@dataclass(frozen=True)
class Tag:
    """A ``{{ }}`` or ``{% %}`` tag of the Pebble source, for error messages."""

    first_line: int
    last_line: int
    text: str
    hint: str = ""


@dataclass
class Translation:
    """Result of :func:`translate`: the Jinja2 source and what error messages need."""

    source: str
    tags: list[Tag] = field(default_factory=list)
    single_expression: str | None = None


# --------------------------------------------------------------------------- lexer


def tokenize(source: str, pos: int, closers: tuple[str, ...]) -> tuple[list[Token], int, str]:
    """Tokens from ``pos`` up to the first closer found outside brackets.

    Returns the tokens, the position after the closer and the closer itself.
    """
    tokens: list[Token] = []
    depth: list[str] = []
    while True:
        space = _SPACE.match(source, pos)
        if space is not None:  # always: `\s*` matches the empty string
            pos = space.end()
        if not depth:
            for closer in closers:
                if source.startswith(closer, pos):
                    return tokens, pos + len(closer), closer
        if pos >= len(source):
            raise PebbleSyntaxError(f"missing `{closers[-1]}` at the end of the tag")
        token = _next_token(source, pos)
        _track_brackets(token, depth)
        tokens.append(token)
        pos = token.end


def _next_token(source: str, pos: int) -> Token:
    char = source[pos]
    if char in "'\"":
        return _string_token(source, pos)
    match = _NUMBER.match(source, pos)
    if match:
        text = match.group()
        kind = "float" if "." in text else "int"
        return Token(kind, float(text) if kind == "float" else int(text), pos, match.end())
    match = _NAME.match(source, pos)
    if match:
        return Token("name", match.group(), pos, match.end())
    for symbol in _SYMBOLS:
        if source.startswith(symbol, pos):
            return Token("op", symbol, pos, pos + len(symbol))
    raise PebbleSyntaxError(f"unexpected character {char!r}")


def _track_brackets(token: Token, depth: list[str]) -> None:
    if token.kind != "op":
        return
    if token.value in _BRACKETS:
        depth.append(_BRACKETS[token.value])
    elif token.value in (")", "]", "}"):
        if not depth or depth[-1] != token.value:
            raise PebbleSyntaxError(f"unexpected `{token.value}`")
        depth.pop()


def _string_token(source: str, pos: int) -> Token:
    r"""A quoted string; double quotes allow ``#{expr}`` interpolation.

    Escapes: a backslash before the quote or another backslash is dropped;
    any other backslash is kept (so ``'\\.'`` and ``'\.'`` both give ``\.``,
    the regex a ``split`` needs).
    """
    quote = source[pos]
    parts: list[str | list[Token]] = []  # literal text and ``#{...}`` token lists
    text: list[str] = []
    i = pos + 1
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            following = source[i + 1]
            text.append(following if following in (quote, "\\") else char + following)
            i += 2
        elif char == quote:
            parts.append("".join(text))
            if len(parts) == 1:
                return Token("str", parts[0], pos, i + 1)
            return Token("istr", [p for p in parts if p != ""], pos, i + 1)
        elif quote == '"' and source.startswith("#{", i):
            parts.append("".join(text))
            text = []
            tokens, i, _ = tokenize(source, i + 2, ("}",))
            parts.append(tokens)
        else:
            text.append(char)
            i += 1
    raise PebbleSyntaxError("unterminated string")


# --------------------------------------------------------------------------- parser


class Parser:
    """Pratt parser over one tag's tokens that emits Jinja2 expression text.

    ``loop_names`` are the ``{% for %}`` variables in scope: Jinja2 does not
    show them to context functions, so calls of ``render``/``renderOnce`` get
    them as an extra ``_nbo_scope`` argument.
    """

    def __init__(self, tokens: list[Token], loop_names: tuple[str, ...] = ()):
        self.tokens = tokens
        self.index = 0
        self.loop_names = loop_names

    # -- token helpers
    def peek(self, offset: int = 0) -> Token | None:
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, value: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind in ("op", "name") and token.value == value

    def advance(self) -> Token:
        token = self.peek()
        if token is None:
            raise PebbleSyntaxError("unexpected end of expression")
        self.index += 1
        return token

    def expect(self, value: str) -> Token:
        if not self.at(value):
            raise PebbleSyntaxError(f"expected `{value}` but found {self.describe()}")
        return self.advance()

    def expect_name(self) -> str:
        token = self.peek()
        if token is None or token.kind != "name" or not isinstance(token.value, str):
            raise PebbleSyntaxError(f"expected a name but found {self.describe()}")
        self.index += 1
        return token.value

    def describe(self) -> str:
        token = self.peek()
        if token is None:
            return "the end of the expression"
        return f"`{token.value}`" if token.kind in ("op", "name") else f"{token.kind} {token.value!r}"

    def done(self) -> bool:
        return self.index >= len(self.tokens)

    def finish(self) -> None:
        if not self.done():
            raise PebbleSyntaxError(f"unexpected {self.describe()}")

    # -- expressions
    def parse_all(self) -> str:
        """The whole token list as one expression."""
        if self.done():
            raise PebbleSyntaxError("empty expression")
        result = self.expression()
        self.finish()
        return result

    def expression(self, min_precedence: int = 0) -> str:
        left = self.unary()
        while True:
            op = self.binary_operator()
            if op is None or _PRECEDENCE[op] < min_precedence:
                break
            self.advance()
            left = self.binary(op, left)
        if min_precedence == 0 and self.at("?"):
            self.advance()
            when_true = self.expression()
            self.expect(":")
            when_false = self.expression()
            left = f"({when_true} if {left} else {when_false})"
        return left

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "op" and token.value in _PRECEDENCE:
            return token.value
        if token.kind == "name" and token.value in _KEYWORD_OPS:
            return token.value
        return None

    def binary(self, op: str, left: str) -> str:
        precedence = _PRECEDENCE[op]
        if op == "|":
            return self.filter(left)
        if op == "is":
            return self.test(left)
        if op in ("??", "???"):
            return self.coalesce(op, left, precedence)
        right = self.expression(precedence + 1)
        if op in ("and", "or"):
            return f"(not (not ({left} {op} {right})))"
        if op == "!=":
            return f"(not ({left}|_nbo_eq({right})))"
        if op in _HELPER_OPS:
            return f"({left}|{_HELPER_OPS[op]}({right}))"
        return f"({left} {op} {right})"

    def coalesce(self, op: str, left: str, precedence: int) -> str:
        """``a ?? b ?? c`` as nested lazy conditionals (each operand read at most twice)."""
        operands = [left, self.expression(precedence + 1)]
        while self.at(op):
            self.advance()
            operands.append(self.expression(precedence + 1))
        test = "is not null" if op == "??" else "is defined"
        result = operands[-1]
        for operand in reversed(operands[:-1]):
            result = f"({operand} if ({operand} {test}) else {result})"
        return result

    def filter(self, left: str) -> str:
        name = self.expect_name()
        args = self.call_arguments() if self.at("(") else ""
        return f"({left}|{name}{args})"

    def test(self, left: str) -> str:
        negate = "not " if self.at("not") else ""
        if negate:
            self.advance()
        name = self.expect_name()
        args = self.call_arguments() if self.at("(") else ""
        return f"({left} is {negate}{name}{args})"

    def unary(self) -> str:
        if self.at("not"):
            self.advance()
            return f"(not {self.unary()})"
        token = self.peek()
        if token is not None and token.kind == "op" and token.value in ("-", "+"):
            self.advance()
            return f"({token.value}{self.unary()})"
        return self.postfix()

    def postfix(self) -> str:
        node = self.primary()
        while True:
            if self.at("."):
                self.advance()
                node = self.attribute(node)
            elif self.at("["):
                self.advance()
                key = self.expression()
                self.expect("]")
                node = f"{node}[{key}]"
            elif self.at("("):
                arguments = self.call_arguments(scoped=node in _SCOPED_FUNCTIONS)
                node = f"{_function_name(node)}{arguments}"
            else:
                return node

    def attribute(self, node: str) -> str:
        token = self.advance()
        if token.kind == "name":
            return f"{node}.{token.value}"
        if token.kind == "int":
            return f"{node}[{token.value}]"
        raise PebbleSyntaxError(f"expected an attribute name after `.` but found {token.value!r}")

    def primary(self) -> str:
        token = self.advance()
        if token.kind in ("int", "float", "str"):
            return repr(token.value)
        if token.kind == "istr" and isinstance(token.value, list):
            return self.interpolation(token.value)
        if token.kind == "name" and isinstance(token.value, str):
            return self.name(token.value)
        if token.value == "(":
            inner = self.expression()
            self.expect(")")
            return f"({inner})"
        if token.value == "[":
            return "[" + ", ".join(self.sequence("]")) + "]"
        if token.value == "{":
            return "{" + ", ".join(self.sequence("}", self.map_entry)) + "}"
        raise PebbleSyntaxError(f"unexpected `{token.value}`")

    def name(self, name: str) -> str:
        if name in _LITERALS:
            return _LITERALS[name]
        if name in RESERVED_NAMES:
            return MISSING_PREFIX + name
        if name == "loop":
            return "(loop|_nbo_loop)"
        return name

    def interpolation(self, parts: list[str | list[Token]]) -> str:
        pieces = [repr(p) if isinstance(p, str) else Parser(p, self.loop_names).parse_all() for p in parts]
        result = "''"
        for piece in pieces:
            result = f"({result}|_nbo_concat({piece}))"
        return result

    def sequence(self, closer: str, item=None) -> list[str]:
        item = item or self.expression
        items: list[str] = []
        while not self.at(closer):
            items.append(item())
            if not self.at(closer):
                self.expect(",")
        self.expect(closer)
        return items

    def map_entry(self) -> str:
        key = self.expression()
        self.expect(":")
        return f"{key}: {self.expression()}"

    def call_arguments(self, scoped: bool = False) -> str:
        self.expect("(")
        arguments = self.sequence(")", self.argument)
        if scoped and self.loop_names:
            names = ", ".join(f"{name!r}: {name}" for name in self.loop_names)
            arguments.append(f"_nbo_scope={{{names}, 'loop': (loop|_nbo_loop)}}")
        return "(" + ", ".join(arguments) + ")"

    def argument(self) -> str:
        token = self.peek()
        if token is not None and token.kind == "name" and self.at("=", 1):
            self.index += 2
            return f"{token.value}={self.expression()}"
        return self.expression()


# --------------------------------------------------------------------------- lint


def hyphen_hint(tokens: list[Token], source: str) -> str:
    """Suggest bracket access for ``outputs.my-task.value`` (read as a subtraction)."""
    for i in range(len(tokens)):
        if not _is_glued_hyphen(tokens, i):
            continue
        start = _path_start(tokens, i - 1)
        end = i + 1
        while _is_glued_hyphen(tokens, end + 1):
            end += 2
        tail = end
        while tail + 2 < len(tokens) and _is_op(tokens[tail + 1], ".") and tokens[tail + 2].kind == "name":
            tail += 2
        head = source[tokens[start].start:tokens[i - 2].start]
        key = source[tokens[i - 1].start:tokens[end].end]
        rest = source[tokens[end].end:tokens[tail].end]
        written = source[tokens[start].start:tokens[tail].end]
        return f"an id containing '-' needs brackets: write `{head}['{key}']{rest}` instead of `{written}`"
    return ""


def _is_op(token: Token, value: str) -> bool:
    return token.kind == "op" and token.value == value


def _is_glued_hyphen(tokens: list[Token], i: int) -> bool:
    """``tokens[i]`` is a ``-`` glued to names on both sides, the left one read with ``.``."""
    if not 2 <= i < len(tokens) - 1:
        return False
    before, hyphen, after = tokens[i - 1], tokens[i], tokens[i + 1]
    return (_is_op(hyphen, "-") and _is_op(tokens[i - 2], ".")
            and before.kind == "name" and after.kind in ("name", "int")
            and before.end == hyphen.start and hyphen.end == after.start)


def _path_start(tokens: list[Token], i: int) -> int:
    while i >= 2 and _is_op(tokens[i - 1], ".") and tokens[i - 2].kind == "name":
        i -= 2
    return i


# --------------------------------------------------------------------------- templates


class _Translator:
    """Walks a Pebble template and builds its Jinja2 translation."""

    def __init__(self, source: str):
        self.source = source
        self.out: list[str] = []
        self.tags: list[Tag] = []
        self.prints: list[str] = []
        self.plain: list[str] = []
        self.loops: list[list[str]] = []
        self.other_tags = 0
        self.line = 1
        self.pos = 0

    def run(self) -> Translation:
        while True:
            match = _OPEN.search(self.source, self.pos)
            if match is None:
                self.text(len(self.source))
                break
            self.text(match.start())
            kind = self.source[match.start() + 1]
            if kind == "#":
                self.comment(match.start())
            else:
                self.tag(match.start(), kind)
        translation = Translation("".join(self.out), self.tags)
        if len(self.prints) == 1 and not self.other_tags and not "".join(self.plain).strip():
            translation.single_expression = self.prints[0]
        return translation

    def text(self, end: int) -> None:
        chunk = self.source[self.pos:end]
        if chunk:
            self.out.append(chunk)
            self.plain.append(chunk)
            self.line += chunk.count("\n")
        self.pos = end

    def comment(self, start: int) -> None:
        end = self.source.find("#}", start + 2)
        if end < 0:
            raise PebbleSyntaxError("unclosed comment `{#`", self.source[start:start + 40], self.line)
        self.other_tags += 1
        self.out.append(self.source[start:end + 2])
        self.line += self.source.count("\n", start, end)
        self.pos = end + 2

    def tag(self, start: int, kind: str) -> None:
        trim = "-" if self.source.startswith("-", start + 2) else ""
        body = start + 2 + len(trim)
        closers = _PRINT_CLOSE if kind == "{" else _TAG_CLOSE
        try:
            tokens, end, closer = tokenize(self.source, body, closers)
        except PebbleSyntaxError as exc:
            raise PebbleSyntaxError(str(exc), self.source[start:start + 80], self.line) from None
        text = self.source[start:end]
        newlines = "\n" * text.count("\n")
        tag = Tag(self.line, self.line + text.count("\n"), text, hyphen_hint(tokens, self.source))
        self.tags.append(tag)
        self.line = tag.last_line
        self.pos = end
        try:
            if kind == "{":
                expression = self.parser(tokens).parse_all()
                self.prints.append(expression)
                self.out.append(f"{{{{{trim} {expression}{newlines} {closer}")
            else:
                self.other_tags += 1
                self.statement(tokens, trim, closer, newlines, end)
        except PebbleSyntaxError as exc:
            raise PebbleSyntaxError(str(exc), text, tag.first_line) from None

    def statement(self, tokens: list[Token], trim: str, closer: str, newlines: str, end: int) -> None:
        parser = self.parser(tokens)
        name = parser.expect_name()
        if name in _BLOCK_TAGS:
            parser.finish()
            if name == "raw":  # Kestra takes raw blocks out before Pebble runs: their "-" trims nothing
                trim, closer = "", "%}"
            self.block(name, f"{{%{trim} raw{newlines} {closer}", end)
            return
        body = self.statement_body(name, parser)
        self.out.append(f"{{%{trim} {body}{newlines} {closer}")

    def parser(self, tokens: list[Token]) -> Parser:
        return Parser(tokens, tuple(dict.fromkeys(name for names in self.loops for name in names)))

    def statement_body(self, name: str, parser: Parser) -> str:
        if name in ("if", "elseif", "elif"):
            return ("if " if name == "if" else "elif ") + parser.parse_all()
        if name in _PASS_TAGS:
            parser.finish()
            if name == "endfor" and self.loops:
                self.loops.pop()
            return name
        if name == "for":
            return self.for_tag(parser)
        if name == "set":
            target = _target(parser.expect_name())
            parser.expect("=")
            return f"set {target} = {parser.parse_all()}"
        if name == "filter":
            return "filter " + self.filter_chain(parser)
        if name == "macro":
            return self.macro(parser)
        if name == "block":  # {% block post %} or {% block "post" %}; block("post") prints it again
            token = parser.peek()
            if token is not None and token.kind == "str" and isinstance(token.value, str):
                parser.advance()
                block = block_name(token.value)
            else:
                block = block_name(parser.expect_name())
            parser.finish()
            return f"block {block}"
        raise PebbleSyntaxError(f"unsupported tag `{name}`")

    def for_tag(self, parser: Parser) -> str:
        targets = [_target(parser.expect_name())]
        while parser.at(","):
            parser.advance()
            targets.append(_target(parser.expect_name()))
        parser.expect("in")
        iterable = parser.parse_all()
        self.loops.append(targets)
        return f"for {', '.join(targets)} in ({iterable})|_nbo_iter"

    @staticmethod
    def filter_chain(parser: Parser) -> str:
        filters = []
        while True:
            name = parser.expect_name()
            filters.append(name + (parser.call_arguments() if parser.at("(") else ""))
            if parser.done():
                return "|".join(filters)
            parser.expect("|")

    @staticmethod
    def macro(parser: Parser) -> str:
        name = parser.expect_name()
        parser.expect("(")
        params = []
        while not parser.at(")"):
            param = _target(parser.expect_name())
            if parser.at("="):
                parser.advance()
                param += "=" + parser.expression()
            params.append(param)
            if not parser.at(")"):
                parser.expect(",")
        parser.expect(")")
        parser.finish()
        return f"macro {name}({', '.join(params)})"

    def block(self, name: str, opening: str, body_start: int) -> None:
        """``{% raw %}``/``{% verbatim %}``: content copied untouched inside a Jinja raw block."""
        end_tag = re.compile(r"\{%(-?)\s*" + _BLOCK_TAGS[name] + r"\s*(-?)%\}")
        match = end_tag.search(self.source, body_start)
        if match is None:
            raise PebbleSyntaxError(f"missing `{{% {_BLOCK_TAGS[name]} %}}`")
        content = self.source[body_start:match.start()]
        newlines = "\n" * match.group().count("\n")
        before, after = ("", "") if name == "raw" else (match.group(1), match.group(2))
        self.out.append(f"{opening}{content}{{%{before} endraw{newlines} {after}%}}")
        self.line += self.source.count("\n", body_start, match.end())
        self.pos = match.end()


FUNCTION_PREFIX = "nbo_fn_"


def _function_name(node: str) -> str:
    """Pebble's functions live apart from variables (``yaml(yaml)`` works; a function wins over a
    macro): a call of a known function names its ``nbo_fn_`` global, which no variable hides."""
    from nb_orchestra.expressions.functions import FUNCTIONS  # that module imports this one

    return FUNCTION_PREFIX + node if node in FUNCTIONS else node


def block_name(name: str) -> str:
    """The Jinja2 name of a Pebble block (any text is a valid Pebble block name)."""
    if _NAME.fullmatch(name) and not name.startswith("nbo_"):
        return name
    return "nbo_block_" + name.encode().hex()


def _target(name: str) -> str:
    if name in RESERVED_NAMES or name in _LITERALS or name == "loop":
        raise PebbleSyntaxError(f"`{name}` cannot be assigned")
    return name


def translate(source: str) -> Translation:
    """Translate a Pebble template into Jinja2 source (raises :class:`PebbleSyntaxError`)."""
    return _Translator(source).run()
