"""Flow triggers: conditions, preconditions and their time window, and a chain of two flows."""

from __future__ import annotations

import pytest

import nb_orchestra
from nb_orchestra.model.triggers import FlowTrigger, check_trigger
from nb_orchestra.triggers import FakeClock, start_scheduler, stop_scheduler
from tests.conftest import flow_text

FLOW = "io.kestra.plugin.core.trigger.Flow"


@pytest.fixture(autouse=True)
def fresh_executions():
    from nb_orchestra.engine.launch import recent

    recent.clear()


@pytest.fixture
def clock():
    yield FakeClock("2024-01-01T10:00:00+00:00")
    stop_scheduler()


@pytest.fixture
def scheduler(clock):
    return start_scheduler(clock=clock)


def upstream(flow_id: str = "flow_a", fail: bool = False, namespace: str = "company.team") -> str:
    task = ("{id: boom, type: io.kestra.plugin.core.execution.Fail}" if fail
            else "{id: extract, type: io.kestra.plugin.core.debug.Return, format: '2024-05-01'}")
    return flow_text(f"""
    tasks:
      - {task}
    outputs:
      - {{id: date, type: STRING, value: "{{{{ outputs.extract.value ?? 'none' }}}}"}}
    """, flow_id=flow_id, namespace=namespace)


def downstream(trigger: str, flow_id: str = "flow_b") -> str:
    echo = "{{ inputs.date }} from {{ trigger.flowId }}"
    return flow_text(f"""
    inputs:
      - {{id: date, type: STRING, defaults: unset}}
    tasks:
      - {{id: echo, type: io.kestra.plugin.core.debug.Return, format: "{echo}"}}
    triggers:
{trigger}
    """, flow_id=flow_id, namespace="company.team")


def runs(flow_id: str):
    from nb_orchestra.engine.launch import recent

    return [e for e in recent if e.flow_id == flow_id]


CHAIN = """
      - id: after_a
        type: io.kestra.plugin.core.trigger.Flow
        inputs:
          date: "{{ trigger.outputs.date }}"
        preconditions:
          id: flow_a_ok
          flows:
            - namespace: company.team
              flowId: flow_a
              states: [SUCCESS]
"""


def test_a_chain_of_two_flows(scheduler):
    nb_orchestra.register_flow(upstream())
    nb_orchestra.register_flow(downstream(CHAIN))
    a = nb_orchestra.run(upstream())
    scheduler.settle()
    (b,) = runs("flow_b")
    assert b.state == "SUCCESS"
    assert b.outputs.echo.value == "2024-05-01 from flow_a"
    assert b.trigger == {"executionId": a.id, "namespace": "company.team", "flowId": "flow_a", "flowRevision": 1,
                         "state": "SUCCESS", "outputs": {"date": "2024-05-01"}}
    row = next(r for r in scheduler.rows() if r.trigger_id == "after_a")
    assert (row.type, row.cron, row.last_execution_id, row.enabled) == ("Flow", None, b.id, True)


def test_upstream_state_must_match(scheduler):
    nb_orchestra.register_flow(downstream(CHAIN))
    nb_orchestra.run(upstream(fail=True))
    scheduler.settle()
    assert runs("flow_b") == []


def test_conditions_flow_and_status(scheduler):
    trigger = """
      - id: on_failure
        type: io.kestra.plugin.core.trigger.Flow
        conditions:
          - {type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: company.team, flowId: flow_a}
          - {type: io.kestra.plugin.core.condition.ExecutionStatus, in: [FAILED]}
    """
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(upstream())
    nb_orchestra.run(upstream(flow_id="other", fail=True))
    scheduler.settle()
    assert runs("flow_b") == []
    nb_orchestra.run(upstream(fail=True))
    scheduler.settle()
    (b,) = runs("flow_b")
    assert b.trigger["state"] == "FAILED"


def test_namespace_prefix_and_default_terminal_states(scheduler):
    trigger = """
      - id: any_company
        type: io.kestra.plugin.core.trigger.Flow
        conditions:
          - {type: io.kestra.plugin.core.condition.ExecutionNamespace, namespace: company, comparison: PREFIX}
    """
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(upstream(namespace="company.sales"))
    nb_orchestra.run(upstream(namespace="elsewhere"))
    scheduler.settle()
    assert [e.trigger["namespace"] for e in runs("flow_b")] == ["company.sales"]


def test_a_flow_never_triggers_itself(scheduler):
    trigger = "      - {id: me, type: io.kestra.plugin.core.trigger.Flow}"
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(downstream(trigger))
    scheduler.settle()
    assert len(runs("flow_b")) == 1


def test_preconditions_wait_for_every_upstream_flow_in_the_window(scheduler, clock):
    trigger = """
      - id: both
        type: io.kestra.plugin.core.trigger.Flow
        preconditions:
          id: a_and_c
          flows:
            - {namespace: company.team, flowId: flow_a, states: [SUCCESS]}
            - {namespace: company.team, flowId: flow_c, states: [SUCCESS]}
    """
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert runs("flow_b") == []
    clock.set("2024-01-02T08:00:00+00:00")  # next day: the default PT1D window starts again
    nb_orchestra.run(upstream(flow_id="flow_c"))
    scheduler.settle()
    assert runs("flow_b") == []
    nb_orchestra.run(upstream())
    scheduler.settle()
    (b,) = runs("flow_b")
    assert b.trigger["flowId"] == "flow_a"
    nb_orchestra.run(upstream())  # reset on success: flow_c must succeed again
    scheduler.settle()
    assert len(runs("flow_b")) == 1


def test_disabled_flow_triggers_never_fire(scheduler):
    nb_orchestra.register_flow(downstream(CHAIN))
    scheduler.disable("after_a")
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert runs("flow_b") == []
    scheduler.enable("after_a")
    nb_orchestra.register_flow(downstream(CHAIN.replace("        type:", "        disabled: true\n        type:")))
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert runs("flow_b") == []


def test_stop_after_disables_a_flow_trigger(scheduler):
    trigger = """
      - id: once
        type: io.kestra.plugin.core.trigger.Flow
        stopAfter: [SUCCESS]
        conditions:
          - {type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: company.team, flowId: flow_a}
    """
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(upstream())
    scheduler.settle()
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert len(runs("flow_b")) == 1


def test_preconditions_that_do_not_reset_fire_again_in_the_window(scheduler):
    trigger = """
      - id: both
        type: io.kestra.plugin.core.trigger.Flow
        preconditions:
          id: a_and_c
          resetOnSuccess: false
          flows:
            - {namespace: company.team, flowId: flow_a}
            - {namespace: company.team, flowId: flow_c}
    """
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert runs("flow_b") == []
    nb_orchestra.run(upstream(flow_id="flow_c"))
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert [e.trigger["flowId"] for e in runs("flow_b")] == ["flow_c", "flow_a"]


def test_a_flow_trigger_may_listen_to_a_state_that_is_not_terminal(scheduler):
    trigger = """
      - id: on_start
        type: io.kestra.plugin.core.trigger.Flow
        states: [RUNNING]
        conditions:
          - {type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: company.team, flowId: flow_a}
    """
    nb_orchestra.register_flow(downstream(trigger))
    nb_orchestra.run(upstream())
    scheduler.settle()
    assert [e.trigger["state"] for e in runs("flow_b")] == ["RUNNING"]


EXECUTION_FLOW = {"type": "io.kestra.plugin.core.condition.ExecutionFlow", "namespace": "a", "flowId": "x"}


@pytest.mark.parametrize("props, selectors", [
    ({}, [("any", "", "")]),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionStatus", "in": ["FAILED"]}]},
     [("any", "", "")]),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionNamespace", "namespace": "b"},
                     EXECUTION_FLOW]}, [("flow", "a", "x")]),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionNamespace", "namespace": "b",
                      "comparison": "PREFIX"},
                     {"type": "io.kestra.plugin.core.condition.ExecutionNamespace", "namespace": "b.c"}]},
     [("namespace", "b.c", "")]),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionNamespace", "namespace": "b",
                      "prefix": True}]}, [("prefix", "b", "")]),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionNamespace", "namespace": "team",
                      "comparison": "SUFFIX"}]}, [("any", "", "")]),
    ({"preconditions": {"id": "p", "flows": [{"namespace": "a", "flowId": "x"}, {"namespace": "b"}]}},
     [("flow", "a", "x"), ("namespace", "b", "")]),
    ({"preconditions": {"id": "p", "resetOnSuccess": False, "flows": [{"namespace": "a", "flowId": "x"}]}},
     [("any", "", "")]),
])
def test_a_flow_trigger_names_the_upstream_executions_that_may_fire_it(props, selectors):
    trigger = FlowTrigger.from_dict({"id": "t", "type": FLOW, **props})
    assert [(s.kind, s.namespace, s.flow_id) for s in trigger.selectors()] == selectors


@pytest.mark.parametrize("props, prop", [
    ({"states": ["DONE"]}, "states[0]"),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.Nope"}]}, "conditions[0].type"),
    ({"conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionFlow", "namespace": "a"}]},
     "conditions[0].flowId"),
    ({"preconditions": {"flows": [{"namespace": "a"}]}}, "preconditions.id"),
    ({"preconditions": {"id": "p", "flows": [{"flowId": "x"}]}}, "preconditions.flows[0].namespace"),
    ({"preconditions": {"id": "p", "flows": [{"namespace": "a"}], "timeWindow": {"type": "DAILY_TIME_DEADLINE"}}},
     "preconditions.timeWindow.deadline"),
    ({"preconditions": {"id": "p", "flows": [{"namespace": "a"}], "timeWindow": {"window": "P1W"}}},
     "preconditions.timeWindow.window"),
])
def test_check_trigger_reports_bad_flow_trigger_properties(props, prop):
    assert [p for p, _ in check_trigger({"id": "t", "type": FLOW, **props})] == [prop]


def test_window_bounds_follow_kestra():
    from datetime import datetime, timezone

    from nb_orchestra.model.conditions import TimeWindow

    def window_bounds(raw, now):
        return TimeWindow.from_dict(raw).bounds(now)

    now = datetime(2024, 1, 1, 10, 37, 12, tzinfo=timezone.utc)
    assert [b.isoformat(timespec="milliseconds") for b in window_bounds(None, now)] == [
        "2024-01-01T00:00:00.000+00:00", "2024-01-01T23:59:59.999+00:00"]
    assert window_bounds({"window": "PT15M"}, now)[0].isoformat() == "2024-01-01T10:30:00+00:00"
    assert window_bounds({"window": "PT6H", "windowAdvance": "PT6H"}, now)[0].isoformat() == "2024-01-01T16:00:00+00:00"
    assert window_bounds({"type": "SLIDING_WINDOW", "window": "PT1H"}, now)[0].isoformat() == (
        "2024-01-01T09:37:12+00:00")
    start, end = window_bounds({"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00", "endTime": "09:00:00"}, now)
    assert (start.hour, end.hour) == (6, 9)
    assert window_bounds({"type": "DAILY_TIME_DEADLINE", "deadline": "09:00:00+01:00"}, now)[1].isoformat() == (
        "2024-01-01T09:00:00+01:00")
