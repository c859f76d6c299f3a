"""Cron arithmetic as cron-utils (the library Kestra uses) does it, in a time zone.

croniter does the arithmetic on timezone-aware datetimes; two rules on top
match cron-utils:

* spring forward: a wall-clock time that does not exist that day (02:30 when
  clocks jump from 02:00 to 03:00) has no tick that day;
* fall back: a wall-clock time that happens twice fires once (the first time)
  for crons that fire less often than hourly; hourly and more frequent crons
  fire in both copies of the repeated hour, so they keep their real-time rhythm.

croniter takes ~60 ms to import, so only flows with a Schedule trigger load this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

_HOUR = timedelta(hours=1)


def is_valid(expression: str, with_seconds: bool) -> bool:
    """True when croniter reads ``expression`` (with a leading seconds field when ``with_seconds``)."""
    return croniter.is_valid(expression, second_at_beginning=with_seconds)


class Cron:
    """A cron expression read in one time zone; every datetime it takes is aware."""

    def __init__(self, expression: str, with_seconds: bool, zone: ZoneInfo) -> None:
        self.expression = expression
        self.with_seconds = with_seconds
        self.zone = zone

    def next_after(self, when: datetime) -> datetime | None:
        """The first tick strictly after ``when``."""
        return next(self._ticks(when, forward=True), None)

    def previous_before(self, when: datetime) -> datetime | None:
        """The last tick strictly before ``when``."""
        return next(self._ticks(when, forward=False), None)

    def tick_at_or_after(self, when: datetime) -> datetime | None:
        """``when`` itself when it is a tick, else the next one (Kestra evaluates ``date - 1s``)."""
        return self.next_after(when.astimezone(self.zone).replace(microsecond=0) - timedelta(seconds=1))

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every tick in ``[start, end)``, in order."""
        end = _utc(end)
        first = self.tick_at_or_after(start)
        if first is None or _utc(first) >= end:
            return
        yield first
        for tick in self._ticks(first, forward=True):
            if _utc(tick) >= end:
                return
            yield tick

    def _ticks(self, when: datetime, forward: bool) -> Iterator[datetime]:
        cursor = croniter(self.expression, when.astimezone(self.zone), second_at_beginning=self.with_seconds)
        step = cursor.get_next if forward else cursor.get_prev
        while True:
            try:
                tick = step(datetime)
            except CroniterBadDateError:  # a cron like `0 0 31 2 *` never fires
                return
            if self._fires(tick):
                yield _utc(tick).astimezone(self.zone).replace(microsecond=0)

    def _fires(self, tick: datetime) -> bool:
        """False for croniter's stand-ins for DST-skipped times and for repeated times cron-utils skips."""
        local = tick.replace(tzinfo=None)
        if not croniter.match(self.expression, local, second_at_beginning=self.with_seconds):
            return False  # croniter moved a time that does not exist (spring forward) to the gap's end
        first_copy = local.replace(tzinfo=self.zone, fold=0)
        if first_copy.utcoffset() == tick.utcoffset():
            return True
        following = croniter(self.expression, tick, second_at_beginning=self.with_seconds).get_next(datetime)
        return _utc(following) - _utc(tick) <= _HOUR  # the second copy of a repeated time: only frequent crons


def _utc(when: datetime) -> datetime:
    """Same-zone datetimes compare and subtract by wall clock (fold ignored); UTC ones do not."""
    return when.astimezone(timezone.utc)
