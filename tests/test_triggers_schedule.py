"""Schedule trigger parsing, cron arithmetic, time zones and DST; trigger checks; state file; FakeClock."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta, timezone

import pytest

from nb_orchestra.errors import UserError
from nb_orchestra.model.triggers import ScheduleTrigger, check_trigger
from nb_orchestra.triggers import FakeClock

SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"


def schedule(cron: str, **props) -> ScheduleTrigger:
    return ScheduleTrigger.from_dict({"id": "s", "type": SCHEDULE, "cron": cron, **props})


def iso(ticks) -> list[str]:
    return [t.isoformat() for t in ticks]


def test_monthly_ticks_in_half_open_range():
    ticks = schedule("0 9 1 * *").ticks(datetime(2019, 1, 1), datetime(2019, 4, 1))
    assert iso(ticks) == ["2019-01-01T09:00:00+00:00", "2019-02-01T09:00:00+00:00", "2019-03-01T09:00:00+00:00"]


def test_range_start_on_a_tick_includes_it_and_end_on_a_tick_excludes_it():
    s = schedule("0 9 1 * *")
    assert iso(s.ticks(datetime(2019, 1, 1, 9), datetime(2019, 2, 1, 9))) == ["2019-01-01T09:00:00+00:00"]


def test_trigger_variables_are_aware_in_the_trigger_zone():
    s = schedule("0 9 1 * *", timezone="Europe/Paris")
    variables = s.variables(datetime(2019, 2, 1, 9))
    assert variables["date"].isoformat() == "2019-02-01T09:00:00+01:00"
    assert variables["next"].isoformat() == "2019-03-01T09:00:00+01:00"
    assert variables["previous"].isoformat() == "2019-01-01T09:00:00+01:00"
    assert str(variables["date"].tzinfo) == "Europe/Paris"


def test_variables_truncate_to_seconds():
    tick = schedule("* * * * *").variables(datetime(2024, 1, 1, 0, 1, 0, 123456, tzinfo=timezone.utc))["date"]
    assert tick.microsecond == 0


def test_default_zone_is_utc_and_naive_datetimes_are_wall_clock_in_the_trigger_zone():
    assert str(schedule("@daily").variables(datetime(2024, 1, 1))["date"].tzinfo) == "UTC"
    paris = schedule("0 9 * * *", timezone="Europe/Paris")
    assert paris.next_after(datetime(2024, 1, 1)).astimezone(timezone.utc).hour == 8  # CET
    assert paris.next_after(datetime(2024, 7, 1)).astimezone(timezone.utc).hour == 7  # CEST


@pytest.mark.parametrize("cron, expected", [
    ("@hourly", "2024-01-01T01:00:00+00:00"),
    ("@daily", "2024-01-02T00:00:00+00:00"),
    ("@midnight", "2024-01-02T00:00:00+00:00"),
    ("@weekly", "2024-01-07T00:00:00+00:00"),
    ("@monthly", "2024-02-01T00:00:00+00:00"),
    ("@yearly", "2025-01-01T00:00:00+00:00"),
    ("@annually", "2025-01-01T00:00:00+00:00"),
    ("0 0 * * 7", "2024-01-07T00:00:00+00:00"),  # 7 and 0 are both Sunday
    ("0 0 * * 0", "2024-01-07T00:00:00+00:00"),
])
def test_nicknames_and_sunday(cron, expected):
    assert schedule(cron).next_after(datetime(2024, 1, 1, tzinfo=timezone.utc)).isoformat() == expected


def test_with_seconds_takes_a_leading_seconds_field():
    s = schedule("*/20 * * * * *", withSeconds=True)
    assert iso(s.ticks(datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 1))) == [
        "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:20+00:00", "2024-01-01T00:00:40+00:00"]


def test_a_cron_that_never_fires_has_no_next_tick():
    assert schedule("0 0 31 2 *").next_after(datetime(2024, 1, 1)) is None


def test_a_year_of_monthly_ticks():
    ticks = list(schedule("0 9 1 * *").ticks(datetime(2024, 1, 1), datetime(2025, 1, 1)))
    assert [t.month for t in ticks] == list(range(1, 13))


# -- daylight saving time (America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00) ----------

NY = "America/New_York"


def test_spring_forward_skips_a_time_that_does_not_exist():
    s = schedule("30 2 * * *", timezone=NY)
    assert iso(s.ticks(datetime(2026, 3, 7), datetime(2026, 3, 10))) == [
        "2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"]
    assert s.previous_before(datetime(2026, 3, 9)).isoformat() == "2026-03-07T02:30:00-05:00"


def test_spring_forward_keeps_frequent_crons_on_real_times():
    s = schedule("*/30 * * * *", timezone=NY)
    assert iso(s.ticks(datetime(2026, 3, 8, 1), datetime(2026, 3, 8, 4))) == [
        "2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00",
        "2026-03-08T03:30:00-04:00"]


def test_fall_back_fires_a_daily_time_once():
    s = schedule("30 1 * * *", timezone=NY)
    assert iso(s.ticks(datetime(2026, 10, 31), datetime(2026, 11, 3))) == [
        "2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
    assert s.previous_before(datetime(2026, 11, 2)).isoformat() == "2026-11-01T01:30:00-04:00"


def test_fall_back_fires_an_hourly_cron_in_both_copies_of_the_hour():
    s = schedule("0 * * * *", timezone=NY)
    ticks = list(s.ticks(datetime(2026, 11, 1, 0, 30), datetime(2026, 11, 1, 2, 30)))
    assert iso(ticks) == ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"]
    utc = [t.astimezone(timezone.utc) for t in ticks]
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(utc))


# -- checks ------------------------------------------------------------------------------------------


def test_check_trigger_accepts_a_course_schedule():
    assert check_trigger({"id": "green_schedule", "type": SCHEDULE, "cron": "0 9 1 * *",
                          "inputs": {"taxi": "green"}}) == []


@pytest.mark.parametrize("props, prop", [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"recoverMissedSchedules": "SOME"}, "recoverMissedSchedules"),
    ({"stopAfter": ["FAILD"]}, "stopAfter[0]"),
    ({"stopAfter": "FAILED"}, "stopAfter"),
    ({"inputs": ["taxi"]}, "inputs"),
    ({"lateMaximumDelay": "P1M"}, "lateMaximumDelay"),
    ({"withSeconds": "yes"}, "withSeconds"),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.Holiday"}]}, "conditions[0].type"),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.DayWeek", "dayOfWeek": "SUNDAYS"}]},
     "conditions[0].dayOfWeek"),
    ({"conditions": {"type": "io.kestra.plugin.core.condition.Weekend"}}, "conditions"),
])
def test_check_trigger_reports_bad_schedule_properties(props, prop):
    problems = check_trigger({"id": "s", "type": SCHEDULE, "cron": "@daily", **props})
    assert [p for p, _ in problems] == [prop]


def test_from_dict_refuses_what_the_check_refuses():
    with pytest.raises(UserError, match="unknown time zone"):
        schedule("@daily", timezone="Nowhere/Land")


def test_check_trigger_ignores_other_trigger_types():
    assert check_trigger({"id": "w", "type": "io.kestra.plugin.core.trigger.Webhook", "key": "k"}) == []


# -- state file and clock ------------------------------------------------------------------------------


def test_fake_clock_waits_until_advanced():
    clock = FakeClock("2024-01-01T00:00:00+00:00")
    wake = threading.Event()
    done = []
    waiter = threading.Thread(target=lambda: done.append(clock.wait(wake, clock.now() + timedelta(days=30))))
    waiter.start()
    waiter.join(0.05)
    assert waiter.is_alive()
    clock.advance(days=31)
    waiter.join(1)
    assert done == [False]
    with pytest.raises(ValueError):
        clock.set("2023-01-01T00:00:00+00:00")
