"""Kestra's filters (Pebble core + Kestra extension) as plain Python functions.

Each filter is ``f(value, *args, **kwargs)`` with Kestra semantics, which differ from Jinja2's
built-ins of the same name (``default``, ``replace``, ``split``, ``slice``, ``title``, ...).
Keyword names follow Kestra (``timeZone``, ``existingFormat``).  Most filters give None for a
None input, as Kestra's do.  Only ``default`` accepts an undefined value; every other filter
raises on one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any, NamedTuple

from jinja2 import Undefined

from nb_orchestra.expressions import patterns

# Dates (Java patterns, time zones), YAML/Ion writers and jq are imported by the filters that use
# them: a template that never formats a date loads none of them.

_JAVA_SPACE = "".join(chr(code) for code in range(33))  # what Java's String.trim() removes


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _type_name(value: Any) -> str:
    return type(value).__name__


def _java_str(value: Any) -> str:
    """How Java's ``toString`` would show a value: ``true``, ``null``, JSON for containers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return to_json(value)
    if isinstance(value, datetime):
        return _instant_text(value)
    return str(value)


def _need_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name}: expects a string, got {_type_name(value)} '{_java_str(value)}'")
    return value


# ---------------------------------------------------------------------------------------------
# Strings

def abbreviate(value: Any, length: int) -> str | None:
    """Cut to ``length`` characters including a trailing ``...`` (Pebble's rules)."""
    if value is None:
        return None
    text = _need_str("abbreviate", value)
    if length < 0:
        raise ValueError("abbreviate: the length must be greater than zero")
    if len(text) < length or len(text) <= 3:
        return text
    if length <= 3:
        return text[:length]
    return text[:length - 3] + "..."


def _title_char(char: str) -> str:
    titled = char.title()
    return titled if len(titled) == 1 else char


def capitalize(value: Any) -> str | None:
    """Upper-case the first non-blank character; the rest is unchanged."""
    if value is None:
        return None
    text = _need_str("capitalize", value)
    stripped = text.lstrip()
    if not stripped:
        return text
    start = len(text) - len(stripped)
    return text[:start] + _title_char(stripped[0]) + stripped[1:]


def title(value: Any) -> str | None:
    """Upper-case each first letter after whitespace; nothing is lower-cased."""
    if value is None:
        return None
    text = _need_str("title", value)
    out, capital_next = [], True
    for char in text:
        if char.isspace():
            capital_next = True
        elif capital_next:
            char, capital_next = _title_char(char), False
        out.append(char)
    return "".join(out)


def upper(value: Any) -> str | None:
    """Upper-case a string."""
    return None if value is None else _need_str("upper", value).upper()


def lower(value: Any) -> str | None:
    """Lower-case a string."""
    return None if value is None else _need_str("lower", value).lower()


def trim(value: Any) -> str | None:
    """Strip leading and trailing spaces and control characters (Java ``trim``)."""
    return None if value is None else _need_str("trim", value).strip(_JAVA_SPACE)


def base64encode(value: Any) -> str | None:
    """UTF-8 text -> base64."""
    if value is None:
        return None
    return base64.b64encode(_need_str("base64encode", value).encode("utf-8")).decode("ascii")


def base64decode(value: Any) -> str | None:
    """Base64 -> UTF-8 text."""
    if value is None:
        return None
    text = _need_str("base64decode", value)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"base64decode: '{text}' is not base64 text of UTF-8 bytes") from None


def urlencode(value: Any) -> str | None:
    """Form encoding as Java's ``URLEncoder``: space -> ``+``, keeps only ``A-Za-z0-9.-*_``."""
    if value is None:
        return None
    return urllib.parse.quote_plus(_need_str("urlencode", value), safe="*").replace("~", "%7E")


def urldecode(value: Any) -> str | None:
    """Form decoding: ``+`` -> space, ``%XX`` -> UTF-8."""
    return None if value is None else urllib.parse.unquote_plus(_need_str("urldecode", value))


def _digest(algorithm: str) -> Callable[[Any], str | None]:
    def digest(value: Any) -> str | None:
        if value is None:
            return None
        return hashlib.new(algorithm, _need_str(algorithm, value).encode("utf-8")).hexdigest()

    digest.__name__ = algorithm
    digest.__doc__ = f"Lower-case hex {algorithm} of the UTF-8 text."
    return digest


def slugify(value: Any) -> str | None:
    """``Hello World!`` -> ``hello-world`` (accents dropped, ``_`` and blanks -> ``-``)."""
    if value is None:
        return None
    text = unicodedata.normalize("NFD", re.sub(r"\s", "-", _java_str(value)))
    slug = re.sub(r"[^\w-]", "", text, flags=re.ASCII).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug)
    return slug.removeprefix("-").removesuffix("-").lower()


def substringBefore(value: Any, separator: str) -> str | None:  # noqa: N802
    """Text before the first ``separator`` (all of it when absent)."""
    if value is None:
        return None
    text = _java_str(value)
    if not text:
        return text
    if separator == "":
        return ""
    return text.split(separator, 1)[0]


def substringAfter(value: Any, separator: str) -> str | None:  # noqa: N802
    """Text after the first ``separator`` (empty when absent)."""
    if value is None:
        return None
    text = _java_str(value)
    position = text.find(separator)
    return "" if position < 0 else text[position + len(separator):]


def substringBeforeLast(value: Any, separator: str) -> str | None:  # noqa: N802
    """Text before the last ``separator`` (all of it when absent)."""
    if value is None:
        return None
    text = _java_str(value)
    if not separator or separator not in text:
        return text
    return text[:text.rindex(separator)]


def substringAfterLast(value: Any, separator: str) -> str | None:  # noqa: N802
    """Text after the last ``separator`` (empty when absent)."""
    if value is None:
        return None
    text = _java_str(value)
    if not separator or separator not in text:
        return "" if text else text
    return text[text.rindex(separator) + len(separator):]


def startsWith(value: Any, prefix: Any) -> bool:  # noqa: N802
    """Whether the text starts with ``prefix``."""
    return _java_str(value).startswith(_java_str(prefix))


def endsWith(value: Any, suffix: Any) -> bool:  # noqa: N802
    """Whether the text ends with ``suffix``."""
    return _java_str(value).endswith(_java_str(suffix))


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """Apply ``change`` to a string, or to every leaf of a map/list (leaves become text, as in Kestra)."""
    if isinstance(value, Mapping):
        return {key: _map_strings(item, change) for key, item in value.items()}
    if _is_list(value):
        return [_map_strings(item, change) for item in value]
    return None if value is None else change(_java_str(value))


_ESCAPES = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}


def escapeChar(value: Any, type: str) -> Any:  # noqa: N802, A002
    """Escape quotes: ``single`` (``\\'``), ``double`` (``\\"``), ``shell`` (``'\\''``)."""
    if value is None:
        return None
    escape = _ESCAPES.get(str(type).lower())
    if escape is None:
        raise ValueError("escapeChar: the type must be 'single', 'double' or 'shell'")
    return _map_strings(value, lambda text: text.replace(*escape))


def _line_separator(text: str) -> str:
    for separator in ("\r\n", "\n\r", "\n", "\r"):
        if separator in text:
            return separator
    return "\n"


def _indent(name: str, value: Any, amount: int, prefix: str, first_line: bool) -> str | None:
    if value is None:
        return None
    text = _java_str(value)
    if text == "":
        return text
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"{name}: the amount must be an integer >= 0, not '{amount}'")
    newline = _line_separator(text)
    if first_line:
        text = newline + text
    return text.replace(newline, newline + prefix * amount)


def indent(value: Any, amount: int, prefix: str = " ") -> str | None:
    """Indent every line but the first by ``amount`` times ``prefix``."""
    return _indent("indent", value, amount, prefix, first_line=False)


def nindent(value: Any, amount: int, prefix: str = " ") -> str | None:
    """Start with a newline, then indent every line by ``amount`` times ``prefix``."""
    return _indent("nindent", value, amount, prefix, first_line=True)


def string(value: Any) -> str | None:
    """Convert to text the way Kestra prints the value (``true``, JSON for containers)."""
    return None if value is None else _java_str(value)


# ---------------------------------------------------------------------------------------------
# Regex helpers: split and replace

def split(value: Any, delimiter: str, limit: int | None = None) -> list[str] | None:
    """Java ``String.split``: ``delimiter`` is a regex; limit 0/None drops trailing empty strings."""
    if value is None:
        return None
    text = _need_str("split", value)
    try:
        matches = patterns.finditer(_need_str("split", delimiter), text)
    except patterns.PatternError as error:
        raise ValueError(f"split: {error}") from None
    limit = 0 if limit is None else int(limit)
    parts: list[str] = []
    start = 0
    for match in matches:
        if limit > 0 and len(parts) == limit - 1:
            break
        if match.end() == 0:  # a zero-width match at the start never makes a leading ""
            continue
        parts.append(text[start:match.start()])
        start = match.end()
    if not parts:
        return [text]
    parts.append(text[start:])
    while limit == 0 and parts and parts[-1] == "":
        parts.pop()
    return parts


_JAVA_GROUP = re.compile(r"\\(.)|\$(\d)|\$\{(\w+)\}|(\$)", re.DOTALL)


class _GroupRef(NamedTuple):
    """A ``$1`` or ``${name}`` of a replacement: the group's number or name."""

    group: int | str


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """A Java ``replaceAll`` replacement (``$1``, ``${name}``, ``\\$``) as a match -> text function."""
    parts: list[str | _GroupRef] = []  # literal text or group reference
    position = 0
    for token in _JAVA_GROUP.finditer(replacement):
        parts.append(replacement[position:token.start()])
        escaped, group_number, group_name, lone_dollar = token.groups()
        if lone_dollar:
            raise ValueError(f"replace: illegal group reference in '{replacement}'")
        if escaped is not None:
            parts.append(escaped)
        else:
            parts.append(_GroupRef(int(group_number) if group_number else group_name))
        position = token.end()
    parts.append(replacement[position:])

    def expand(match: re.Match[str]) -> str:
        return "".join(part if isinstance(part, str) else (match.group(part.group) or "") for part in parts)

    return expand


def _replace_text(text: str, pairs: Mapping, regexp: bool) -> str:
    for search, replacement in pairs.items():
        search, replacement = _java_str(search), _java_str(replacement)
        if not regexp:
            text = text.replace(search, replacement)
            continue
        try:
            text = patterns.sub(search, _java_replacement(replacement), text)
        except patterns.PatternError as error:
            raise ValueError(f"replace: {error}") from None
        except IndexError:
            raise ValueError(f"replace: '{replacement}' refers to a group that '{search}' does not have") from None
    return text


def replace(value: Any, pairs: Any, *rest: Any, regexp: bool = False) -> Any:
    """``replace({'a': 'b'}, regexp=false)``; also ``replace('a', 'b')``. Maps and lists: every leaf."""
    if value is None:
        return None
    if isinstance(pairs, str):
        if not rest or not isinstance(rest[0], str):
            raise ValueError("replace: give a map {'search': 'replacement'} or two strings")
        pairs, rest = {pairs: rest[0]}, rest[1:]
    if not isinstance(pairs, Mapping):
        raise ValueError("replace: the argument must be a map {'search': 'replacement'}")
    if rest:
        regexp = rest[0]
    return _map_strings(value, lambda text: _replace_text(text, pairs, bool(regexp)))


# ---------------------------------------------------------------------------------------------
# Collections

def default(value: Any, fallback: Any = None) -> Any:
    """``fallback`` when the value is undefined, None, blank text or an empty list/map."""
    if isinstance(value, Undefined) or value is None:
        return fallback
    if isinstance(value, str) and not value.strip():
        return fallback
    if isinstance(value, (list, tuple, set, Mapping)) and len(value) == 0:
        return fallback
    return value


def _sequence(name: str, value: Any) -> list:
    if isinstance(value, Mapping) or isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name}: expects a list, got {_type_name(value)}")
    return list(value)


def first(value: Any) -> Any:
    """First element of a list, or first character of a string."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValueError("first: the string is empty")
        return value[0]
    items = _sequence("first", value)
    return items[0] if items else None


def last(value: Any) -> Any:
    """Last element of a list, or last character of a string."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValueError("last: the string is empty")
        return value[-1]
    items = _sequence("last", value)
    return items[-1] if items else None


def join(value: Any, separator: str | None = None) -> str | None:
    """Join the elements' text with ``separator`` (nothing by default)."""
    if value is None:
        return None
    return ("" if separator is None else str(separator)).join(_java_str(item) for item in _sequence("join", value))


def length(value: Any) -> int:
    """Size of a string, list or map; 0 for None and other values (as Pebble)."""
    try:
        return len(value)
    except TypeError:
        return 0


def merge(value: Any, items: Any) -> Any:
    """Lists concatenate; maps merge (later keys win); a list merged into a map adds item=item."""
    if value is None and items is None:
        raise ValueError("merge: both values are null")
    if value is None or items is None:
        return items if value is None else value
    if isinstance(value, Mapping):
        if isinstance(items, Mapping):
            return {**value, **items}
        if _is_list(items):
            return {**value, **{item: item for item in items}}
        raise ValueError(f"merge: a map can only be merged with a map or a list, not {_type_name(items)}")
    if _is_list(value):
        if _is_list(items):
            return [*value, *items]
        raise ValueError(f"merge: a list can only be merged with a list, not {_type_name(items)}")
    raise ValueError(f"merge: expects a map or a list, got {_type_name(value)}")


def reverse(value: Any) -> list | None:
    """The list in reverse order."""
    if value is None:
        return None
    if not _is_list(value):
        raise ValueError(f"reverse: expects a list, got {_type_name(value)}")
    return list(reversed(value))


def _sorted(name: str, value: Any, descending: bool) -> list | None:
    if value is None:
        return None
    if not _is_list(value):
        raise ValueError(f"{name}: expects a list, got {_type_name(value)}")
    try:
        return sorted(value, reverse=descending)
    except TypeError:
        raise ValueError(f"{name}: cannot compare the values of {_java_str(value)}") from None


def sort(value: Any) -> list | None:
    """The list in ascending order."""
    return _sorted("sort", value, descending=False)


def rsort(value: Any) -> list | None:
    """The list in descending order."""
    return _sorted("rsort", value, descending=True)


def slice_items(value: Any, fromIndex: int = 0, toIndex: int | None = None) -> Any:  # noqa: N803
    """Sub-list or substring from ``fromIndex`` (included) to ``toIndex`` (excluded)."""
    if value is None:
        return None
    if not isinstance(value, (str, list, tuple)):
        raise ValueError(f"slice: expects a string or a list, got {_type_name(value)}")
    start = 0 if fromIndex is None else fromIndex
    for name, index in (("fromIndex", start), ("toIndex", toIndex)):
        if index is not None and not _is_number(index):
            raise ValueError(f"slice: {name} must be a number, not '{index}'")
    start = int(start)
    if start < 0:
        raise ValueError("slice: fromIndex must be 0 or more")
    end = len(value) if toIndex is None else int(toIndex)
    if end > len(value):
        raise ValueError(f"slice: toIndex must not be greater than the size {len(value)}")
    if toIndex is not None and start >= end:
        raise ValueError("slice: toIndex must be greater than fromIndex")
    return value[start:end] if isinstance(value, str) else list(value[start:end])


def keys(value: Any) -> list | None:
    """Keys of a map; indices of a list."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.keys())
    if _is_list(value):
        return list(range(len(value)))
    raise ValueError(f"keys: expects a map or a list, got {_type_name(value)}")


def values(value: Any) -> list | None:
    """Values of a map."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.values())
    raise ValueError(f"values: expects a map, got {_type_name(value)}")


def flatten(value: Any) -> list | None:
    """Flatten one level of nested lists."""
    if value is None:
        return None
    if not _is_list(value):
        raise ValueError(f"flatten: expects a list, got {_type_name(value)}")
    return [inner for item in value for inner in (item if _is_list(item) else [item])]


def chunk(value: Any, size: int) -> list | None:
    """Split a list into sub-lists of ``size`` elements (the last may be shorter)."""
    if value is None:
        return None
    if not _is_list(value):
        raise ValueError(f"chunk: expects a list, got {_type_name(value)}")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"chunk: the size must be a positive integer, not '{size}'")
    return [list(value[start:start + size]) for start in range(0, len(value), size)]


def distinct(value: Any) -> list | None:
    """The list without duplicates, first occurrences kept in order."""
    if value is None:
        return None
    if not _is_list(value):
        raise ValueError(f"distinct: expects a list, got {_type_name(value)}")
    unique: list = []
    for item in value:
        if not any(item == seen and type(item) is type(seen) for seen in unique):
            unique.append(item)
    return unique


# ---------------------------------------------------------------------------------------------
# Numbers

def absolute(value: Any) -> Any:
    """Absolute value of a number."""
    if value is None:
        raise ValueError("abs: cannot take the absolute value of null")
    if not _is_number(value):
        raise ValueError(f"abs: expects a number, got {_type_name(value)} '{value}'")
    return -value if value < 0 else value


_INT_RANGES = {"INT": 2**31, "LONG": 2**63}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _parse_int(text: str, kind: str) -> int:
    cleaned = text.strip()
    if "_" in cleaned:
        raise ValueError("underscores are not allowed")
    value = int(cleaned, 16 if re.match(r"[+-]?0[xX]", cleaned) else 10)
    bound = _INT_RANGES.get(kind)
    if bound is not None and not -bound <= value < bound:
        raise ValueError(f"{value} is out of range for {kind}")
    return value


def _infer_number(text: str) -> int | float:
    """Like commons-lang ``NumberUtils.createNumber``: integers stay integers, else floating point."""
    cleaned = text.strip()
    if re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|\d+)[lL]?", cleaned):
        return _parse_int(cleaned.rstrip("lL"), "BIGINTEGER")
    if _NUMBER.fullmatch(cleaned.rstrip("fFdD")):
        return float(cleaned.rstrip("fFdD"))
    raise ValueError("not a number")


def number(value: Any, type: str | None = None) -> Any:  # noqa: A002
    """Parse text to a number: ``type`` INT, LONG, FLOAT, DOUBLE, BIGDECIMAL, BIGINTEGER, or inferred."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"number: can only be applied to a string, got {_type_name(value)}")
    kind = (type or "").upper()
    try:
        if kind in ("INT", "LONG", "BIGINTEGER"):
            return _parse_int(value, kind)
        if kind in ("FLOAT", "DOUBLE"):
            return float(value.strip().rstrip("fFdD"))
        if kind == "BIGDECIMAL":
            return Decimal(value.strip())
        if kind:
            raise ValueError(f"unknown type '{type}'")
        return _infer_number(value)
    except (ValueError, InvalidOperation) as error:
        raise ValueError(f"number: '{value}' is not a valid number ({error})") from None


@functools.lru_cache(maxsize=64)
def _decimal_format(pattern: str) -> tuple[str, str, int, int, int, int]:
    """Read a DecimalFormat pattern: prefix, suffix, min int digits, min/max fraction, grouping size."""
    match = re.fullmatch(r"([^#0,.]*)([#0,]*)(?:\.([#0]*))?([^#0,.]*)", pattern)
    if not match or any(char in pattern for char in "%‰¤E;'") or not (match.group(2) or match.group(3)):
        raise ValueError(f"numberFormat: unsupported pattern '{pattern}' (use #, 0, ',' and '.')")
    prefix, integer, fraction, suffix = match.group(1), match.group(2), match.group(3), match.group(4)
    min_int = integer.count("0")
    if "0" not in integer + (fraction or "") and fraction is not None:
        min_int = 1  # Java treats "#.##" like "#0.##"
    grouping = len(integer) - integer.rindex(",") - 1 if "," in integer else 0
    fraction = fraction or ""
    return prefix, suffix, min_int, fraction.count("0"), len(fraction), grouping


def _group_digits(digits: str, size: int) -> str:
    if size <= 0:
        return digits
    groups = [digits[max(0, end - size):end] for end in range(len(digits), 0, -size)]
    return ",".join(reversed(groups))


def numberFormat(value: Any, format: str | None = None) -> str | None:  # noqa: N802, A002
    """Java ``DecimalFormat`` subset (``#``, ``0``, ``.``, ``,`` and literal prefix/suffix), half-even."""
    if value is None:
        return None
    if not _is_number(value):
        raise ValueError(f"numberFormat: expects a number, got {_type_name(value)} '{value}'")
    prefix, suffix, min_int, min_frac, max_frac, grouping = _decimal_format(format or "#,##0.###")
    amount = Decimal(value)
    with localcontext() as context:
        context.prec = 400
        rounded = amount.copy_abs().quantize(Decimal(1).scaleb(-max_frac), rounding=ROUND_HALF_EVEN)
    integer_text, _, fraction_text = f"{rounded:f}".partition(".")
    fraction_text = fraction_text.rstrip("0").ljust(min_frac, "0")
    integer_text = integer_text.lstrip("0").rjust(min_int, "0")
    if not integer_text and not fraction_text:
        integer_text = "0"
    sign = "-" if amount.is_signed() else ""
    point = "." if fraction_text else ""
    return f"{sign}{prefix}{_group_digits(integer_text, grouping)}{point}{fraction_text}{suffix}"


# ---------------------------------------------------------------------------------------------
# Dates

def date_filter(value: Any, format: str = "iso", timeZone: str | None = None,  # noqa: A002, N803
                existingFormat: str | None = None, locale: str | None = None) -> str | None:  # noqa: N803
    """Format a date value (datetime, date, epoch, ISO text) with a Java pattern or named format."""
    if value is None:
        return None
    from nb_orchestra.expressions.dates import format_datetime, to_datetime

    return format_datetime(to_datetime(value, existingFormat, timeZone), format, timeZone, locale)


_TIME_UNITS = {"NANOS": 1, "MICROS": 1000, "MILLIS": 10**6, "SECONDS": 10**9, "MINUTES": 60 * 10**9,
               "HOURS": 3600 * 10**9, "HALF_DAYS": 12 * 3600 * 10**9}  # in nanoseconds
_DATE_UNITS = {"DAYS": (1, 0), "WEEKS": (7, 0), "MONTHS": (0, 1), "YEARS": (0, 12), "DECADES": (0, 120),
               "CENTURIES": (0, 1200), "MILLENNIA": (0, 12000)}


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    next_month = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last_day))


def add_to_date(moment: datetime, amount: int, unit: str) -> datetime:
    """Java ``ZonedDateTime.plus``: time units move the instant, date units the wall clock."""
    name = str(unit).upper()
    if name in _TIME_UNITS:
        utc = moment.astimezone(timezone.utc) + timedelta(microseconds=_TIME_UNITS[name] * amount // 1000)
        return utc.astimezone(moment.tzinfo)
    if name not in _DATE_UNITS:
        raise ValueError(f"dateAdd: unknown unit '{unit}'; use one of {', '.join([*_TIME_UNITS, *_DATE_UNITS])}")
    days, months = _DATE_UNITS[name]
    wall = moment.replace(tzinfo=None)
    wall = wall + timedelta(days=days * amount) if days else _add_months(wall, months * amount)
    # A wall time in a DST gap or overlap resolves like Java's ZonedDateTime.ofLocal (earlier offset).
    return wall.replace(tzinfo=moment.tzinfo).astimezone(timezone.utc).astimezone(moment.tzinfo)


def dateAdd(value: Any, amount: int, unit: str, format: str = "iso",  # noqa: N802, A002
            timeZone: str | None = None, existingFormat: str | None = None,  # noqa: N803
            locale: str | None = None) -> str | None:
    """Add ``amount`` ``unit`` (``SECONDS``, ``DAYS``, ``MONTHS``...) and format the result (a string)."""
    if value is None:
        return None
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"dateAdd: the amount must be an integer, not '{amount}'")
    from nb_orchestra.expressions.dates import format_datetime, get_zone, zoned_datetime

    moment = zoned_datetime(value, existingFormat, get_zone(timeZone))
    return format_datetime(add_to_date(moment, amount, unit), format, timeZone, locale)


def _epoch_micros(value: Any, timeZone: str | None, existingFormat: str | None) -> int:  # noqa: N803
    from nb_orchestra.expressions.dates import to_datetime

    moment = to_datetime(value, existingFormat, timeZone)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def timestamp(value: Any, timeZone: str | None = None,  # noqa: N803
              existingFormat: str | None = None) -> int | None:  # noqa: N803
    """Epoch seconds."""
    return None if value is None else _epoch_micros(value, timeZone, existingFormat) // 1_000_000


def timestampMilli(value: Any, timeZone: str | None = None,  # noqa: N802, N803
                   existingFormat: str | None = None) -> int | None:  # noqa: N803
    """Epoch milliseconds."""
    return None if value is None else _epoch_micros(value, timeZone, existingFormat) // 1000


def timestampMicro(value: Any, timeZone: str | None = None,  # noqa: N802, N803
                   existingFormat: str | None = None) -> int | None:  # noqa: N803
    """Epoch microseconds."""
    return None if value is None else _epoch_micros(value, timeZone, existingFormat)


def timestampNano(value: Any, timeZone: str | None = None,  # noqa: N802, N803
                  existingFormat: str | None = None) -> int | None:  # noqa: N803
    """Epoch nanoseconds (microsecond precision)."""
    return None if value is None else _epoch_micros(value, timeZone, existingFormat) * 1000


# ---------------------------------------------------------------------------------------------
# Serialisation and jq

def _instant_text(value: datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat()
    from nb_orchestra.expressions.dates import format_instant

    return format_instant(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"cannot serialise {_type_name(value)} to JSON")


def to_json(value: Any) -> str:
    """Compact JSON text (``"foo"`` -> ``"\\"foo\\""``, None -> ``null``)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as error:
        raise ValueError(f"toJson: {error}") from None


def to_yaml(value: Any) -> str:
    """YAML text of a value as Kestra writes it (see :mod:`nb_orchestra.expressions.formats`)."""
    from nb_orchestra.expressions import formats

    return formats.to_yaml(value)


def to_ion(value: Any) -> str:
    """Compact Ion text of a value, as Kestra's ``toIon`` writes it."""
    from nb_orchestra.expressions import formats

    return formats.to_ion(value)


def jq(value: Any, expression: str) -> list | None:
    """Run a jq program; always a list of all results. A string input is read as JSON text."""
    if value is None:
        return None
    text = value if isinstance(value, str) else to_json(value)
    from nb_orchestra.expressions import jq_sandbox

    try:
        return jq_sandbox.run(_need_str("jq", expression), text)
    except ValueError as error:
        raise ValueError(f"jq: cannot apply '{expression}' to {text[:200]}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Debugging

_JAVA_CLASSES = {bool: "java.lang.Boolean", str: "java.lang.String", float: "java.lang.Double",
                 dict: "java.util.LinkedHashMap", list: "java.util.ArrayList", tuple: "java.util.ArrayList",
                 Decimal: "java.math.BigDecimal", date: "java.time.LocalDate", timedelta: "java.time.Duration"}


def className(value: Any) -> str | None:  # noqa: N802
    """A Java-like class name of the value (``java.lang.String``...)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return "java.time.ZonedDateTime" if value.tzinfo is not None else "java.time.LocalDateTime"
    if isinstance(value, int) and not isinstance(value, bool):
        return "java.lang.Integer" if -2**31 <= value < 2**31 else "java.lang.Long"
    kind = type(value)
    return _JAVA_CLASSES.get(kind, f"{kind.__module__}.{kind.__qualname__}")


# ---------------------------------------------------------------------------------------------
# Registry

def _refuse_undefined(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Make a filter raise on an undefined input or argument, as Pebble's strict mode does."""

    @functools.wraps(function)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        for item in (value, *args, *kwargs.values()):
            if isinstance(item, Undefined):
                str(item)  # a StrictUndefined raises its own "'x' is undefined" error here
                raise ValueError(f"{name}: the value is undefined")
        return function(value, *args, **kwargs)

    return checked


_RAW_FILTERS: dict[str, Callable[..., Any]] = {
    "abbreviate": abbreviate, "abs": absolute, "base64encode": base64encode, "base64decode": base64decode,
    "capitalize": capitalize, "title": title, "upper": upper, "lower": lower, "trim": trim,
    "first": first, "last": last, "join": join, "length": length, "merge": merge,
    "reverse": reverse, "sort": sort, "rsort": rsort, "slice": slice_items, "split": split, "replace": replace,
    "urlencode": urlencode, "urldecode": urldecode, "numberFormat": numberFormat, "numberformat": numberFormat,
    "sha1": _digest("sha1"), "sha256": _digest("sha256"), "sha512": _digest("sha512"), "md5": _digest("md5"),
    "date": date_filter, "dateAdd": dateAdd, "timestamp": timestamp, "timestampMilli": timestampMilli,
    "timestampMicro": timestampMicro, "timestampNano": timestampNano,
    "toJson": to_json, "json": to_json, "yaml": to_yaml, "toIon": to_ion, "jq": jq,
    "keys": keys, "values": values, "flatten": flatten, "chunk": chunk, "distinct": distinct,
    "number": number, "slugify": slugify, "substringBefore": substringBefore, "substringAfter": substringAfter,
    "substringBeforeLast": substringBeforeLast, "substringAfterLast": substringAfterLast,
    "startsWith": startsWith, "endsWith": endsWith, "escapeChar": escapeChar, "indent": indent,
    "nindent": nindent, "string": string, "className": className,
}

FILTERS: dict[str, Callable[..., Any]] = {
    "default": default,
    **{name: _refuse_undefined(name, function) for name, function in _RAW_FILTERS.items()},
}
