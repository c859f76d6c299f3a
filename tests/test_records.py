"""The engine's records: moments kept as float seconds, a run's attempts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

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


def test_a_settled_run_reads_its_only_attempt_from_its_own_dates():
    import nb_orchestra

    ex = nb_orchestra.run("id: f\nnamespace: tests\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n"
                          "    format: x\n")
    run = ex.taskrun("r")
    assert isinstance(run._attempts, str)  # settled: the attempt object itself is not kept
    [attempt] = run.attempts
    assert (attempt.state, attempt.start_date, attempt.end_date) == ("SUCCESS", run.start_date, run.end_date)


def test_reopening_a_settled_run_keeps_its_first_attempt_whole():
    run = TaskRun("t", "x", None)
    run.add_attempt(Attempt(run.began))
    run.attempts[0].state, run.attempts[0].ended = states.FAILED, run.began + 2
    run.ended, run.state, run.message = run.attempts[0].ended, states.FAILED, "boom"
    run.settle()
    run.reopen()
    assert run.ended is None and run.message is None
    run.add_attempt(Attempt())
    first, second = run.attempts
    assert (first.state, first.ended, second.state) == (states.FAILED, run.began + 2, states.RUNNING)


def test_a_run_whose_attempt_did_not_end_with_it_keeps_the_attempt():
    run = TaskRun("t", "x", None)
    attempt = Attempt()  # began on its own, not with the run
    attempt.state, attempt.ended = states.SUCCESS, attempt.began + 1
    run.add_attempt(attempt)
    run.ended = attempt.ended
    run.settle()
    assert run.attempts[0] is attempt


def test_rare_fields_are_each_runs_own_once_set():
    first, second = TaskRun("a", "x", None), TaskRun("b", "x", None)
    assert (first.message, first.metrics, first.planned) == (None, [], None)
    first.message, first.planned = "boom", 3
    first.own_metrics().append({"name": "rows", "type": "counter", "value": 1})
    assert (first.message, first.planned, len(first.metrics)) == ("boom", 3, 1)
    assert (second.message, second.metrics, second.planned) == (None, [], None)
    with pytest.raises(TypeError):  # the shared empty list of every run without metrics
        second.metrics.append({})
    assert second.metrics == [] and TaskRun("c", "x", None).metrics == []
