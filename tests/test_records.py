"""The engine's records: moments kept as float seconds, a run's attempts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nb_orchestra.records import states
from nb_orchestra.records.clock import micros, moment, seconds_micros
from nb_orchestra.records.execution import Attempt, LogRecord, TaskRun


def test_a_date_set_on_a_record_reads_back_to_the_microsecond():
    run = TaskRun("t", "io.kestra.plugin.core.debug.Return", None)
    for when in (datetime(2019, 1, 1, 9, 30, 0, 999_999, tzinfo=timezone.utc),
                 datetime(2026, 12, 5, 23, 59, 59, 1, tzinfo=timezone.utc),
                 datetime(1999, 12, 31, 23, 59, 59, 500_000, tzinfo=timezone(timedelta(hours=5)))):
        run.start_date = when
        assert run.start_date == when and run.start_date.tzinfo is not None
        assert seconds_micros(run.began) == micros(when)
    run.end_date = None
    assert run.ended is None and run.end_date is None


def test_a_live_moment_reads_as_the_store_writes_it():
    log = LogRecord("t", "id", None, "INFO", "hello")
    assert log.timestamp == moment(seconds_micros(log.at))
    assert abs(log.timestamp - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_a_run_keeps_one_attempt_alone_and_reads_a_tuple():
    run = TaskRun("t", "x", None)
    assert run.attempts == ()
    first, second = Attempt(run.began), Attempt()
    run.add_attempt(first)
    assert run.attempts == (first,) and first.start_date == run.start_date
    run.add_attempt(second)
    assert run.attempts == (first, second)


def test_duration_counts_from_the_start_and_none_for_an_ended_run_without_an_end():
    run = TaskRun("t", "x", None)
    run.start_date = datetime.now(timezone.utc) - timedelta(seconds=3)
    assert 3 <= run.duration < 60  # still running: until now
    run.ended = run.began + 1.5
    assert run.duration == 1.5
    run.ended, run.state = None, states.KILLED
    assert run.duration is None
