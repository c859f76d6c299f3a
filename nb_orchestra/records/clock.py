"""Moments as the engine keeps them: float seconds since the Unix epoch, made into datetimes when read.

A finished task run keeps two moments (its start and its end, each shared with its attempt) and its
log line one. A float takes 24 bytes (32 as the allocator rounds it) where an aware datetime takes
48, so at a million task runs floats save about 48 MB, and ``time.time()`` is several times cheaper
than ``datetime.now()``.
Reading one (``TaskRun.start_date``) goes through whole microseconds, as the store writes it, so a
task run reads back exactly as it was live.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, overload

clock = time.time  # the engine's "now", as float seconds since the epoch

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime | None) -> int | None:
    """A datetime as whole microseconds since the epoch (naive ones are local time)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone(timezone.utc)
    return (moment - _EPOCH) // _MICROSECOND


def moment(value: int | None) -> datetime | None:
    """:func:`micros` back: an aware UTC datetime."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def seconds_micros(seconds: float | None) -> int | None:
    """A :func:`clock` reading as whole microseconds (exact: a float holds today's dates to 0.25 µs)."""
    return None if seconds is None else round(seconds * 1_000_000)


class DateSlot:
    """A datetime attribute of a slotted record, kept as float seconds in the slot ``slot``."""

    __slots__ = ("slot",)

    def __init__(self, slot: str):
        self.slot = slot

    @overload
    def __get__(self, record: None, owner: type) -> DateSlot: ...
    @overload
    def __get__(self, record: object, owner: type) -> Any: ...

    def __get__(self, record: object | None, owner: type) -> Any:
        if record is None:
            return self
        return moment(seconds_micros(getattr(record, self.slot)))

    def __set__(self, record: object, value: datetime | None) -> None:
        us = micros(value)
        setattr(record, self.slot, None if us is None else us / 1_000_000)
