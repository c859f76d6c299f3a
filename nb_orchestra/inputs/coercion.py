"""Turning one supplied input value into its typed value, as Kestra's ``FlowInputOutput`` does.

Each type has a small *parser* (string or Python value -> typed value) and, for some
types, a *validator* (typed value checked against ``min``/``max``/``values``...).
A refused value raises :class:`InvalidValue`: a message for people ("Not a whole number:
`abc`.", "Must be between 18 and 99 (got 200).") and Kestra's wording beside it,
``Invalid input for `<id>`, <detail>, but received `<value>` ``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from nb_orchestra.durations import format_duration, parse_duration
from nb_orchestra.expressions import patterns

INPUT_TYPES: frozenset[str] = frozenset({
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "SELECT", "MULTISELECT", "ENUM",
    "DATETIME", "DATE", "TIME", "DURATION", "JSON", "YAML", "ARRAY", "URI", "EMAIL",
    "SECRET", "FILE",
})

# Kestra's URI_PATTERN (FlowInputOutput): lower-case scheme, a host with a dot-separated TLD.
_URI = re.compile(
    r"[a-z]+://(?:www\.)?[-a-zA-Z0-9@:%._+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b"
    r"[-a-zA-Z0-9()@:%_+.~#?&/=]*"
)
# Kestra's EmailInput pattern: empty, or a permissive local part @ letters/digits/dots/dashes.
# (Kestra's class lists the typographic apostrophe U+2019, not the ASCII one.)
_EMAIL = re.compile(r"|[a-zA-Z0-9_!#$%&\u2019*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+")
_INT_TEXT = re.compile(r"[+-]?[0-9]+")  # Integer.valueOf: no spaces, no decimals
_FLOAT_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?\s*")
_FLOAT_WORDS = {
    "NaN": float("nan"), "Infinity": float("inf"), "+Infinity": float("inf"), "-Infinity": float("-inf"),
}
_INSTANT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2}(?::\d{2})?)"
)
_LOCAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")
_INT_RANGE = range(-(2**31), 2**31)
_SHOWN_MAX = 60  # characters of a refused value repeated in a message
# What a value that cannot be parsed is not, per type: "Not a whole number: `abc`."
_NOT_A = {
    "INT": "Not a whole number", "FLOAT": "Not a number", "BOOLEAN": "Not true or false", "BOOL": "Not true or false",
    "DATETIME": "Not a date and time with a zone (like 2024-01-31T09:30:00Z)",
    "DATE": "Not a date (like 2024-01-31)", "TIME": "Not a time (like 09:30 or 09:30:15)",
    "DURATION": "Not an ISO-8601 duration (like PT5M or P1D)", "JSON": "Not valid JSON",
    "YAML": "Not valid YAML", "ARRAY": 'Not a list (like [1, 2] or ["a", "b"])',
    "MULTISELECT": 'Not a list of choices (like ["a", "b"])',
    "URI": "Not a URI (like https://example.com/data.csv)", "FILE": "Not a file path",
}


class InvalidValue(ValueError):
    """A value an input refuses: ``str()`` is the message for people ("Not a whole number: `abc`."),
    ``kestra`` the same problem as Kestra words it ("Expected `INT` but received `abc`")."""

    def __init__(self, message: str, kestra: str):
        super().__init__(message)
        self.kestra = kestra


def java_text(value: Any) -> str:
    """``value`` printed the way Kestra's Java ``toString()`` shows it in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return _instant_text(value)
    if isinstance(value, time):
        return _local_time_text(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


def _fraction_text(microsecond: int) -> str:
    """Java prints fractions of a second in groups of three digits: ``.500``, ``.123450``."""
    if not microsecond:
        return ""
    digits = f"{microsecond:06d}"
    return "." + (digits[:3] if digits.endswith("000") else digits)


def _instant_text(value: datetime) -> str:
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + _fraction_text(utc.microsecond) + "Z"


def _local_time_text(value: time) -> str:
    """``LocalTime.toString()``: seconds only when not zero."""
    text = value.strftime("%H:%M")
    if value.second or value.microsecond:
        text += value.strftime(":%S") + _fraction_text(value.microsecond)
    return text


def shown(value: Any) -> str:
    """``value`` as a message repeats it: text as is, lists and maps as JSON, cut after 60 characters."""
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, ensure_ascii=False, default=java_text)
    else:
        text = java_text(value)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX - 1] + "…"


def _got(value: Any) -> str:
    """The value in "(got ...)": text in backticks, numbers, dates and durations bare."""
    return f"`{shown(value)}`" if isinstance(value, str) else shown(value)


def _expected(type_name: str, value: Any, cause: object | None = None) -> InvalidValue:
    detail = f" with errors: {cause}" if cause else ""
    why = f" ({cause})" if cause else ""
    return InvalidValue(f"{_NOT_A.get(type_name, 'Not text')}: `{shown(value)}`{why}.",
                        f"Expected `{type_name}` but received `{java_text(value)}`{detail}")


# --- parsers: one per type, (declaration, value) -> typed value ------------------------

def _to_text(type_name: str, value: Any) -> str:
    """Text types keep strings; YAML scalars (``2019``, ``true``) become their Java text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return java_text(value)
    raise _expected(type_name, value)


def _text(type_name: str) -> Callable[[dict, Any], str]:
    return lambda _declaration, value: _to_text(type_name, value)


def _parse_uri(_declaration: dict, value: Any) -> str:
    text = _to_text("URI", value)
    if not _URI.fullmatch(text):
        raise _expected("URI", value)
    return text


def _parse_int(_declaration: dict, value: Any) -> int:
    if isinstance(value, bool):
        raise _expected("INT", value)
    number = int(value) if isinstance(value, str) and _INT_TEXT.fullmatch(value) else value
    if not isinstance(number, int):
        raise _expected("INT", value)
    if number not in _INT_RANGE:
        raise InvalidValue(f"Outside the INT range ({_INT_RANGE.start} to {_INT_RANGE.stop - 1}): "
                           f"`{shown(value)}`.", f"Expected `INT` but received `{java_text(value)}`")
    return number


def _parse_float(_declaration: dict, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
        if _FLOAT_TEXT.fullmatch(value):
            return float(value.strip().rstrip("fFdD"))
    raise _expected("FLOAT", value)


def _parse_boolean(_declaration: dict, value: Any) -> bool:
    # Kestra quirk (Java Boolean.valueOf): only "true", in any case, is true; every other
    # string -- "yes", "1", "on", "TRUE " -- is silently false, never an error.
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise _expected("BOOLEAN", value)


def _parse_datetime(_declaration: dict, value: Any) -> datetime:
    """An instant: needs a zone designator (``Z`` or an offset); returned in UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    match = _INSTANT.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise _expected("DATETIME", value)
    day, clock, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}.{micros}{zone}")
    except ValueError as exc:
        raise _expected("DATETIME", value, exc) from None
    return parsed.astimezone(timezone.utc)


def _parse_date(_declaration: dict, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and _LOCAL_DATE.fullmatch(value)):
        raise _expected("DATE", value)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _expected("DATE", value, exc) from None


def _parse_time(_declaration: dict, value: Any) -> time:
    if isinstance(value, time):
        return value
    match = _LOCAL_TIME.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise _expected("TIME", value)
    hour, minute, second, fraction = match.groups()
    try:
        return time(int(hour), int(minute), int(second or 0), int((fraction or "").ljust(6, "0")[:6]))
    except ValueError as exc:
        raise _expected("TIME", value, exc) from None


def _parse_duration(_declaration: dict, value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise _expected("DURATION", value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _expected("DURATION", value, exc) from None


def _parse_json(_declaration: dict, value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise _expected("JSON", value)
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _expected("JSON", value, exc) from None


def _parse_yaml(_declaration: dict, value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise _expected("YAML", value)
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise _expected("YAML", value, str(exc).replace("\n", " ")) from None


def _as_list(type_name: str, value: Any) -> list:
    """A list, or a JSON-array string parsed into one."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _expected(type_name, value, exc) from None
        if isinstance(parsed, list):
            return parsed
    raise _expected(type_name, value)


def _parse_items(type_name: str, default_item_type: str | None) -> Callable[[dict, Any], list]:
    """ARRAY / MULTISELECT: a list whose elements are parsed with ``itemType``."""
    def parse(declaration: dict, value: Any) -> list:
        items = _as_list(type_name, value)
        item_type = declaration.get("itemType") or default_item_type
        if item_type is None or item_type in ("ARRAY", "MULTISELECT"):
            return items
        item_parser = _PARSERS.get(item_type)
        if item_parser is None:
            return items
        return [_parse_item(item_parser, item_type, item, number) for number, item in enumerate(items, 1)]
    return parse


def _parse_item(parser: Callable[[dict, Any], Any], item_type: str, item: Any, number: int) -> Any:
    try:
        return parser({}, item)
    except InvalidValue as exc:
        raise InvalidValue(f"Item {number}: {exc}",
                           f"Unable to parse array element as `{item_type}` on `{java_text(item)}`") from None


def _parse_file(_declaration: dict, value: Any) -> str:
    """A ``kestra://`` URI kept as is, or a local file (path or ``file://`` URI) that exists."""
    if isinstance(value, str) and value.startswith("kestra://"):
        return value
    if isinstance(value, str) and value.startswith("file://"):
        value = value[len("file://"):]
    if not isinstance(value, (str, os.PathLike)):
        raise _expected("FILE", value)
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidValue(f"File not found: `{shown(str(value))}`.", f"file not found: {value}")
    return str(path)


_PARSERS: dict[str, Callable[[dict, Any], Any]] = {
    "STRING": _text("STRING"),
    "SECRET": _text("SECRET"),
    "SELECT": _text("SELECT"),
    "ENUM": _text("ENUM"),
    "EMAIL": _text("EMAIL"),
    "URI": _parse_uri,
    "INT": _parse_int,
    "FLOAT": _parse_float,
    "BOOLEAN": _parse_boolean,
    "BOOL": _parse_boolean,  # assumed identical to BOOLEAN (unconfirmed in Kestra 1.1)
    "DATETIME": _parse_datetime,
    "DATE": _parse_date,
    "TIME": _parse_time,
    "DURATION": _parse_duration,
    "JSON": _parse_json,
    "YAML": _parse_yaml,
    "ARRAY": _parse_items("ARRAY", None),
    "MULTISELECT": _parse_items("MULTISELECT", "STRING"),
    "FILE": _parse_file,
}


# --- validators: typed value checked against the declaration ---------------------------

def allowed_values(declaration: dict) -> list[str] | None:
    """``values`` (or MULTISELECT's deprecated ``options``) as Kestra's list of strings."""
    values = declaration.get("values", declaration.get("options"))
    return None if values is None else [java_text(v) for v in values]


def _check_pattern(declaration: dict, value: str) -> None:
    pattern = declaration.get("validator")
    try:
        matched = pattern is None or patterns.fullmatch(pattern, value)
    except patterns.PatternError as exc:  # one that backtracks too long on this text
        raise InvalidValue(f"{str(exc)[0].upper()}{str(exc)[1:]}.", str(exc)) from None
    if not matched:
        got = "" if declaration["type"] == "SECRET" else f" (got {_got(value)})"  # a secret is not repeated
        raise InvalidValue(f"Must {must(declaration)}{got}.", f"it must match the pattern `{pattern}`")


def _check_bounds(low_key: str, high_key: str, too_low: str, too_high: str) -> Callable[[dict, Any], None]:
    """Inclusive bounds: INT / FLOAT / DURATION ``min`` and ``max``, DATETIME / DATE / TIME ``after``
    and ``before``; ``too_low`` and ``too_high`` start Kestra's messages."""
    def check(declaration: dict, value: Any) -> None:
        parse = _PARSERS[declaration["type"]]
        low, high = declaration.get(low_key), declaration.get(high_key)
        if low is not None and value < parse({}, low):
            kestra = f"{too_low} `{java_text(parse({}, low))}`"
        elif high is not None and value > parse({}, high):
            kestra = f"{too_high} `{java_text(parse({}, high))}`"
        else:
            return
        raise InvalidValue(f"Must {must(declaration)} (got {_got(value)}).", kestra)
    return check


def _check_select(declaration: dict, value: str) -> None:
    # Kestra skips this check for a non-required input or when custom values are allowed;
    # no `values` means an `expression` left unrendered: nothing to check against.
    values = allowed_values(declaration)
    custom = declaration.get("allowCustomValue") or declaration.get("allowInput")
    if values is not None and value not in values and is_required(declaration) and not custom:
        raise InvalidValue(f"Must be one of {', '.join(values)} (got {_got(value)}).",
                           f"it must match the values `{java_text(values)}`")


def _check_multiselect(declaration: dict, value: list) -> None:
    if "values" in declaration and "options" in declaration:
        raise InvalidValue("Declares both `values` and `options`: keep one.",
                           "you can't define both `values` and `options`")
    values = allowed_values(declaration)
    if values is None or declaration.get("allowCustomValue"):
        return
    refused = [java_text(v) for v in value if java_text(v) not in values]
    if refused:
        raise InvalidValue(f"Must be chosen from {', '.join(values)} (got {', '.join(map(_got, refused))}).",
                           f"it must match the values `{java_text(values)}`")


def _check_email(_declaration: dict, value: str) -> None:
    if not _EMAIL.fullmatch(value):
        raise InvalidValue(f"Not an email address: `{shown(value)}`.", "The input must be a valid email")


_VALIDATORS: dict[str, Callable[[dict, Any], None]] = {
    "STRING": _check_pattern,
    "SECRET": _check_pattern,
    "INT": _check_bounds("min", "max", "it must be more than", "it must be less than"),
    "FLOAT": _check_bounds("min", "max", "it must be more than", "it must be less than"),
    "DURATION": _check_bounds("min", "max", "It must be more than", "It must be less than"),
    **dict.fromkeys(("DATETIME", "DATE", "TIME"),
                    _check_bounds("after", "before", "it must be after", "it must be before")),
    "SELECT": _check_select,
    "ENUM": _check_select,
    "MULTISELECT": _check_multiselect,
    "EMAIL": _check_email,
}
_BOUNDS = {**dict.fromkeys(("INT", "FLOAT", "DURATION"), ("min", "max", "at least", "at most")),
           **dict.fromkeys(("DATETIME", "DATE", "TIME"), ("after", "before", "on or after", "on or before"))}


def _bound_text(type_name: str, raw: Any) -> str | None:
    if raw is None:
        return None
    try:
        return java_text(_PARSERS[type_name]({}, raw))
    except InvalidValue:  # a bad bound is the declaration's problem, reported when the flow loads
        return java_text(raw)


def must(declaration: dict) -> str | None:
    """What the declared bounds ask of a value, for people: "be between 18 and 99", "be at least 1",
    "be on or after 2024-01-01", "match the pattern `[a-z]+`"; None when nothing is declared."""
    type_name = declaration.get("type")
    if type_name in ("STRING", "SECRET"):
        pattern = declaration.get("validator")
        return None if pattern is None else f"match the pattern `{pattern}`"
    if type_name not in _BOUNDS:
        return None
    low_key, high_key, above, below = _BOUNDS[type_name]
    low, high = _bound_text(type_name, declaration.get(low_key)), _bound_text(type_name, declaration.get(high_key))
    if low is not None and high is not None:
        return f"be between {low} and {high}"
    if low is not None:
        return f"be {above} {low}"
    return None if high is None else f"be {below} {high}"


# --- public helpers ---------------------------------------------------------------------

def input_id(declaration: dict) -> str:
    """The input's ``id``, or its deprecated pre-0.13 ``name``."""
    return str(declaration.get("id") or declaration.get("name") or "")


def is_required(declaration: dict) -> bool:
    """``required`` defaults to true."""
    return declaration.get("required") is not False


def parse_value(type_name: str, value: Any) -> Any:
    """Parse ``value`` as a ``type_name`` value with no declaration (bounds, ``after``...)."""
    return _PARSERS[type_name]({}, value)


def coerce_input(declaration: dict, value: Any) -> Any:
    """Parse then validate one non-null input value; a refused one raises :class:`InvalidValue`,
    whose ``kestra`` is Kestra's whole message ("Invalid input for `n`, ..., but received `abc`")."""
    type_name = declaration.get("type")
    try:
        if type_name not in _PARSERS:
            raise InvalidValue(f"Unknown input type `{type_name}`.", f"unknown input type `{type_name}`")
        typed = _PARSERS[type_name](declaration, value)
        if type_name in _VALIDATORS:
            _VALIDATORS[type_name](declaration, typed)
    except InvalidValue as exc:
        raise InvalidValue(str(exc), f"Invalid input for `{input_id(declaration)}`, {exc.kestra}, "
                                     f"but received `{java_text(value)}`") from None
    return typed
