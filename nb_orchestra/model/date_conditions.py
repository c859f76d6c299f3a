"""Kestra's date conditions (DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween,
PublicHoliday): what a Schedule tests at each tick. Each tests ``date``, by default the tick itself
(``{{ trigger.date }}``)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from ..expressions.dates import parse_iso
from .conditions import Condition, ConditionContext, ConditionError, Problems

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
DAYS_IN_MONTH = ("FIRST", "SECOND", "THIRD", "FOURTH", "LAST")
TRIGGER_DATE = "{{ trigger.date }}"


def _zoned(value: Any) -> datetime:
    """A condition's date: a datetime as it is, or ISO text (``ZonedDateTime.parse``, or a date)."""
    if isinstance(value, datetime):
        return value
    try:
        return parse_iso(str(value))
    except ValueError as exc:
        raise ConditionError(str(exc)) from None


@dataclass(frozen=True)
class _OnDate(Condition):
    """A condition on ``date`` (the tick, ``{{ trigger.date }}``, by default)."""

    schedule = True
    date: str = TRIGGER_DATE

    def moment(self, context: ConditionContext) -> datetime:
        if context.date is not None and self.date.strip() == TRIGGER_DATE:
            return context.date  # the tick itself, in the trigger's zone, without rendering
        return _zoned(context.render(self.date))

    @classmethod
    def date_of(cls, raw: Mapping[str, Any]) -> str:
        return str(raw.get("date") or TRIGGER_DATE)


def _weekday(raw: Mapping[str, Any]) -> int:
    return DAYS.index(str(raw["dayOfWeek"]))


def _check_choice(raw: Mapping[str, Any], prop: str, choices: tuple[str, ...]) -> Problems:
    if prop in raw and raw[prop] not in choices:
        return [(f".{prop}", f"must be one of {', '.join(choices)}, not '{raw[prop]}'")]
    return []


@dataclass(frozen=True)
class DayWeek(_OnDate):
    kind = "DayWeek"
    required = ("dayOfWeek",)
    day_of_week: int = 0

    def test(self, context: ConditionContext) -> bool:
        return self.moment(context).weekday() == self.day_of_week

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        return _check_choice(raw, "dayOfWeek", DAYS)

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(date=cls.date_of(raw), day_of_week=_weekday(raw))


@dataclass(frozen=True)
class DayWeekInMonth(_OnDate):
    """The date is the first (second, third, fourth, last) given day of the week of its month."""

    kind = "DayWeekInMonth"
    required = ("dayOfWeek", "dayInMonth")
    day_of_week: int = 0
    day_in_month: str = "FIRST"

    def test(self, context: ConditionContext) -> bool:
        day = self.moment(context).date()
        if self.day_in_month == "LAST":
            return day.weekday() == self.day_of_week and (day.day + 7 > _month_length(day))
        rank = DAYS_IN_MONTH.index(self.day_in_month)
        return day.weekday() == self.day_of_week and (day.day - 1) // 7 == rank

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        return _check_choice(raw, "dayOfWeek", DAYS) + _check_choice(raw, "dayInMonth", DAYS_IN_MONTH)

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(date=cls.date_of(raw), day_of_week=_weekday(raw), day_in_month=str(raw["dayInMonth"]))


def _month_length(day: date) -> int:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - date(day.year, day.month, 1)).days


@dataclass(frozen=True)
class Weekend(_OnDate):
    kind = "Weekend"

    def test(self, context: ConditionContext) -> bool:
        return self.moment(context).weekday() >= 5

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(date=cls.date_of(raw))


@dataclass(frozen=True)
class DateTimeBetween(_OnDate):
    """The date is strictly after ``after`` and strictly before ``before`` (each when given)."""

    kind = "DateTimeBetween"
    after: datetime | None = None
    before: datetime | None = None

    def test(self, context: ConditionContext) -> bool:
        moment = self.moment(context)
        return (self.after is None or moment > self.after) and (self.before is None or moment < self.before)

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        problems = [] if raw.get("after") or raw.get("before") else [("", "Invalid condition with no before nor after")]
        for prop in ("after", "before"):
            if raw.get(prop) and not _ZONED.fullmatch(str(raw[prop])):
                problems.append((f".{prop}", f"'{raw[prop]}' is not a date-time with a zone such as "
                                              "2024-01-31T10:00:00Z"))
        return problems

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        after, before = raw.get("after"), raw.get("before")
        return cls(date=cls.date_of(raw), after=parse_iso(str(after)) if after else None,
                   before=parse_iso(str(before)) if before else None)


_ZONED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})(\[[^\]]+\])?")
_OFFSET_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})")


def _offset_time(text: str) -> time:
    return time.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class TimeBetween(_OnDate):
    """The time of the date is strictly after ``after`` and before ``before`` (``OffsetTime``, compared
    on the same day in UTC as Java does)."""

    kind = "TimeBetween"
    after: time | None = None
    before: time | None = None

    def test(self, context: ConditionContext) -> bool:
        moment = self.moment(context)
        current = _utc_seconds(moment.timetz())
        return ((self.after is None or current > _utc_seconds(self.after))
                and (self.before is None or current < _utc_seconds(self.before)))

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        problems = [] if raw.get("after") or raw.get("before") else [("", "Invalid condition with no before nor after")]
        for prop in ("after", "before"):
            if raw.get(prop) and not _OFFSET_TIME.fullmatch(str(raw[prop])):
                problems.append((f".{prop}", f"'{raw[prop]}' is not a time with an offset such as 14:00:00+02:00"))
        return problems

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        after, before = raw.get("after"), raw.get("before")
        return cls(date=cls.date_of(raw), after=_offset_time(str(after)) if after else None,
                   before=_offset_time(str(before)) if before else None)


def _utc_seconds(t: time) -> float:
    """``OffsetTime`` compared as Java compares them: the instant on one shared day."""
    offset = t.utcoffset()
    seconds = t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6
    return seconds - (offset.total_seconds() if offset is not None else 0)


@dataclass(frozen=True)
class PublicHoliday(_OnDate):
    """The date is a public holiday of ``country`` (and of its ``subDivision``), from the calendars of
    the ``holidays`` package (Kestra uses the Java library Jollyday). Without a country, the country
    of the default locale (``LC_ALL``, ``LC_CTYPE``, ``LANG``), as Java's."""

    kind = "PublicHoliday"
    country: str | None = None
    sub_division: str | None = None

    def test(self, context: ConditionContext) -> bool:
        country = context.render(self.country) if self.country else _locale_country()
        sub_division = context.render(self.sub_division) if self.sub_division else None
        day = self.moment(context).date()
        return day in _calendar(country.strip().upper(), _subdivision_code(country, sub_division), day.year)

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        return [(f".{prop}", "must be a string") for prop in ("country", "subDivision")
                if raw.get(prop) is not None and not isinstance(raw[prop], str)]

    @classmethod
    def build(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(date=cls.date_of(raw), country=raw.get("country") or None,
                   sub_division=raw.get("subDivision") or None)


def _locale_country() -> str:
    """The country of the locale: the first of LC_ALL, LC_CTYPE, LANG that is set (``fr_FR.UTF-8``)."""
    setting = next((os.environ[name] for name in ("LC_ALL", "LC_CTYPE", "LANG") if os.environ.get(name)), "")
    match = re.match(r"[a-z]{2,3}_([A-Z]{2})\b", setting)
    if match is None:
        raise ConditionError("PublicHoliday: no country given, and the default locale names none (set `country`)")
    return match.group(1)


def _subdivision_code(country: str, sub_division: str | None) -> str | None:
    """``BE`` as written, or ``DE-BE`` (ISO 3166-2's full code) without its country; blank is none."""
    code = (sub_division or "").strip()
    prefix = f"{country.strip()}-"
    if code.upper().startswith(prefix.upper()):
        code = code[len(prefix):]
    return code or None


@functools.lru_cache(maxsize=64)  # a Schedule's conditions are tested at every tick it looks ahead to
def _calendar(country: str, sub_division: str | None, year: int) -> Any:
    try:
        import holidays
    except ImportError:
        raise ConditionError("PublicHoliday needs the holidays package: pip install 'nb-orchestra[holidays]'") from None
    try:
        return holidays.country_holidays(country, subdiv=sub_division, years=year)
    except NotImplementedError:
        if sub_division and sub_division != sub_division.upper():  # `be` for BE; some names are mixed case
            return _calendar(country, sub_division.upper(), year)
        where = f"subdivision '{sub_division}' of country '{country}'" if sub_division else f"country '{country}'"
        raise ConditionError(f"PublicHoliday: no public holiday calendar for the {where}") from None
