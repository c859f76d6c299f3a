"""How Kestra turns values into text.

Two flavours exist: what ``{{ value }}`` prints (Jackson JSON for maps and lists,
``true``/``false``, nothing for null) and what Java's ``String.valueOf`` gives,
which Pebble's ``~`` and string ``+`` use (``[a, b]``, ``{k=v}``, ``null``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from typing import Any

from nb_orchestra.durations import format_duration


def to_text(value: Any) -> str:
    """Text of a value as ``{{ value }}`` prints it in Kestra."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return to_json(value)
    return _scalar_text(value)


def to_json(value: Any) -> str:
    """Compact JSON as Jackson writes it (Java number and date formats)."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        items = (f"{encode_basestring(_key_text(k))}:{to_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    if isinstance(value, (bool, int, float, Decimal)):
        return _scalar_text(value)
    if isinstance(value, datetime):  # Kestra's JSON mapper writes dates in its time zone, UTC
        return encode_basestring(_format_instant(value))
    return encode_basestring(_scalar_text(value))


def java_string(value: Any, null: str = "null") -> str:
    """Java's ``String.valueOf``: what ``~`` (with ``null=""``) and string ``+`` use."""
    if isinstance(value, str):
        return value
    if value is None:
        return null
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_string(k)}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(java_string(item) for item in value) + "]"
    return _scalar_text(value)


def java_double(number: float) -> str:
    """Java's ``Double.toString``: ``1.0``, ``3.65``, ``1.0E10``, ``1.0E-5``."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "-0.0" if math.copysign(1.0, number) < 0 else "0.0"
    magnitude = abs(number)
    if 1e-3 <= magnitude < 1e7:
        text = repr(number)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)  # a letter ('n', 'N', 'F') only for NaN and infinities, returned above
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def format_time(value: time) -> str:
    """Java's ``LocalTime.toString``: ``14:19``, ``14:19:05``, ``14:19:05.120``."""
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        micros = value.microsecond
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return format_time(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Enum):
        return value.name
    from jinja2 import Undefined  # checked last: a plain value is printed without importing Jinja2

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return str(value)


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else java_string(key)


def _format_datetime(value: datetime) -> str:
    """An Instant (UTC, or no zone) as ``Instant.toString()``, another zone as ``ZonedDateTime.toString()``."""
    from nb_orchestra.expressions.formats import is_instant, zoned_date_time_text  # imports this module

    if value.tzinfo is None or is_instant(value):
        return _format_instant(value)
    return zoned_date_time_text(value)


def _format_instant(value: datetime) -> str:
    from nb_orchestra.expressions.dates import format_instant  # written alongside; imported late

    return format_instant(value)
