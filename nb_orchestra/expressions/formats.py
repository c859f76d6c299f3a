"""Kestra's ``yaml`` and ``toIon`` filters and the ``fromIon`` function, as Kestra writes and reads them.

``yaml`` follows Kestra's Jackson YAML writer (SnakeYAML underneath): no ``---`` and no ``...``
document markers, quotes only where needed (``"true"``, ``"[a]"``, ``"a: b"`` keep theirs,
``a:b`` does not), sequences indented by one space (``INDENT_ARRAYS``: `` - a``), a map inside a
sequence starting on the line after its ``-``, multi-line text as a literal block (``|-``).

``toIon`` writes compact Ion text as Kestra's Ion mapper does: ``{a:1,b:"x"}``, doubles as
``1.5e0``, instants as Ion timestamps, zoned date-times annotated ``ZonedDateTime::"..."``.
``fromIon`` reads Ion text (structs, lists, s-expressions, strings, symbols, numbers,
timestamps, annotations, comments); blobs and clobs are refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from typing import Any

from nb_orchestra.durations import format_duration
from nb_orchestra.expressions.dates import format_instant, offset_id
from nb_orchestra.expressions.printing import format_time, java_double

# ---------------------------------------------------------------------------------------------
# Java date-time texts


def _fraction(micros: int) -> str:
    return f".{micros:06d}".rstrip("0") if micros else ""


def iso_local_date_time(dt: datetime) -> str:
    """``ISO_LOCAL_DATE_TIME``: seconds always, the fraction as long as needed."""
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
            f"{_fraction(dt.microsecond)}")


def iso_offset_date_time(dt: datetime) -> str:
    """``ISO_OFFSET_DATE_TIME``: ``2013-09-08T16:19:00+02:00``."""
    return iso_local_date_time(dt) + offset_id(dt)


def is_instant(dt: datetime) -> bool:
    """A UTC datetime stands for a Java ``Instant``; another offset for a ``ZonedDateTime``."""
    offset = dt.utcoffset()
    return offset is not None and not offset and getattr(dt.tzinfo, "key", "UTC") in ("UTC", "Etc/UTC")


def zoned_date_time_text(dt: datetime) -> str:
    """Java ``ZonedDateTime.toString()``: ``2013-09-08T16:19+02:00``, ``...:05.120+02:00[Europe/Paris]``."""
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}"
    if dt.second or dt.microsecond:
        text += f":{dt.second:02d}"
    if dt.microsecond:
        micros = dt.microsecond
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    zone = getattr(dt.tzinfo, "key", None)
    return text + offset_id(dt) + (f"[{zone}]" if zone else "")


def _date_text(value: Any) -> str | None:
    """Text Jackson writes for a date, time or duration (None for other values)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return iso_local_date_time(value)
        return format_instant(value) if is_instant(value) else iso_offset_date_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return format_time(value) if value.tzinfo is None else format_time(value) + offset_id(
            datetime.combine(date(2000, 1, 1), value))
    if isinstance(value, timedelta):
        return format_duration(value)
    return None


# ---------------------------------------------------------------------------------------------
# YAML

_RESERVED = frozenset("""false False FALSE n N no No NO null Null NULL on On ON off Off OFF
                        true True TRUE y Y yes Yes YES ~""".split())
_NUMBER_LIKE = re.compile(r"[-+.]?[0-9]")  # how Jackson sees a key that reads as a number
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_PRINTABLE = re.compile(r"[\x09\x0a\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def _needs_quotes(text: str, key: bool) -> bool:
    """Jackson's ``StringQuotingChecker`` with ``MINIMIZE_QUOTES``."""
    if not text or text in _RESERVED:
        return True
    if key:
        return bool(_NUMBER_LIKE.match(text))
    for i, char in enumerate(text):
        if char in "[]{},":
            return True
        if char == "#" and (i == 0 or text[i - 1].isspace()):
            return True
        if char == ":" and (i == len(text) - 1 or text[i + 1].isspace()):
            return True
    return False


def _plain_allowed(text: str) -> bool:
    """Whether SnakeYAML may print the text without quotes (else it picks quotes itself)."""
    if text[0].isspace() or text[-1].isspace() or not _PRINTABLE.fullmatch(text) or "\t" in text:
        return False
    first = text[0]
    if first in _INDICATORS and not (first in "-?:" and len(text) > 1 and not text[1].isspace()):
        return False
    return ": " not in text and " #" not in text and not text.endswith(":")


def _double_quoted(text: str) -> str:
    return encode_basestring(text)


def _yaml_string(text: str, key: bool, indent: int) -> str:
    if "\n" in text and not key:
        return _literal(text, indent)
    if _needs_quotes(text, key) or not _PRINTABLE.fullmatch(text):
        return _double_quoted(text)
    if _plain_allowed(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _literal(text: str, indent: int) -> str:
    chomp = "-" if not text.endswith("\n") else ("+" if text.endswith("\n\n") or text == "\n" else "")
    hint = "2" if text[0] in " \n" else ""
    body = text[:-1] if text.endswith("\n") else text
    pad = " " * (indent + 2)
    lines = "\n".join(pad + line if line else "" for line in body.split("\n"))
    return f"|{hint}{chomp}\n{lines}"


def _yaml_scalar(value: Any, indent: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return _yaml_string(value, False, indent)
    if isinstance(value, Enum):
        return _yaml_string(value.name, False, indent)
    text = _date_text(value)
    if text is None:
        raise ValueError(f"Unable to transform to yaml value '{value}' with type '{type(value).__name__}'")
    return _yaml_string(text, False, indent)


def _is_block(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple, set, frozenset)) and len(value) > 0


def _yaml_lines(value: Any, indent: int, out: list[str], prefix: str) -> None:
    """Append ``value`` written at ``indent``; ``prefix`` is what its first line starts with."""
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        first = True
        for key, item in value.items():
            key_text = _yaml_string(key if isinstance(key, str) else _key(key), True, indent)
            lead = pad
            if first and prefix:
                out.append(prefix.rstrip())  # SnakeYAML breaks the line after a sequence's "-"
            first = False
            if isinstance(item, Mapping) and item:
                out.append(f"{lead}{key_text}:")
                _yaml_lines(item, indent + 2, out, "")
            elif _is_block(item):
                out.append(f"{lead}{key_text}:")
                _yaml_lines(item, indent, out, "")
            else:
                out.append(f"{lead}{key_text}: {_flow_or_scalar(item, indent)}")
        return
    if _is_block(value):
        first = True
        for item in value:
            if first and prefix:
                out.append(prefix.rstrip())
            first = False
            if _is_block(item):
                _yaml_lines(item, indent + 2, out, f"{pad} - ")
            else:
                out.append(f"{pad} - {_flow_or_scalar(item, indent)}")
        return
    out.append(prefix + _flow_or_scalar(value, indent))


def _flow_or_scalar(value: Any, indent: int) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[]"
    return _yaml_scalar(value, indent)


def _key(key: Any) -> str:
    from nb_orchestra.expressions.printing import java_string

    return java_string(key)


def to_yaml(value: Any) -> str:
    """The ``yaml`` filter: Kestra's YAML text of a value (``null`` for null, without a newline)."""
    if value is None:
        return "null"
    out: list[str] = []
    _yaml_lines(value, 0, out, "")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Ion: writing

_ION_KEYWORDS = frozenset({"null", "true", "false", "nan"})
_ION_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _ion_symbol(text: str) -> str:
    if _ION_IDENTIFIER.fullmatch(text) and text not in _ION_KEYWORDS and not re.fullmatch(r"\$[0-9]+", text):
        return text
    return "'" + encode_basestring(text)[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"


def _ion_double(number: float) -> str:
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "+inf" if number > 0 else "-inf"
    text = java_double(number)
    if "E" in text:
        mantissa, exponent = text.split("E")
        return f"{mantissa.removesuffix('.0')}e{exponent}"
    return f"{text.removesuffix('.0')}e0"


def _ion_timestamp(dt: datetime) -> str:
    """``Timestamp.forDateZ``: milliseconds, UTC."""
    dt = dt.astimezone(timezone.utc)
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
            f".{dt.microsecond // 1000:03d}Z")


def to_ion(value: Any) -> str:
    """The ``toIon`` filter: compact Ion text (``null`` for null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _ion_double(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else text + "."
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, Enum):
        return encode_basestring(value.name)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_ion_symbol(k if isinstance(k, str) else _key(k))}:{to_ion(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ",".join(to_ion(item) for item in value) + "]"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return f'LocalDateTime::"{iso_local_date_time(value)}"'
        if is_instant(value):
            return _ion_timestamp(value)
        zone = getattr(value.tzinfo, "key", None)
        return f'ZonedDateTime::"{iso_offset_date_time(value)}{f"[{zone}]" if zone else ""}"'
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return f'LocalTime::"{format_time(value)}"'
    if isinstance(value, timedelta):
        return encode_basestring(format_duration(value))
    raise ValueError(f"Unable to transform to ion value '{value}' with type '{type(value).__name__}'")


# ---------------------------------------------------------------------------------------------
# Ion: reading

_ION_TOKEN = re.compile(r"""
    (?P<space>(?:\s+|//[^\n]*|/\*.*?\*/)+)
  | (?P<ts>\d{4}T|\d{4}-\d{2}T|\d{4}-\d{2}-\d{2}(?:T(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)?)
  | (?P<number>[-+]inf|nan|-?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eEdD][-+]?\d+)?))
  | (?P<long>'''(?:[^'\\]|\\.|'(?!''))*''')
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<qsymbol>'(?:[^'\\\n]|\\.)*')
  | (?P<symbol>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<blob>\{\{)
  | (?P<punct>::|[{}\[\](),:])
  | (?P<operator>[!#%&*+\-./;<=>?@^`|~]+)
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "/": "/", "'": "'", '"': '"', "?": "?", "\n": ""}


class IonError(ValueError):
    """Text that is not valid Ion."""


def _unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise IonError(f"bad escape \\{nxt}{digits}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise IonError(f"bad escape \\{nxt}")
    return "".join(out)


class _IonReader:
    def __init__(self, text: str):
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            match = _ION_TOKEN.match(text, pos)
            if match is None:
                raise IonError(f"unexpected character {text[pos]!r} at offset {pos}")
            kind = match.lastgroup or ""
            if kind == "blob":
                raise IonError("blobs and clobs are not supported")
            if kind != "space":
                self.tokens.append((kind, match.group(), pos))
            pos = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise IonError("unexpected end of input")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        kind, text, pos = self.next()
        if text != value or kind not in ("punct",):
            raise IonError(f"expected '{value}' but found '{text}' at offset {pos}")

    def value(self) -> Any:
        annotations = []
        while True:
            token = self.peek()
            after = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if token and token[0] in ("symbol", "qsymbol") and after and after[1] == "::":
                annotations.append(self.symbol_text(token))
                self.index += 2
                continue
            break
        value = self.bare_value()
        if annotations and isinstance(value, str):
            return _annotated(annotations[0], value)
        return value

    @staticmethod
    def symbol_text(token: tuple[str, str, int]) -> str:
        return token[1] if token[0] == "symbol" else _unescape(token[1][1:-1])

    def bare_value(self) -> Any:
        kind, text, pos = self.next()
        if kind == "punct" and text == "{":
            return self.struct()
        if kind == "punct" and text in "[(":
            return self.sequence("]" if text == "[" else ")")
        if kind == "string":
            return _unescape(text[1:-1])
        if kind == "long":
            parts = [_unescape(text[3:-3])]
            while (token := self.peek()) is not None and token[0] == "long":
                parts.append(_unescape(self.next()[1][3:-3]))
            return "".join(parts)
        if kind == "qsymbol":
            return _unescape(text[1:-1])
        if kind == "symbol":
            if text == "null":
                following = self.peek()
                if following is not None and following[0] == "operator" and following[1] == ".":
                    self.index += 2  # a typed null: null.string
                return None
            if text in ("true", "false"):
                return text == "true"
            if text == "nan":
                return math.nan
            return text
        if kind == "number":
            return _ion_number(text, pos)
        if kind == "ts":
            return _ion_timestamp_value(text)
        raise IonError(f"unexpected '{text}' at offset {pos}")

    def struct(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            token = self.peek()
            if token is not None and token[1] == "}":
                self.index += 1
                return result
            kind, text, pos = self.next()
            if kind in ("symbol", "qsymbol"):
                name = self.symbol_text((kind, text, pos))
            elif kind in ("string", "long"):
                name = _unescape(text[1:-1] if kind == "string" else text[3:-3])
            else:
                raise IonError(f"expected a field name but found '{text}' at offset {pos}")
            self.expect(":")
            result[name] = self.value()
            token = self.peek()
            if token is not None and token[1] == ",":
                self.index += 1
            elif token is None or token[1] != "}":
                raise IonError(f"expected ',' or '}}' but found {token[1] if token else 'the end'!r}")

    def sequence(self, closer: str) -> list[Any]:
        items: list[Any] = []
        while True:
            token = self.peek()
            if token is not None and token[1] == closer:
                self.index += 1
                return items
            if closer == ")" and token is not None and token[0] == "operator":
                items.append(self.next()[1])
                continue
            items.append(self.value())
            token = self.peek()
            if closer == "]":
                if token is not None and token[1] == ",":
                    self.index += 1
                elif token is None or token[1] != "]":
                    raise IonError(f"expected ',' or ']' but found {token[1] if token else 'the end'!r}")


def _ion_number(text: str, pos: int) -> Any:
    if text in ("+inf", "-inf"):
        return math.inf if text[0] == "+" else -math.inf
    if text == "nan":
        return math.nan
    clean = text.replace("_", "")
    try:
        if clean.lower().startswith(("0x", "-0x")):
            return int(clean, 16)
        if clean.lower().startswith(("0b", "-0b")):
            return int(clean, 2)
        if "e" in clean.lower():
            return float(clean)
        if "d" in clean.lower() or "." in clean:
            return Decimal(clean.lower().replace("d", "e"))
        return int(clean)
    except (ValueError, ArithmeticError):
        raise IonError(f"invalid number '{text}' at offset {pos}") from None


def _ion_timestamp_value(text: str) -> Any:
    """An Ion timestamp: a date when it has no time (or is UTC midnight), else an aware datetime."""
    if text.endswith("T"):
        text = text[:-1]
    if len(text) <= 10:
        parts = [int(p) for p in text.split("-")] + [1, 1]
        return date(parts[0], parts[1], parts[2])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.utcoffset() == timedelta(0):
        moment = moment.astimezone(timezone.utc)
        if moment.time() == time(0):
            return moment.date()
    return moment


def _annotated(annotation: str, text: str) -> Any:
    """Kestra's typed strings: ``ZonedDateTime::"..."`` and friends become dates again."""
    try:
        if annotation in ("ZonedDateTime", "OffsetDateTime"):
            return datetime.fromisoformat(re.sub(r"\[.*\]$", "", text).replace("Z", "+00:00"))
        if annotation == "Instant":
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
        if annotation == "LocalDateTime":
            return datetime.fromisoformat(text)
        if annotation == "LocalDate":
            return date.fromisoformat(text)
        if annotation in ("LocalTime", "OffsetTime"):
            return time.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IonError(f"invalid {annotation} '{text}'") from None
    return text


def from_ion(ion: Any = ...) -> Any:
    """``fromIon(ion)``: the value of Ion text (several top-level values give a list); null gives null."""
    if ion is ...:
        raise ValueError("The 'fromIon' function expects an argument 'ion'.")
    if ion is None:
        return None
    if not isinstance(ion, str):
        raise ValueError("The 'fromIon' function expects an argument 'ion' with type string.")
    try:
        reader = _IonReader(ion)
        values = []
        while reader.peek() is not None:
            values.append(reader.value())
    except (IonError, RecursionError) as error:
        raise ValueError(f"Invalid ion: {error}") from None
    if not values:
        return None
    return values[0] if len(values) == 1 else values
