"""Amazon Ion files as Kestra writes and reads them, shared by every family that stores rows.

Kestra's internal files are Ion text, one value per line (``.ion``). Its Ion mapper writes
a LocalDate as a day-precision timestamp, an Instant as a UTC timestamp to the millisecond,
and the other java.time values as annotated strings (``LocalDateTime::"2024-01-02T03:04:05"``);
its reader turns them back, and reads an un-annotated timestamp as an Instant (a LocalDate when
it is midnight UTC). The Python values for those Java types:

=================  ===========================================================
Instant            an ``amazon.ion`` ``Timestamp`` in UTC (see :func:`instant`)
ZonedDateTime      an aware ``datetime`` (also OffsetDateTime)
LocalDateTime      a naive ``datetime``
LocalDate          a ``date``
LocalTime          a naive ``time`` (OffsetTime: an aware one)
=================  ===========================================================

``amazon.ion`` is optional: callers pass the message that names their extra.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..expressions.dates import parse_iso
from ..internal_storage import to_uri
from .base import TaskContext, TaskFailure

_SCALARS = (bool, int, float, str, bytes, Decimal, type(None))
_FLAT = frozenset(_SCALARS)  # exact types: subclasses (annotated Ion values...) take the long way


def simpleion(missing: str) -> Any:
    """``amazon.ion.simpleion``, or a task failure saying ``missing`` (how to install it)."""
    try:
        from amazon.ion import simpleion as module
    except ImportError:
        raise TaskFailure(missing) from None
    return module


# -- files of a task run -----------------------------------------------------------------

def storage_path(ctx: TaskContext, name: str) -> Path:
    """Where a file ``name`` that the task run outputs goes (its storage folder, created)."""
    folder = ctx.storage_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def output_path(ctx: TaskContext, extension: str) -> Path:
    """A new file ``<task id>_<random><extension>`` in the task run's storage folder."""
    return storage_path(ctx, f"{ctx.run.task_id}_{uuid.uuid4().hex[:12]}{extension}")


def store_values(ctx: TaskContext, values: Iterable[Any], missing: str) -> dict[str, Any]:
    """Write ``values`` as a new Ion file of the task run: ``{"uri", "size"}``."""
    path = output_path(ctx, ".ion")
    try:
        size = write_ion(path, values, missing)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return {"uri": to_uri(path), "size": size}


def write_ion(path: Path, values: Iterable[Any], missing: str) -> int:
    """Write ``values`` to ``path`` as Ion text, one value per line; the number written."""
    dumps = simpleion(missing).dumps
    size = 0
    with path.open("w", encoding="utf-8") as out:
        for value in values:
            out.write(dumps(ion_value(value), binary=False, omit_version_marker=True))
            out.write("\n")
            size += 1
    return size


# -- writing -----------------------------------------------------------------------------

def ion_value(value: Any) -> Any:
    """A Python value as amazon.ion writes it the way Kestra's Ion mapper does."""
    if isinstance(value, _SCALARS):  # the common case first: no amazon.ion import needed
        return value
    if isinstance(value, dict):
        if all(type(key) is str for key in value) and all(type(item) in _FLAT for item in value.values()):
            return value  # a flat row (CSV's): as it is, without a copy
        return {str(key): ion_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [ion_value(item) for item in value]
    from amazon.ion.core import IonType, Timestamp, TimestampPrecision
    from amazon.ion.simple_types import IonPyText

    def annotated(kind: str, text: str) -> Any:
        return IonPyText.from_value(IonType.STRING, text, (kind,))

    if isinstance(value, Timestamp):  # an Instant (see instant())
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return annotated("LocalDateTime", value.isoformat())
        key = getattr(value.tzinfo, "key", None)
        return annotated("ZonedDateTime", value.isoformat() + (f"[{key}]" if key else ""))
    if isinstance(value, date):
        return Timestamp(value.year, value.month, value.day, precision=TimestampPrecision.DAY)
    if isinstance(value, time):
        return annotated("OffsetTime" if value.tzinfo else "LocalTime", value.isoformat())
    if isinstance(value, timedelta):
        return _iso_duration(value)
    return str(value)


def _iso_duration(delta: timedelta) -> str:
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = f"{seconds + delta.microseconds / 1e6:g}"
    return f"P{delta.days}DT{hours}H{minutes}M{fraction}S"


def instant(moment: datetime) -> Any:
    """An aware datetime as an Instant: a UTC ``Timestamp``, to the millisecond when that is exact
    (as Kestra writes them), else to the microsecond."""
    from amazon.ion.core import Timestamp, TimestampPrecision

    utc = moment.astimezone(timezone.utc)
    digits = 3 if utc.microsecond % 1000 == 0 else 6
    return Timestamp(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond,
                     tzinfo=timezone.utc, precision=TimestampPrecision.SECOND, fractional_precision=digits)


def is_instant(value: Any) -> bool:
    """Whether ``value`` is an Instant (a ``Timestamp``, see :func:`instant`)."""
    return isinstance(value, datetime) and isinstance(value, _timestamp_class())


@functools.cache
def _timestamp_class() -> type:
    from amazon.ion.core import Timestamp

    return Timestamp


def plain_datetime(value: datetime) -> datetime:
    """A ``datetime`` (not a ``Timestamp`` subclass) with the same fields and zone."""
    return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                    value.microsecond, tzinfo=value.tzinfo)


# -- reading -----------------------------------------------------------------------------

def read_ion(path: Path, missing: str, raw: bool = False) -> Iterator[Any]:
    """The top-level values of an Ion file, one at a time (bounded memory).

    Values come as Kestra's Ion reader gives them (see the module docstring) unless ``raw``:
    then as ``amazon.ion`` loads them, annotations kept. A malformed file is a task failure.
    """
    module = simpleion(missing)
    from amazon.ion.exceptions import IonException
    from amazon.ion.simpleion import IonPyValueModel

    model = IonPyValueModel.ION_PY if raw else (
        IonPyValueModel.MAY_BE_BARE | IonPyValueModel.SYMBOL_AS_TEXT | IonPyValueModel.STRUCT_AS_STD_DICT)
    number = 0
    with path.open("rb") as source:
        values = module.load(source, single_value=False, parse_eagerly=False, value_model=model)
        while True:
            try:
                value = next(values)
            except StopIteration:
                return
            except (IonException, ValueError, TypeError) as exc:
                raise TaskFailure(f"'{path.name}' is not a valid Ion file: value {number + 1}: "
                                  f"{str(exc).strip() or type(exc).__name__}") from None
            number += 1
            yield value if raw else kestra_value(value)


_BARE = frozenset({str, int, float, bool, Decimal, bytes, type(None)})


def kestra_value(value: Any) -> Any:
    """A loaded Ion value as Kestra's Ion reader gives it: annotated strings and timestamps as
    java.time values, typed nulls as None, S-expressions as lists, annotations dropped."""
    kind = type(value)
    if kind in _BARE:
        return value
    if kind is dict:
        return {key: kestra_value(item) for key, item in value.items()}
    if kind is list:
        return [kestra_value(item) for item in value]
    if isinstance(value, datetime):  # an amazon.ion Timestamp
        return _timestamp(value)
    from amazon.ion.simple_types import IonPyNull

    if isinstance(value, IonPyNull):
        return None
    annotations = [getattr(a, "text", a) for a in getattr(value, "ion_annotations", ())]
    if isinstance(value, str):
        parsed = _annotated(annotations[0], str(value)) if annotations else None
        return str(value) if parsed is None else parsed
    if isinstance(value, dict):
        return {key: kestra_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [kestra_value(item) for item in value]
    from amazon.ion.core import IonType

    if getattr(value, "ion_type", None) is IonType.BOOL:  # an int subclass: bool cannot be subclassed
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, bytes):
        return bytes(value)
    return value


def _timestamp(value: datetime) -> Any:
    """Kestra: no offset or UTC -> Instant (LocalDate at midnight); another offset -> zoned."""
    offset = value.utcoffset()
    if offset is None or offset == timedelta(0):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return date(value.year, value.month, value.day)
        if value.tzinfo is timezone.utc:
            return value
        return instant(plain_datetime(value).replace(tzinfo=timezone.utc))
    return plain_datetime(value)


_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?")


def parse_time(text: str) -> time:
    """ISO local or offset time (``03:04``, ``03:04:05.123456789+02:00``); ValueError otherwise."""
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not an ISO time")
    hour, minute, second, fraction, offset = match.groups()
    zone = None
    if offset:
        zone = parse_iso(f"1970-01-01T00:00{offset}").tzinfo
    return time(int(hour), int(minute), int(second or 0), int((fraction or "").ljust(6, "0")[:6]), tzinfo=zone)


def _annotated(kind: str, text: str) -> Any:
    """The java.time value of an annotated string, or None for an unknown annotation or text."""
    try:
        if kind == "Instant":
            return instant(parse_iso(text))
        if kind in ("ZonedDateTime", "OffsetDateTime"):
            return parse_iso(text)
        if kind == "LocalDateTime":
            return parse_iso(text).replace(tzinfo=None)
        if kind == "LocalDate":
            return date.fromisoformat(text)
        if kind in ("LocalTime", "OffsetTime"):
            return parse_time(text)
    except ValueError:
        return None
    return None
