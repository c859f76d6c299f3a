"""Kestra's Schedule trigger: cron ticks in a time zone, and the ``trigger.*`` variables of a tick.

croniter does the cron arithmetic on timezone-aware datetimes; two rules on top
match cron-utils, the library Kestra uses:

* spring forward: a wall-clock time that does not exist that day (02:30 when
  clocks jump from 02:00 to 03:00) has no tick that day;
* fall back: a wall-clock time that happens twice fires once (the first time)
  for crons that fire less often than hourly; hourly and more frequent crons
  fire in both copies of the repeated hour, so they keep their real-time rhythm.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from ..durations import parse_duration
from ..errors import UserError
from .base import Problems, Trigger, check_common

SCHEDULE_TYPES = frozenset({"io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule"})
RECOVER_MODES = ("ALL", "LAST", "NONE")
_HOUR = timedelta(hours=1)
# Kestra's schedule conditions (DayWeek, Weekend...) are not evaluated here: flows using them are refused.
_UNSUPPORTED = {"conditions": "schedule conditions", "scheduleConditions": "schedule conditions"}


def is_schedule(raw: Mapping[str, Any]) -> bool:
    return raw.get("type") in SCHEDULE_TYPES


@dataclass(frozen=True, kw_only=True)
class ScheduleTrigger(Trigger):
    """One ``Schedule`` trigger of a flow."""

    cron: str
    with_seconds: bool = False
    timezone: str = "UTC"
    recover_missed_schedules: str = "ALL"
    late_maximum_delay: timedelta | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ScheduleTrigger:
        """Parse a (validated) trigger map; raises UserError on values check_schedule refuses."""
        problems = check_schedule(raw)
        if problems:
            raise UserError(f"trigger '{raw.get('id')}': " + "; ".join(f"{p}: {m}" for p, m in problems))
        delay = raw.get("lateMaximumDelay")
        return cls(**Trigger.common(raw), cron=str(raw["cron"]), with_seconds=bool(raw.get("withSeconds", False)),
                   timezone=str(raw.get("timezone") or "UTC"),
                   recover_missed_schedules=str(raw.get("recoverMissedSchedules") or "ALL"),
                   late_maximum_delay=parse_duration(delay) if delay else None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def localize(self, when: datetime) -> datetime:
        """``when`` in the trigger's zone; a naive datetime is read as wall-clock time in that zone."""
        return when.replace(tzinfo=self.zone) if when.tzinfo is None else when.astimezone(self.zone)

    def next_after(self, when: datetime) -> datetime | None:
        """The first tick strictly after ``when``."""
        return next(self._ticks(when, forward=True), None)

    def previous_before(self, when: datetime) -> datetime | None:
        """The last tick strictly before ``when``."""
        return next(self._ticks(when, forward=False), None)

    def tick_at_or_after(self, when: datetime) -> datetime | None:
        """``when`` itself when it is a tick, else the next one (Kestra evaluates ``date - 1s``)."""
        return self.next_after(self.localize(when).replace(microsecond=0) - timedelta(seconds=1))

    def ticks(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every tick in ``[start, end)``, in order."""
        end = _utc(self.localize(end))
        first = self.tick_at_or_after(start)
        if first is None or _utc(first) >= end:
            return
        yield first
        for tick in self._ticks(first, forward=True):
            if _utc(tick) >= end:
                return
            yield tick

    def variables(self, tick: datetime) -> dict[str, Any]:
        """``trigger.date``, ``trigger.next`` and ``trigger.previous`` for an execution of ``tick``."""
        tick = self.localize(tick).replace(microsecond=0)
        return {"date": tick, "next": self.next_after(tick), "previous": self.previous_before(tick)}

    # -- cron arithmetic -----------------------------------------------------------------

    def _ticks(self, when: datetime, forward: bool) -> Iterator[datetime]:
        cursor = croniter(self.cron, self.localize(when), second_at_beginning=self.with_seconds)
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
        if not croniter.match(self.cron, local, second_at_beginning=self.with_seconds):
            return False  # croniter moved a time that does not exist (spring forward) to the gap's end
        first_copy = local.replace(tzinfo=self.zone, fold=0)
        if first_copy.utcoffset() == tick.utcoffset():
            return True
        following = croniter(self.cron, tick, second_at_beginning=self.with_seconds).get_next(datetime)
        return _utc(following) - _utc(tick) <= _HOUR  # the second copy of a repeated time: only frequent crons


def _utc(when: datetime) -> datetime:
    """Same-zone datetimes compare and subtract by wall clock (fold ignored); UTC ones do not."""
    return when.astimezone(timezone.utc)


def check_schedule(raw: Mapping[str, Any]) -> Problems:
    """Problems with a Schedule trigger's properties beyond `cron` (which parse.py checks)."""
    problems = check_common(raw)
    zone = raw.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(("timezone", f"unknown time zone '{zone}' (use an IANA id such as Europe/Paris)"))
    recover = raw.get("recoverMissedSchedules")
    if recover is not None and recover not in RECOVER_MODES:
        problems.append(("recoverMissedSchedules", f"must be one of {', '.join(RECOVER_MODES)}, not '{recover}'"))
    if "withSeconds" in raw and not isinstance(raw["withSeconds"], bool):
        problems.append(("withSeconds", "must be true or false"))
    if raw.get("lateMaximumDelay") is not None:
        try:
            parse_duration(raw["lateMaximumDelay"])
        except ValueError as exc:
            problems.append(("lateMaximumDelay", str(exc)))
    for prop, what in _UNSUPPORTED.items():
        if raw.get(prop):
            problems.append((prop, f"{what} are not supported by nb_orchestra; remove them or use a cron that says it"))
    return problems

