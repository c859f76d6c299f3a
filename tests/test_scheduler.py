"""The in-kernel scheduler, driven by a FakeClock (plus one real-time seconds-cron test)."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone

import pytest

import nb_orchestra
from nb_orchestra import registry
from nb_orchestra.errors import UserError
from nb_orchestra.store.triggers import StoreTriggerState
from nb_orchestra.triggers import (
    FakeClock,
    RealClock,
    current_scheduler,
    start_scheduler,
    stop_scheduler,
)
from tests.conftest import flow_text

START = "2024-01-01T00:00:00+00:00"


@pytest.fixture(autouse=True)
def fresh_executions():
    from nb_orchestra.engine.launch import recent

    recent.clear()


@pytest.fixture
def clock():
    fake = FakeClock(START)
    yield fake
    stop_scheduler()


@pytest.fixture
def scheduler(clock):
    return start_scheduler(clock=clock)


def scheduled(cron: str = "0 9 1 * *", flow_id: str = "monthly", extra: str = "", tasks: str | None = None) -> str:
    tasks = tasks or """
      - id: file
        type: io.kestra.plugin.core.debug.Return
        format: "{{ inputs.taxi }}_tripdata_{{ trigger.date | date('yyyy-MM') }}.csv"
    """
    return flow_text(f"""
    inputs:
      - id: taxi
        type: STRING
        defaults: yellow
    tasks:{tasks}
    triggers:
      - id: schedule
        type: io.kestra.plugin.core.trigger.Schedule
        cron: "{cron}"
        inputs:
          taxi: green
{extra}
    """, flow_id=flow_id)


def fired(flow_id: str = "monthly"):
    from nb_orchestra.engine.launch import recent

    return [e for e in recent if e.flow_id == flow_id and e.trigger is not None]


def test_a_year_of_monthly_schedules_fires_twelve_times_in_order_without_overlap(scheduler, clock):
    nb_orchestra.register_flow(scheduled())
    started = time.monotonic()
    clock.advance(days=366)
    scheduler.settle()
    executions = fired()
    assert [e.trigger["date"].month for e in executions] == list(range(1, 13))
    assert {e.state for e in executions} == {"SUCCESS"}
    assert executions[0].outputs.file.value == "green_tripdata_2024-01.csv"
    assert all(b.start_date >= a.end_date for a, b in itertools.pairwise(executions))
    assert time.monotonic() - started < 5


def test_trigger_variables_of_a_scheduled_execution(scheduler, clock):
    nb_orchestra.register_flow(scheduled())
    clock.set("2024-01-01T09:00:00+00:00")
    scheduler.settle()
    (execution,) = fired()
    assert execution.trigger == {
        "date": datetime(2024, 1, 1, 9, tzinfo=timezone.utc), "next": datetime(2024, 2, 1, 9, tzinfo=timezone.utc),
        "previous": datetime(2023, 12, 1, 9, tzinfo=timezone.utc)}
    assert execution.inputs["taxi"] == "green"


def test_rows_list_next_fire_last_execution_and_enabled(scheduler, clock):
    nb_orchestra.register_flow(scheduled())
    (row,) = scheduler.rows()
    assert (row.flow, row.trigger_id, row.type, row.cron, row.enabled) == ("tests.monthly", "schedule", "Schedule",
                                                                           "0 9 1 * *", True)
    assert row.next_fire.isoformat() == "2024-01-01T09:00:00+00:00"
    assert row.last_execution_id is None
    clock.set("2024-01-01T09:00:00+00:00")
    scheduler.settle()
    (row,) = scheduler.rows()
    assert row.last_execution_id == fired()[0].id and row.last_state == "SUCCESS"
    assert row.next_fire.isoformat() == "2024-02-01T09:00:00+00:00"


def test_disable_and_enable(scheduler, clock):
    nb_orchestra.register_flow(scheduled())
    scheduler.disable("schedule")
    clock.advance(days=40)
    scheduler.settle()
    assert fired() == [] and scheduler.rows()[0].next_fire is None
    scheduler.enable("schedule", flow_id="monthly")  # ALL: resumes at the next tick, missed ones stay missed
    assert scheduler.rows()[0].next_fire.isoformat() == "2024-03-01T09:00:00+00:00"
    clock.set("2024-03-01T09:00:00+00:00")
    scheduler.settle()
    assert [e.trigger["date"].month for e in fired()] == [3]
    with pytest.raises(UserError, match="armed triggers: tests.monthly.schedule"):
        scheduler.disable("nope")


def test_disabled_trigger_never_fires(scheduler, clock):
    nb_orchestra.register_flow(scheduled(extra="        disabled: true"))
    clock.advance(days=100)
    scheduler.settle()
    assert fired() == [] and scheduler.rows()[0].enabled is False


def test_redefining_a_flow_replaces_its_triggers(scheduler, clock):
    nb_orchestra.register_flow(scheduled())
    nb_orchestra.register_flow(scheduled(cron="0 9 15 * *"))
    (row,) = scheduler.rows()
    assert row.cron == "0 9 15 * *"
    clock.advance(days=31)
    scheduler.settle()
    assert [e.trigger["date"].day for e in fired()] == [15]
    assert fired()[0].revision == 2


def test_stop_after_disables_the_trigger(scheduler, clock):
    failing = """
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
    """
    nb_orchestra.register_flow(scheduled(tasks=failing, extra="        stopAfter: [FAILED]"))
    clock.advance(days=100)
    scheduler.settle()
    assert [e.state for e in fired()] == ["FAILED"]
    assert scheduler.rows()[0].enabled is False


def test_flow_concurrency_holds_for_scheduled_runs(scheduler, clock):
    text = flow_text("""
    concurrency:
      limit: 1
      behavior: FAIL
    tasks:
      - id: wait
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.3S
    triggers:
      - id: a
        type: io.kestra.plugin.core.trigger.Schedule
        cron: "0 9 * * *"
      - id: b
        type: io.kestra.plugin.core.trigger.Schedule
        cron: "0 9 * * *"
    """, flow_id="limited")
    nb_orchestra.register_flow(text)
    clock.set("2024-01-01T09:00:00+00:00")
    scheduler.settle()
    assert sorted(e.state for e in fired("limited")) == ["FAILED", "SUCCESS"]


@pytest.mark.parametrize("mode, months", [("ALL", [2, 3, 4, 5, 6]), ("LAST", [6]), ("NONE", [])])
def test_missed_schedules_are_recovered_on_arm(clock, mode, months):
    StoreTriggerState().set_last("tests", "monthly", "schedule", datetime(2024, 1, 1, 9, tzinfo=timezone.utc))
    clock.set("2024-06-15T00:00:00+00:00")
    nb_orchestra.register_flow(scheduled(extra=f"        recoverMissedSchedules: {mode}"))
    scheduler = start_scheduler(clock=clock)
    scheduler.settle()
    assert [e.trigger["date"].month for e in fired()] == months
    assert scheduler.rows()[0].next_fire.isoformat() == "2024-07-01T09:00:00+00:00"


def test_a_restarted_kernel_remembers_the_last_fired_tick(clock):
    nb_orchestra.register_flow(scheduled())
    start_scheduler(clock=clock)
    clock.set("2024-02-01T09:00:00+00:00")
    current_scheduler().settle()
    stop_scheduler()
    assert StoreTriggerState().get_last("tests", "monthly", "schedule").isoformat() == "2024-02-01T09:00:00+00:00"
    clock.set("2024-04-10T00:00:00+00:00")  # down for two ticks
    start_scheduler(clock=clock).settle()
    assert [e.trigger["date"].month for e in fired()] == [1, 2, 3, 4]


def test_stop_scheduler_stops_the_thread_and_the_hook(clock):
    scheduler = start_scheduler(clock=clock)
    assert scheduler.running and start_scheduler() is scheduler
    stop_scheduler()
    assert not scheduler.running and current_scheduler() is None
    nb_orchestra.register_flow(scheduled())
    assert scheduler.rows() == []
    assert all(getattr(hook, "__module__", "") != "nb_orchestra.triggers" for hook in registry.on_register)


def test_a_seconds_cron_fires_in_real_time():
    try:
        scheduler = start_scheduler(clock=RealClock())
        nb_orchestra.register_flow(scheduled(cron="* * * * * *", extra="        withSeconds: true"))
        deadline = time.monotonic() + 2.8
        while len(fired()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fired()) >= 2
        dates = [e.trigger["date"] for e in fired()]
        assert dates[1] - dates[0] >= timedelta(seconds=1)
        scheduler.settle()
    finally:
        stop_scheduler()


def test_a_running_scheduler_refuses_another_clock(clock):
    scheduler = start_scheduler(clock=clock)
    assert start_scheduler(clock=clock) is scheduler and start_scheduler() is scheduler
    with pytest.raises(UserError, match="stop_scheduler"):
        start_scheduler(clock=FakeClock("2030-01-01T00:00:00+00:00"))
