"""Trigger conditions: HasRetryAttempt, Not, Or, Expression, MultipleCondition (Flow triggers) and the
Schedule conditions (DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween, Expression, Not),
with the facts of Kestra's tests of each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

import nb_orchestra
from nb_orchestra.errors import FlowValidationError
from nb_orchestra.model.condition_types import parse_condition
from nb_orchestra.model.conditions import ConditionContext, ConditionError
from nb_orchestra.model.triggers import ScheduleTrigger, check_trigger
from nb_orchestra.triggers import FakeClock, backfill, start_scheduler, stop_scheduler

from .conftest import fixture_path, flow_text, load_fixture

CONDITION = "io.kestra.plugin.core.condition."
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"


def holds(raw: dict, date: str | None = None, execution=None, state: str | None = None,
          variables: dict | None = None) -> bool:
    """``raw`` (a condition map whose type is short) tested on a date or an execution."""
    condition = parse_condition({**raw, "type": CONDITION + raw["type"]})
    return condition.test(ConditionContext(execution, state, lambda: dict(variables or {}),
                                           date=datetime.fromisoformat(date) if date else None))


def retried(*states: str):
    """An execution whose only task run had attempts ending in ``states``."""
    attempts = [SimpleNamespace(state=s) for s in states]
    return SimpleNamespace(taskruns=[SimpleNamespace(attempts=attempts)], namespace="tests", flow_id="f", labels={})


# -- execution conditions ----------------------------------------------------------------------------

def test_has_retry_attempt():
    execution = retried("KILLED", "SUCCESS")
    assert holds({"type": "HasRetryAttempt", "in": ["KILLED"]}, execution=execution) is True
    assert holds({"type": "HasRetryAttempt", "in": ["FAILED"]}, execution=execution) is False
    assert holds({"type": "HasRetryAttempt", "notIn": ["KILLED", "SUCCESS"]}, execution=execution) is False
    # a single attempt is no retry
    assert holds({"type": "HasRetryAttempt"}, execution=retried("KILLED")) is False


@pytest.mark.parametrize("days, result", [
    (["SUNDAY"], False),
    (["SATURDAY", "MONDAY"], True),
    (["SUNDAY", "MONDAY"], False),
])
def test_not_holds_when_none_of_its_conditions_does(days, result):
    children = [{"type": CONDITION + "DayWeek", "date": "2013-09-08", "dayOfWeek": day} for day in days]
    assert holds({"type": "Not", "conditions": children}) is result


def test_or_holds_when_any_of_its_conditions_does():
    children = [{"type": CONDITION + "DayWeek", "date": "2013-09-08", "dayOfWeek": day} for day in ("MONDAY", "SUNDAY")]
    assert holds({"type": "Or", "conditions": children}) is True
    assert holds({"type": "Or", "conditions": children[:1]}) is False


@pytest.mark.parametrize("expression, result", [
    ("{{ flow.id }}", True), ("{{ flow.id == 'other' }}", False), ("  ", False), ("0", True)])
def test_expression_is_false_only_when_blank_or_false(expression, result):
    assert holds({"type": "Expression", "expression": expression}, variables={"flow": {"id": "f"}}) is result


# -- date conditions -------------------------------------------------------------------------------

@pytest.mark.parametrize("date, day, rank, result", [
    ("2021-04-01", "MONDAY", "FIRST", False),
    ("2021-04-05", "MONDAY", "FIRST", True),
    ("2021-04-01", "THURSDAY", "FIRST", True),
    ("2021-04-01", "MONDAY", "LAST", False),
    ("2021-04-26", "MONDAY", "LAST", True),
    ("2021-04-12", "MONDAY", "SECOND", True),
    ("2021-04-19", "MONDAY", "THIRD", True),
    ("2021-04-26", "MONDAY", "FOURTH", True),
])
def test_day_week_in_month(date, day, rank, result):
    assert holds({"type": "DayWeekInMonth", "date": date, "dayOfWeek": day, "dayInMonth": rank}) is result


@pytest.mark.parametrize("date, result", [("2013-09-08", True), ("2013-09-07T23:00:00+02:00", True),
                                          ("2013-09-09T10:00:00Z", False)])
def test_weekend(date, result):
    assert holds({"type": "Weekend", "date": date}) is result


@pytest.mark.parametrize("date, before, after, result", [
    ("2013-09-08T16:19:12+02:00", None, "2013-09-08T16:19:11+02:00", True),
    ("2013-09-08T16:19:12+02:00", "2013-09-08T16:20:12+02:00", "2013-09-08T16:18:12+02:00", True),
    ("2013-09-08T16:19:12+02:00", "2013-09-08T16:20:12+02:00", None, True),
    ("2013-09-08T16:19:12+02:00", "2013-09-08T14:19:12Z", None, False),  # the same instant is not before
    ("{{ now() }}", "2013-09-08T16:20:12+02:00", None, False),
])
def test_date_time_between(date, before, after, result):
    raw = {"type": "DateTimeBetween", "date": date, "before": before, "after": after}
    assert holds({k: v for k, v in raw.items() if v is not None}) is result


@pytest.mark.parametrize("before, after, result", [
    (None, "16:19:11+02:00", True),
    (None, "17:19:12+02:00", False),
    ("16:20:12+02:00", "16:18:12+02:00", True),
    ("16:20:12+02:00", None, True),
    ("16:18:12+02:00", None, False),
    ("14:20:00Z", "14:19:00Z", True),  # the same times, in UTC
])
def test_time_between(before, after, result):
    raw = {"type": "TimeBetween", "date": "2024-02-21T16:19:12+02:00", "before": before, "after": after}
    assert holds({k: v for k, v in raw.items() if v is not None}) is result


def test_a_date_that_does_not_parse_is_an_error():
    with pytest.raises(ConditionError, match="cannot parse 'monday' as a date"):
        holds({"type": "Weekend", "date": "monday"})


# -- validation -------------------------------------------------------------------------------------

def test_an_unknown_condition_type_is_a_located_error():
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(fixture_path("invalid/conditions/unknown_type.yaml"))
    (problem,) = info.value.problems
    assert (problem.path, problem.line, problem.column) == ("triggers[0].conditions[0].conditions[0].type", 16, 13)
    assert problem.message.startswith("condition type 'io.kestra.plugin.core.condition.Holiday' is not supported by "
                                      "nb_orchestra (supported: ExecutionFlow, ")


@pytest.mark.parametrize("condition, prop, message", [
    ({"type": CONDITION + "Not"}, "conditions[0].conditions", "missing required property 'conditions'"),
    ({"type": CONDITION + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "FIFTH"},
     "conditions[0].dayInMonth", "must be one of FIRST, SECOND, THIRD, FOURTH, LAST, not 'FIFTH'"),
    ({"type": CONDITION + "TimeBetween"}, "conditions[0]", "Invalid condition with no before nor after"),
    ({"type": CONDITION + "DateTimeBetween", "after": "2024-01-01"}, "conditions[0].after",
     "'2024-01-01' is not a date-time with a zone such as 2024-01-31T10:00:00Z"),
])
def test_bad_schedule_conditions_are_located(condition, prop, message):
    problems = check_trigger({"id": "s", "type": SCHEDULE, "cron": "@daily", "conditions": [condition]})
    assert problems == [(prop, message)]


def test_a_multiple_condition_inside_another_condition_is_refused():
    multiple = {"type": CONDITION + "MultipleCondition", "id": "m",
                "conditions": {"a": {"type": CONDITION + "ExecutionStatus", "in": ["SUCCESS"]}}}
    problems = check_trigger({"id": "t", "type": "io.kestra.plugin.core.trigger.Flow",
                              "conditions": [{"type": CONDITION + "Not", "conditions": [multiple]}]})
    assert [p for p, _ in problems] == ["conditions[0].conditions[0].type"]


# -- Schedule conditions ------------------------------------------------------------------------------

def schedule(cron: str, conditions: list[dict], timezone_: str = "Europe/Paris") -> ScheduleTrigger:
    return ScheduleTrigger.from_dict({"id": "schedule", "type": SCHEDULE, "cron": cron, "timezone": timezone_,
                                      "conditions": conditions})


def test_schedule_conditions_give_the_next_and_previous_accepted_ticks():
    trigger = schedule("0 12 * * 1", [{"type": CONDITION + "DayWeekInMonth", "date": "{{ trigger.date }}",
                                       "dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}])
    tick = datetime.fromisoformat("2021-08-02T12:00:00+02:00")
    assert trigger.allows(tick) is True
    assert trigger.allows(tick + timedelta(days=7)) is False
    variables = trigger.variables(tick)
    assert variables["next"] == datetime.fromisoformat("2021-09-06T12:00:00+02:00")
    assert variables["previous"] == datetime.fromisoformat("2021-07-05T12:00:00+02:00")


def test_schedule_conditions_without_a_next_accepted_tick():
    trigger = schedule("0 12 * * 1", [{"type": CONDITION + "DateTimeBetween", "date": "{{ trigger.date }}",
                                       "before": "2021-08-03T12:00:00+02:00"}])
    variables = trigger.variables(datetime.fromisoformat("2021-08-02T12:00:00+02:00"))
    assert variables["previous"] == datetime.fromisoformat("2021-07-26T12:00:00+02:00")
    assert variables["next"] is None


def test_schedule_ignores_execution_conditions_as_kestra_does():
    trigger = schedule("@daily", [{"type": CONDITION + "ExecutionStatus", "in": ["SUCCESS"]}])
    assert trigger.conditions == () and trigger.allows(datetime(2024, 1, 1, tzinfo=timezone.utc)) is True


@pytest.fixture
def clock():
    yield FakeClock("2024-01-01T00:00:00+00:00")  # a Monday
    stop_scheduler()


def test_the_scheduler_fires_only_the_ticks_the_conditions_accept(clock):
    from nb_orchestra.engine.launch import recent

    recent.clear()
    scheduler = start_scheduler(clock=clock)
    nb_orchestra.register_flow(load_fixture("valid/conditions/weekdays.yaml"))
    for _ in range(8):
        clock.advance(timedelta(days=1))
        scheduler.run_pending()
        scheduler.settle()
    days = [ex.outputs.day.value for ex in recent if ex.flow_id == "weekdays"]
    # Wednesday the 3rd is refused by the expression, Saturday and Sunday by Not Weekend
    assert days == ["Monday then Tuesday", "Tuesday then Thursday", "Thursday then Friday", "Friday then Monday",
                    "Monday then Tuesday"]


def test_a_backfill_leaves_out_the_ticks_the_conditions_refuse():
    flow = nb_orchestra.register_flow(load_fixture("valid/conditions/weekdays.yaml"))
    executions = backfill(flow, "2024-01-01", "2024-01-08", on_progress=lambda *args: None)
    assert [(ex.trigger or {})["date"].day for ex in executions] == [1, 2, 4, 5]
    assert all(ex.state == "SUCCESS" for ex in executions)


# -- Flow triggers with conditions ------------------------------------------------------------------------

def runs(flow_id: str):
    from nb_orchestra.engine.launch import recent

    return [e for e in recent if e.flow_id == flow_id]


def upstream(flow_id: str, fail: bool = False, namespace: str = "tests.conditions") -> str:
    task = ("{id: boom, type: io.kestra.plugin.core.execution.Fail}" if fail
            else "{id: only, type: io.kestra.plugin.core.debug.Return, format: 'from parents: {{ execution.id }}'}")
    return flow_text(f"tasks:\n  - {task}\n", flow_id=flow_id, namespace=namespace)


@pytest.fixture
def scheduler(clock):
    from nb_orchestra.engine.launch import recent

    recent.clear()
    return start_scheduler(clock=clock)


def test_multiple_condition_fires_once_both_flows_succeeded(scheduler):
    nb_orchestra.register_flow(load_fixture("valid/conditions/multiple_listener.yaml"))
    nb_orchestra.run(upstream("upload_a"))
    scheduler.settle()
    assert runs("after_both_uploads") == []
    nb_orchestra.run(upstream("upload_b"))
    scheduler.settle()
    (listener,) = runs("after_both_uploads")
    assert listener.outputs["combine"].value == "combined after upload_b"
    nb_orchestra.run(upstream("upload_a"))  # reset on success: a new round starts
    scheduler.settle()
    assert len(runs("after_both_uploads")) == 1


def test_multiple_condition_never_fires_when_a_flow_failed(scheduler):
    nb_orchestra.register_flow(load_fixture("valid/conditions/multiple_failed.yaml"))
    nb_orchestra.run(upstream("upload_c"))
    nb_orchestra.run(upstream("upload_d", fail=True))
    scheduler.settle()
    assert runs("after_both_succeed") == []


def test_has_retry_attempt_not_and_expression_in_a_flow_trigger(scheduler):
    nb_orchestra.register_flow(load_fixture("valid/conditions/retried_listener.yaml"))
    retrying = """
    tasks:
      - id: always
        type: io.kestra.plugin.core.execution.Fail
        retry: {type: constant, interval: PT0.01S, maxAttempts: 2}
    """
    once = "tasks:\n  - {id: boom, type: io.kestra.plugin.core.execution.Fail}\n"
    nb_orchestra.run(flow_text(once, flow_id="once"))
    nb_orchestra.run(flow_text(retrying, flow_id="ignored", namespace="tests.ignored"))
    nb_orchestra.run(flow_text(retrying, flow_id="retrying"))
    scheduler.settle()
    assert [ex.outputs.note.value for ex in runs("after_retries")] == ["retrying was retried"]


def test_a_schedule_condition_that_cannot_be_evaluated_skips_the_tick(clock, capsys):
    from nb_orchestra.engine.launch import recent

    recent.clear()
    scheduler = start_scheduler(clock=clock)
    nb_orchestra.register_flow(flow_text("""
    tasks:
      - {id: hello, type: io.kestra.plugin.core.log.Log, message: hi}
    triggers:
      - id: schedule
        type: io.kestra.plugin.core.trigger.Schedule
        cron: "0 9 * * *"
        conditions:
          - type: io.kestra.plugin.core.condition.Expression
            expression: "{{ missing.value }}"
    """))
    clock.advance(timedelta(days=1))
    scheduler.run_pending()
    scheduler.settle()
    assert runs("test") == []
    assert ("nb_orchestra: schedule tests.test.schedule at 2024-01-01T09:00:00+00:00: its conditions could not be "
            "evaluated, no execution: unable to render `{{ missing.value }}`") in capsys.readouterr().err
