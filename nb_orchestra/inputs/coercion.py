"""Turning one supplied input value into its typed value, as Kestra's ``FlowInputOutput`` does.

Each type has a small *parser* (string or Python value -> typed value) and, for some
types, a *validator* (typed value checked against ``min``/``max``/``values``...).
Messages follow Kestra's wording, wrapped as
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


def _expected(type_name: str, value: Any, cause: object | None = None) -> ValueError:
    detail = f" with errors: {cause}" if cause else ""
    return ValueError(f"Expected `{type_name}` but received `{java_text(value)}`{detail}")


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
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        value = int(value)
    if not isinstance(value, int) or value not in _INT_RANGE:
        raise _expected("INT", value)
    return value


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
        return [_parse_item(item_parser, item_type, item) for item in items]
    return parse


def _parse_item(parser: Callable[[dict, Any], Any], item_type: str, item: Any) -> Any:
    try:
        return parser({}, item)
    except ValueError:
        raise ValueError(f"Unable to parse array element as `{item_type}` on `{java_text(item)}`") from None


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
        raise ValueError(f"file not found: {value}")
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
    if pattern is not None and not patterns.fullmatch(pattern, value):
        raise ValueError(f"it must match the pattern `{pattern}`")


def _check_range(capital: bool) -> Callable[[dict, Any], None]:
    """INT / FLOAT / DURATION ``min`` and ``max``, both inclusive."""
    it = "It" if capital else "it"

    def check(declaration: dict, value: Any) -> None:
        parse = _PARSERS[declaration["type"]]
        low, high = declaration.get("min"), declaration.get("max")
        if low is not None and value < parse({}, low):
            raise ValueError(f"{it} must be more than `{java_text(parse({}, low))}`")
        if high is not None and value > parse({}, high):
            raise ValueError(f"{it} must be less than `{java_text(parse({}, high))}`")
    return check


def _check_moment(declaration: dict, value: Any) -> None:
    """DATETIME / DATE / TIME ``after`` and ``before``."""
    parse = _PARSERS[declaration["type"]]
    after, before = declaration.get("after"), declaration.get("before")
    if after is not None and value < parse({}, after):
        raise ValueError(f"it must be after `{java_text(parse({}, after))}`")
    if before is not None and value > parse({}, before):
        raise ValueError(f"it must be before `{java_text(parse({}, before))}`")


def _check_select(declaration: dict, value: str) -> None:
    # Kestra skips this check for a non-required input or when custom values are allowed;
    # no `values` means an `expression` left unrendered: nothing to check against.
    values = allowed_values(declaration)
    custom = declaration.get("allowCustomValue") or declaration.get("allowInput")
    if values is not None and value not in values and is_required(declaration) and not custom:
        raise ValueError(f"it must match the values `{java_text(values)}`")


def _check_multiselect(declaration: dict, value: list) -> None:
    if "values" in declaration and "options" in declaration:
        raise ValueError("you can't define both `values` and `options`")
    values = allowed_values(declaration)
    if values is None or declaration.get("allowCustomValue"):
        return
    if any(java_text(v) not in values for v in value):
        raise ValueError(f"it must match the values `{java_text(values)}`")


def _check_email(_declaration: dict, value: str) -> None:
    if not _EMAIL.fullmatch(value):
        raise ValueError("The input must be a valid email")


_VALIDATORS: dict[str, Callable[[dict, Any], None]] = {
    "STRING": _check_pattern,
    "SECRET": _check_pattern,
    "INT": _check_range(capital=False),
    "FLOAT": _check_range(capital=False),
    "DURATION": _check_range(capital=True),
    "DATETIME": _check_moment,
    "DATE": _check_moment,
    "TIME": _check_moment,
    "SELECT": _check_select,
    "ENUM": _check_select,
    "MULTISELECT": _check_multiselect,
    "EMAIL": _check_email,
}


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
    """Parse then validate one non-null input value; ValueError carries Kestra's message."""
    type_name = declaration.get("type")
    try:
        if type_name not in _PARSERS:
            raise ValueError(f"unknown input type `{type_name}`")
        typed = _PARSERS[type_name](declaration, value)
        if type_name in _VALIDATORS:
            _VALIDATORS[type_name](declaration, typed)
    except ValueError as exc:
        raise ValueError(
            f"Invalid input for `{input_id(declaration)}`, {exc}, but received `{java_text(value)}`"
        ) from None
    return typed
