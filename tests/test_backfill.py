"""Backfills of Schedule triggers, including the course's monthly taxi schedule."""

from __future__ import annotations

import pytest

from nb_orchestra.errors import InputError, UserError
from nb_orchestra.triggers import backfill, summary
from tests.conftest import flow_text

# The course's 05_postgres_taxi_scheduled, with core tasks only.
TAXI = flow_text("""
concurrency:
  limit: 1
inputs:
  - id: taxi
    type: SELECT
    values: [yellow, green]
    defaults: yellow
variables:
  file: "{{inputs.taxi}}_tripdata_{{trigger.date | date('yyyy-MM')}}.csv"
tasks:
  - id: extract
    type: io.kestra.plugin.core.debug.Return
    format: "{{ render(vars.file) }}"
triggers:
  - id: green_schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 1 * *"
    inputs:
      taxi: green
  - id: yellow_schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 10 1 * *"
    inputs:
      taxi: yellow
""", flow_id="05_postgres_taxi_scheduled", namespace="zoomcamp")


def test_three_months_of_the_taxi_schedule(capsys):
    executions = backfill(TAXI, "2019-01-01", "2019-04-01", trigger_id="green_schedule")
    assert [e.outputs.extract.value for e in executions] == [
        "green_tripdata_2019-01.csv", "green_tripdata_2019-02.csv", "green_tripdata_2019-03.csv"]
    assert {e.state for e in executions} == {"SUCCESS"}
    assert all(e.labels["backfill"] == "true" for e in executions)
    running = [next(at for state, at in e.state_history if state == "RUNNING") for e in executions]
    # one at a time, in order: each tick starts after the previous one ended
    assert all(start >= a.end_date for a, start in zip(executions, running[1:], strict=False))
    out = capsys.readouterr().out
    assert "1 of 3" in out and "3 of 3" in out
    assert "3 executions (2019-01-01T09:00:00+00:00 .. 2019-03-01T09:00:00+00:00): 3 SUCCESS" in out


def test_inputs_and_labels_override_the_trigger(capsys):
    (execution,) = backfill(TAXI, "2019-01-01", "2019-02-01", trigger_id="yellow_schedule",
                            inputs={"taxi": "green"}, labels={"team": "data", "backfill": "manual"})
    assert execution.outputs.extract.value == "green_tripdata_2019-01.csv"
    assert execution.trigger["date"].hour == 10
    assert execution.labels == {"backfill": "manual", "team": "data"}


def test_trigger_id_must_be_named_when_ambiguous_or_known():
    with pytest.raises(UserError, match=r"several Schedule triggers \(green_schedule, yellow_schedule\)"):
        backfill(TAXI, "2019-01-01", "2019-04-01")
    with pytest.raises(UserError, match=r"no Schedule trigger 'blue' .*green_schedule, yellow_schedule"):
        backfill(TAXI, "2019-01-01", "2019-04-01", trigger_id="blue")


def test_a_flow_without_schedule_cannot_be_backfilled():
    with pytest.raises(UserError, match="has no Schedule trigger"):
        backfill(flow_text("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n"), "2019-01-01",
                 "2019-02-01")


def test_a_disabled_trigger_is_not_backfilled():
    text = flow_text("""
    tasks:
      - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}
    triggers:
      - {id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 10 * * *", disabled: true}
    """)
    with pytest.raises(UserError, match="disabled"):
        backfill(text, "2019-01-01", "2019-02-01")


def test_naive_dates_are_in_the_trigger_zone(capsys):
    text = flow_text("""
    tasks:
      - {id: a, type: io.kestra.plugin.core.debug.Return, format: "{{ trigger.date | date('HH:mm') }}"}
    triggers:
      - {id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 9 * * *", timezone: America/New_York}
    """)
    executions = backfill(text, "2024-03-09", "2024-03-11T09:00", on_progress=lambda *a: None)
    assert [e.trigger["date"].isoformat() for e in executions] == [
        "2024-03-09T09:00:00-05:00", "2024-03-10T09:00:00-04:00"]


def test_a_failed_tick_does_not_stop_the_others(capsys):
    text = flow_text("""
    tasks:
      - id: check
        type: io.kestra.plugin.core.flow.If
        condition: "{{ trigger.date | date('MM') == '02' }}"
        then:
          - {id: boom, type: io.kestra.plugin.core.execution.Fail}
    triggers:
      - {id: monthly, type: io.kestra.plugin.core.trigger.Schedule, cron: "@monthly"}
    """)
    executions = backfill(text, "2019-01-01", "2019-04-01")
    assert [e.state for e in executions] == ["SUCCESS", "FAILED", "SUCCESS"]
    assert summary(executions).endswith("1 FAILED, 2 SUCCESS")


def test_concurrency_runs_ticks_at_once_and_reports_progress():
    text = flow_text("""
    tasks:
      - {id: wait, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.3S}
    triggers:
      - {id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "@daily"}
    """)
    progress = []
    executions = backfill(text, "2019-01-01", "2019-01-04", concurrency=3,
                          on_progress=lambda done, total, e: progress.append((done, total)))
    # at once: every tick started before any ended (an elapsed-time bound flakes on a busy machine)
    assert max(e.start_date for e in executions) < min(e.end_date for e in executions)
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert [e.trigger["date"].day for e in executions] == [1, 2, 3]


def test_bad_inputs_fail_before_any_tick_runs():
    text = flow_text("""
    inputs:
      - {id: n, type: INT}
    tasks:
      - {id: a, type: io.kestra.plugin.core.log.Log, message: "{{ inputs.n }}"}
    triggers:
      - {id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "@daily",
         inputs: {n: "{{ trigger.date | date('MMM') }}"}}
    """)
    with pytest.raises(InputError, match="tick 2019-01-01T00:00:00"):
        backfill(text, "2019-01-01", "2019-01-03")


def test_an_empty_period_gives_no_execution(capsys):
    assert backfill(TAXI, "2019-01-02", "2019-01-03", trigger_id="green_schedule") == []
    assert "no tick in that period" in capsys.readouterr().out


def test_concurrency_must_be_positive():
    with pytest.raises(UserError, match="at least 1"):
        backfill(TAXI, "2019-01-01", "2019-04-01", trigger_id="green_schedule", concurrency=0)
