"""Kestra date handling: Java ``DateTimeFormatter`` patterns and date conversion.

Kestra's ``date``, ``dateAdd``, ``timestamp*`` filters and the ``now()`` function take Java
patterns (``yyyy-MM-dd'T'HH:mm``), not strftime.  This module compiles such patterns (cached),
formats aware datetimes with them, parses text with them, and converts the values flows carry
(datetimes, dates, epoch numbers, ISO strings) to aware datetimes the way Kestra does.

Time zones come from :mod:`zoneinfo`.  On Windows, which ships no zone database, zoneinfo needs
the ``tzdata`` package.  The default zone is UTC, the zone of Kestra's docker image.

Only English month/day names are printed; a non-English ``locale`` is refused for patterns that
print or read names.  Fractions of seconds are kept to the microsecond (Python's precision).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = ZoneInfo("UTC")

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

NAMED_PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_milli": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_milli": "yyyy-MM-dd HH:mm:ss.SSS",
    "sql_sec": "yyyy-MM-dd HH:mm:ss",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",  # the 0.x spelling of sql_sec
}

# The largest number of pattern letters accepted for each supported letter.
_MAX_COUNT = {"y": 19, "u": 19, "M": 4, "d": 2, "D": 3, "H": 2, "h": 2, "a": 1, "m": 2, "s": 2,
              "S": 9, "E": 4, "X": 3, "x": 3, "Z": 3, "z": 3, "V": 2, "Q": 5, "q": 5}
_TEXT_LETTERS = frozenset("MEazQq")  # letters whose text depends on the locale (M, Q, q only from 3 letters)
_QUARTERS = ("1st quarter", "2nd quarter", "3rd quarter", "4th quarter")


# ---------------------------------------------------------------------------------------------
# Compiling patterns

@dataclass(frozen=True)
class Field:
    """A run of one pattern letter, such as ``yyyy`` (letter ``y``, count 4)."""

    letter: str
    count: int


@dataclass(frozen=True)
class OptionalSection:
    """An optional section ``[...]``: always printed, may be absent when parsing."""

    items: tuple


Item = Field | OptionalSection | str  # a plain str is literal text


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> tuple[Item, ...]:
    """Split a Java ``DateTimeFormatter`` pattern into fields and literals (cached)."""
    return _compile_items(pattern, 0)[0]


def _compile_items(pattern: str, pos: int, nested: bool = False) -> tuple[tuple[Item, ...], int]:
    """Read items from ``pos`` up to the end, or up to the ``]`` closing a nested section."""
    items: list[Item] = []
    while pos < len(pattern):
        char = pattern[pos]
        if char == "]":
            if not nested:
                raise ValueError(f"invalid date pattern '{pattern}': unbalanced ']'")
            return tuple(items), pos
        if char == "[":
            inner, pos = _compile_items(pattern, pos + 1, nested=True)
            if pos >= len(pattern):
                raise ValueError(f"invalid date pattern '{pattern}': missing ']'")
            items.append(OptionalSection(inner))
            pos += 1
        elif char == "'":
            text, pos = _quoted(pattern, pos)
            items.append(text)
        elif char.isascii() and char.isalpha():
            end = pos
            while end < len(pattern) and pattern[end] == char:
                end += 1
            items.append(_field(char, end - pos, pattern))
            pos = end
        elif char in "#{}":
            raise ValueError(f"invalid date pattern '{pattern}': '{char}' is reserved")
        else:
            items.append(char)
            pos += 1
    return tuple(items), pos


def _quoted(pattern: str, pos: int) -> tuple[str, int]:
    """Read ``'literal'`` or ``''`` starting at ``pos``; return the text and the next position."""
    if pattern.startswith("''", pos):
        return "'", pos + 2
    text, pos = [], pos + 1
    while pos < len(pattern):
        if pattern.startswith("''", pos):
            text.append("'")
            pos += 2
        elif pattern[pos] == "'":
            return "".join(text), pos + 1
        else:
            text.append(pattern[pos])
            pos += 1
    raise ValueError(f"invalid date pattern '{pattern}': unterminated quote")


def _field(letter: str, count: int, pattern: str) -> Field:
    limit = _MAX_COUNT.get(letter)
    if limit is None:
        raise ValueError(f"date pattern letter '{letter}' is not supported (in '{pattern}')")
    if count > limit or (letter == "V" and count != 2):
        raise ValueError(f"too many pattern letters '{letter * count}' in date pattern '{pattern}'")
    return Field(letter, count)


def _uses_text(items: tuple[Item, ...]) -> bool:
    for item in items:
        if isinstance(item, OptionalSection) and _uses_text(item.items):
            return True
        if isinstance(item, Field) and item.letter in _TEXT_LETTERS and (item.letter not in "MQq" or item.count >= 3):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Formatting

def _offset_text(dt: datetime, colon: bool, zero: str | None, minutes_optional: bool = False) -> str:
    """``+HH:MM`` / ``+HHMM`` / ``+HH``; ``zero`` replaces a zero offset (``Z``) when given."""
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError(f"date: '{dt.isoformat()}' has no time zone offset to format")
    seconds = int(offset.total_seconds())
    if seconds == 0 and zero is not None:
        return zero
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if minutes_optional and minutes == 0:
        return f"{sign}{hours:02d}"
    text = f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    return text + (f"{':' if colon else ''}{secs:02d}" if secs else "")


def offset_id(dt: datetime) -> str:
    """Java ``ZoneOffset.getId()``: ``Z`` or ``+02:00``."""
    return _offset_text(dt, colon=True, zero="Z")


def zone_id(tz: tzinfo | None) -> str:
    """Java ``ZoneId.getId()``: the region name (``Europe/Paris``), or the offset for fixed zones."""
    key = getattr(tz, "key", None)
    if key:
        return key
    return offset_id(datetime.now(tz))


def _zone_name(dt: datetime) -> str:
    key = getattr(dt.tzinfo, "key", None)
    if key:
        return dt.tzname() or key
    return offset_id(dt)


def _format_year(year: int, count: int) -> str:
    if count == 2:
        return f"{year % 100:02d}"
    return str(year).zfill(count if count >= 3 else 1)


def _format_offset_field(dt: datetime, field: Field) -> str:
    """``X``: ``Z`` for zero; ``x``: ``+00``; ``Z``: always ``+HHMM``."""
    if field.letter == "Z":
        return _offset_text(dt, colon=False, zero=None)
    zero = "Z" if field.letter == "X" else None
    return _offset_text(dt, colon=field.count == 3, zero=zero, minutes_optional=field.count == 1)


def _format_field(dt: datetime, field: Field) -> str:
    letter, count = field.letter, field.count
    if letter in "yu":
        return _format_year(dt.year, count)
    if letter == "M" and count >= 3:
        return MONTHS[dt.month - 1][:3] if count == 3 else MONTHS[dt.month - 1]
    if letter == "E":
        return DAYS[dt.weekday()] if count == 4 else DAYS[dt.weekday()][:3]
    if letter == "S":
        return f"{dt.microsecond * 1000:09d}"[:count]
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter in "XxZ":
        return _format_offset_field(dt, field)
    if letter == "z":
        return _zone_name(dt)
    if letter == "V":
        return zone_id(dt.tzinfo)
    if letter in "Qq":  # quarter: 3, 03, Q3, 3rd quarter, 3
        quarter = (dt.month - 1) // 3 + 1
        return {2: f"{quarter:02d}", 3: f"Q{quarter}", 4: _QUARTERS[quarter - 1]}.get(count, str(quarter))
    number = {"M": dt.month, "d": dt.day, "D": dt.timetuple().tm_yday, "H": dt.hour, "h": dt.hour % 12 or 12,
              "m": dt.minute, "s": dt.second}[letter]
    return str(number).zfill(count)


def _format_items(dt: datetime, items: tuple[Item, ...]) -> str:
    parts = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, OptionalSection):
            parts.append(_format_items(dt, item.items))
        else:
            parts.append(_format_field(dt, item))
    return "".join(parts)


def _local_time(dt: datetime) -> str:
    """``ISO_LOCAL_TIME``: seconds always, fraction only as long as needed."""
    fraction = f".{dt.microsecond:06d}".rstrip("0") if dt.microsecond else ""
    return f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{fraction}"


def _local_date(dt: datetime) -> str:
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"


def _region_suffix(dt: datetime) -> str:
    key = getattr(dt.tzinfo, "key", None)
    return f"[{key}]" if key else ""


def format_instant(dt: datetime) -> str:
    """Java ``Instant.toString()``: UTC with ``Z``, fraction in groups of 3 digits only if needed."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    fraction = ""
    if dt.microsecond:
        fraction = f".{dt.microsecond // 1000:03d}" if dt.microsecond % 1000 == 0 else f".{dt.microsecond:06d}"
    return f"{_local_date(dt)}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{fraction}Z"


def _rfc_1123(dt: datetime) -> str:
    offset = _offset_text(dt, colon=False, zero="GMT")
    return (f"{DAYS[dt.weekday()][:3]}, {dt.day} {MONTHS[dt.month - 1][:3]} {dt.year:04d} "
            f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {offset}")


def _week_date(dt: datetime) -> str:
    year, week, day = dt.isocalendar()
    return f"{year:04d}-W{week:02d}-{day}{offset_id(dt)}"


_NAMED_PRINTERS: dict[str, Callable[[datetime], str]] = {
    "iso_date_time": lambda dt: f"{_local_date(dt)}T{_local_time(dt)}{offset_id(dt)}{_region_suffix(dt)}",
    "iso_zoned_date_time": lambda dt: f"{_local_date(dt)}T{_local_time(dt)}{offset_id(dt)}{_region_suffix(dt)}",
    "iso_date": lambda dt: _local_date(dt) + offset_id(dt),
    "iso_time": lambda dt: _local_time(dt) + offset_id(dt),
    "iso_offset_time": lambda dt: _local_time(dt) + offset_id(dt),
    "iso_local_date": _local_date,
    "iso_local_time": _local_time,
    "iso_local_date_time": lambda dt: f"{_local_date(dt)}T{_local_time(dt)}",
    "iso_instant": format_instant,
    "iso_ordinal_date": lambda dt: f"{dt.year:04d}-{dt.timetuple().tm_yday:03d}{offset_id(dt)}",
    "iso_week_date": _week_date,
    "rfc_1123_date_time": _rfc_1123,
}
_ENGLISH_NAMED = frozenset({"rfc_1123_date_time"})


def _check_locale(locale: str | None, needs_text: bool) -> None:
    if needs_text and locale and not re.match(r"(?i)en([_-]|$)", str(locale)):
        raise ValueError(f"date: only English month and day names are supported, not locale '{locale}'")


def format_datetime(dt: datetime, format: str | None = "iso", time_zone: str | None = None,
                    locale: str | None = None) -> str:
    """Convert ``dt`` into ``time_zone`` (UTC by default) and format it with a named format or pattern."""
    format = "iso" if format is None else str(format)
    zone = get_zone(time_zone)
    dt = dt.astimezone(zone) if dt.tzinfo is not None else dt.replace(tzinfo=zone)
    if format in ("full", "long", "medium", "short"):
        raise ValueError(f"date: the localized style '{format}' is not supported; use a pattern")
    printer = _NAMED_PRINTERS.get(format)
    if printer is not None:
        _check_locale(locale, format in _ENGLISH_NAMED)
        return printer(dt)
    items = compile_pattern(NAMED_PATTERNS.get(format, format))
    _check_locale(locale, _uses_text(items))
    return _format_items(dt, items)


# ---------------------------------------------------------------------------------------------
# Zones and conversion

@lru_cache(maxsize=64)
def get_zone(name: str | None) -> tzinfo:
    """A zone from its Java/IANA id (``Europe/Paris``, ``UTC``, ``Z``, ``+02:00``); None -> UTC."""
    if name is None:
        return UTC
    text = str(name).strip()
    if text == "Z":
        return timezone.utc
    offset = _parse_offset(text) if re.fullmatch(r"(?:UTC|GMT|UT)?[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?", text) else None
    if offset is not None:
        return offset
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}'") from None


def _parse_offset(text: str) -> tzinfo:
    """``Z``, ``+02``, ``+0200``, ``+02:00``, ``-05:30:15``, optionally after UTC/GMT/UT."""
    text = re.sub(r"^(UTC|GMT|UT)", "", text)
    if text in ("Z", ""):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) == 1:
        digits = "0" + digits
    hours, minutes, seconds = int(digits[:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
    if hours > 18 or minutes > 59 or seconds > 59:
        raise ValueError(f"invalid zone offset '{text}'")
    return timezone(sign * timedelta(hours=hours, minutes=minutes, seconds=seconds))


def _from_epoch(number: int | float) -> datetime:
    """Epoch number -> UTC datetime, its unit inferred from its size like Kestra 1.x.

    Kestra 0.20 read a Long as epoch seconds; later versions also accept milliseconds,
    microseconds and nanoseconds.  Here: below 1e11 seconds (up to year 5138), below 1e14
    milliseconds, below 1e17 microseconds, else nanoseconds.  Floats are seconds.
    """
    magnitude = abs(number)
    if isinstance(number, float) or magnitude < 10**11:
        micros = number * 1_000_000
    elif magnitude < 10**14:
        micros = number * 1000
    elif magnitude < 10**17:
        micros = number
    else:
        micros = number // 1000
    try:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)
    except OverflowError:
        raise ValueError(f"the epoch number {number} is out of the supported date range") from None


def zoned_datetime(value: Any, existing_format: str | None, zone: tzinfo) -> datetime:
    """Kestra's ``AbstractDate.convert``: an aware datetime, in its own zone when it has one."""
    if isinstance(value, bool):
        raise ValueError(f"cannot use the boolean {str(value).lower()} as a date")
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(12), tzinfo=zone)
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if isinstance(value, str):
        if existing_format is not None:
            return parse_with_format(value, str(existing_format), zone)
        return parse_iso(value, zone)
    raise ValueError(f"cannot use {type(value).__name__} value '{value}' as a date")


def to_datetime(value: Any, existing_format: str | None = None, time_zone: str | None = None) -> datetime:
    """Convert a flow value to an aware datetime in ``time_zone`` (UTC by default).

    Accepts an aware datetime; a naive one is wall-clock time in ``time_zone`` (Kestra's
    LocalDateTime); a date is noon (LocalDate); an int/float is an epoch (see ``_from_epoch``);
    a string is ISO zoned date-time, ISO local date-time (in ``time_zone``) or ISO date (start of
    day), or follows ``existing_format`` (a Java pattern or named format) when given.
    """
    zone = get_zone(time_zone)
    return zoned_datetime(value, existing_format, zone).astimezone(zone)


# ---------------------------------------------------------------------------------------------
# Parsing

_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?(?:\[(?P<zone>[^\]]+)\])?)?"
)


def parse_iso(text: str, zone: tzinfo = UTC) -> datetime:
    """ISO zoned date-time, else local date-time (in ``zone``), else date (start of day in ``zone``)."""
    match = _ISO.fullmatch(text.strip())
    if not match:
        raise ValueError(f"cannot parse '{text}' as a date: expected ISO-8601 such as "
                         "2024-01-31T10:00:00Z or 2024-01-31, or give existingFormat")
    fields = {name: value for name, value in match.groupdict().items() if value is not None}
    return _resolve(fields, zone, text)


def _resolve(fields: dict[str, Any], zone: tzinfo, text: str) -> datetime:
    """Build a datetime from parsed text fields, as Java resolves them."""
    try:
        day = _resolve_date(fields)
        if "hour" not in fields:
            return datetime.combine(day, time(0), tzinfo=zone)
        hour = int(fields["hour"])
        if "ampm" in fields:
            hour = hour % 12 + (12 if fields["ampm"] == "PM" else 0)
        fraction = (fields.get("fraction", "") + "000000")[:6]
        moment = datetime.combine(day, time(hour, int(fields.get("minute", 0)), int(fields.get("second", 0)),
                                            int(fraction)))
    except ValueError as error:
        raise ValueError(f"cannot parse '{text}' as a date: {error}") from None
    if "zone" in fields:
        region = get_zone(fields["zone"])
        if "offset" in fields:
            return moment.replace(tzinfo=_parse_offset(fields["offset"])).astimezone(region)
        return moment.replace(tzinfo=region)
    if "offset" in fields:
        return moment.replace(tzinfo=_parse_offset(fields["offset"]))
    return moment.replace(tzinfo=zone)


def _resolve_date(fields: dict[str, Any]) -> date:
    if "year" not in fields:
        raise ValueError("no year")
    year = int(fields["year"])
    if "dayofyear" in fields:
        return date(year, 1, 1) + timedelta(days=int(fields["dayofyear"]) - 1)
    if "month" not in fields or "day" not in fields:
        raise ValueError("no month and day")
    result = date(year, _month_number(fields["month"]), int(fields["day"]))
    quarter = fields.get("quarter")
    if quarter and (result.month - 1) // 3 + 1 != int(quarter):
        raise ValueError(f"{result} is not in quarter {quarter}")
    weekday = fields.get("weekday")
    if weekday and DAYS[result.weekday()][:len(weekday)] != weekday:
        raise ValueError(f"{result} is not a {weekday}")
    return result


def _month_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    names = MONTHS if len(text) > 3 else tuple(m[:3] for m in MONTHS)
    if text not in names:
        raise ValueError(f"unknown month '{text}'")
    return names.index(text) + 1


_NAME_ALTERNATIVES = {
    ("M", 3): "|".join(m[:3] for m in MONTHS),
    ("M", 4): "|".join(MONTHS),
    ("E", 4): "|".join(DAYS),
}


def _field_regex(field: Field, group: str) -> str:
    letter, count = field.letter, field.count
    if (letter, count) in _NAME_ALTERNATIVES:
        body = _NAME_ALTERNATIVES[(letter, count)]
    elif letter == "E":
        body = "|".join(d[:3] for d in DAYS)
    elif letter == "a":
        body = "AM|PM"
    elif letter == "S":
        body = rf"\d{{{count}}}"
    elif letter in "yu" and count != 2:
        body = rf"\d{{{count},19}}"
    elif letter in "X":
        body = {1: r"Z|[+-]\d{2}(?:\d{2})?", 2: r"Z|[+-]\d{4}", 3: r"Z|[+-]\d{2}:\d{2}"}[count]
    elif letter == "x":
        body = {1: r"[+-]\d{2}(?:\d{2})?", 2: r"[+-]\d{4}", 3: r"[+-]\d{2}:\d{2}"}[count]
    elif letter == "Z":
        body = r"[+-]\d{4}"
    elif letter in "zV":
        body = r"[A-Za-z][A-Za-z0-9_/+\-]*"
    elif letter == "D":
        body = rf"\d{{{count},3}}"
    elif letter in "Qq":
        body = {1: "[1-4]", 2: "0[1-4]", 3: "Q[1-4]", 4: "|".join(_QUARTERS), 5: "[1-4]"}[count]
    else:
        body = r"\d{2}" if count == 2 else r"\d{1,2}"
    return f"(?P<{group}>{body})"


_FIELD_NAMES = {"y": "year", "u": "year", "M": "month", "d": "day", "D": "dayofyear", "H": "hour",
                "h": "hour", "a": "ampm", "m": "minute", "s": "second", "S": "fraction", "E": "weekday",
                "X": "offset", "x": "offset", "Z": "offset", "z": "zone", "V": "zone", "Q": "quarter",
                "q": "quarter"}


def _items_regex(items: tuple[Item, ...], groups: dict[str, Field]) -> str:
    parts = []
    for item in items:
        if isinstance(item, str):
            parts.append(re.escape(item))
        elif isinstance(item, OptionalSection):
            parts.append(f"(?:{_items_regex(item.items, groups)})?")
        else:
            group = f"g{len(groups)}"
            groups[group] = item
            parts.append(_field_regex(item, group))
    return "".join(parts)


@lru_cache(maxsize=128)
def _pattern_parser(pattern: str) -> tuple[re.Pattern[str], dict[str, Field]]:
    groups: dict[str, Field] = {}
    regex = _items_regex(compile_pattern(pattern), groups)
    return re.compile(regex), groups


_RFC_1123 = re.compile(
    r"(?:(?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(?P<day>\d{1,2}) (?P<month>[A-Z][a-z]{2}) (?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))? (?P<offset>GMT|[+-]\d{4})"
)


def parse_with_format(text: str, format: str, zone: tzinfo = UTC) -> datetime:
    """Parse ``text`` with a Java pattern or a named format (the whole text must match)."""
    if format == "rfc_1123_date_time":
        match = _RFC_1123.fullmatch(text)
        if not match:
            raise ValueError(f"cannot parse '{text}' as an RFC 1123 date")
        rfc_fields = {k: v for k, v in match.groupdict().items() if v is not None}
        if rfc_fields["offset"] == "GMT":
            rfc_fields["offset"] = "Z"
        return _resolve(rfc_fields, zone, text)
    if format in _NAMED_PRINTERS:
        return parse_iso(text, zone)
    regex, groups = _pattern_parser(NAMED_PATTERNS.get(format, format))
    match = regex.fullmatch(text)
    if not match:
        raise ValueError(f"cannot parse '{text}' with the date pattern '{format}'")
    fields: dict[str, Any] = {}
    for group, value in match.groupdict().items():
        if value is not None:
            field = groups[group]
            fields[_FIELD_NAMES[field.letter]] = _field_value(field, value)
    return _resolve(fields, zone, text)


def _field_value(field: Field, value: str) -> str:
    if field.letter in "Qq":
        return re.sub(r"\D", "", value)[-1]  # the quarter's digit
    if field.letter in "yu" and field.count == 2:
        return str(2000 + int(value))
    if field.letter == "S":
        return value[:6]
    return value
