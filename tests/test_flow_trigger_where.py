"""Flow triggers' ``preconditions.where``: execution filters as conditions of the preconditions (Kestra's
flow-trigger-preconditions scenario, the OR operand, every filter type, validation and indexing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

import nb_orchestra
from nb_orchestra.model.conditions import ConditionContext, ConditionError, ExecutionFilter, Filter
from nb_orchestra.model.triggers import FlowTrigger, check_trigger
from nb_orchestra.records.execution import ExecutionView
from tests import test_flow_trigger as base
from tests.conftest import flow_text

FLOW, runs = base.FLOW, base.runs
clock, scheduler, fresh_executions = base.clock, base.scheduler, base.fresh_executions  # the same fixtures

NAMESPACE = "company.team.preconditions"


def task_flow(flow_id: str, fail: bool = False, labels: str = "") -> str:
    task = ("{id: boom, type: io.kestra.plugin.core.execution.Fail}" if fail
            else "{id: only, type: io.kestra.plugin.core.debug.Return, format: 'from {{ execution.id }}'}")
    return flow_text(f"""
    {labels}
    tasks:
      - {task}
    """, flow_id=flow_id, namespace=NAMESPACE)


def listener(preconditions: str) -> str:
    return flow_text(f"""
    tasks:
      - {{id: only, type: io.kestra.plugin.core.debug.Return, format: "It works"}}
    triggers:
      - id: flow
        type: {FLOW}
        preconditions:
{preconditions}
    """, flow_id="listen", namespace="company.team")


# Kestra's flow-trigger-preconditions-flow-listen, on our own flows.
BOTH_FLOWS = f"""
          id: flow
          flows:
            - {{namespace: {NAMESPACE}, flowId: flow_a, states: [SUCCESS, WARNING, FAILED]}}
            - {{namespace: {NAMESPACE}, flowId: flow_b, states: [SUCCESS]}}
          where:
            - id: flow1
              filters:
                - {{field: NAMESPACE, type: STARTS_WITH, value: company.team}}
                - {{field: FLOW_ID, type: EQUAL_TO, value: flow_a}}
                - {{field: EXPRESSION, type: IS_TRUE, value: "{{{{ labels.some == 'label' }}}}"}}
            - id: flow2
              filters:
                - {{field: NAMESPACE, type: ENDS_WITH, value: team.preconditions}}
                - {{field: FLOW_ID, type: EQUAL_TO, value: flow_b}}
"""


def test_the_listener_runs_once_both_flows_ran_and_the_filters_held(scheduler):
    nb_orchestra.register_flow(listener(BOTH_FLOWS))
    flow_a = task_flow("flow_a", labels="labels: {some: label}")
    nb_orchestra.run(flow_a)
    nb_orchestra.run(flow_a)
    scheduler.settle()
    assert runs("listen") == []
    b = nb_orchestra.run(task_flow("flow_b"))
    scheduler.settle()
    (listen,) = runs("listen")
    assert listen.state == "SUCCESS"
    assert listen.outputs.only.value == "It works"
    assert listen.trigger["executionId"] == b.id


def test_the_listener_does_not_run_when_the_label_differs(scheduler):
    nb_orchestra.register_flow(listener(BOTH_FLOWS))
    nb_orchestra.run(task_flow("flow_a", labels="labels: {some: other}"))
    nb_orchestra.run(task_flow("flow_b"))
    scheduler.settle()
    assert runs("listen") == []


def test_where_alone_with_the_or_operand(scheduler):
    """No ``flows``: one entry is met by flow_x or flow_y, the other by any failure of the namespace."""
    nb_orchestra.register_flow(listener(f"""
          id: either_then_failure
          where:
            - id: either
              operand: OR
              filters:
                - {{field: FLOW_ID, type: EQUAL_TO, value: flow_x}}
                - {{field: FLOW_ID, type: IN, values: [flow_y]}}
            - id: failure
              filters:
                - {{field: NAMESPACE, type: EQUAL_TO, value: {NAMESPACE}}}
                - {{field: STATE, type: EQUAL_TO, value: FAILED}}
    """))
    nb_orchestra.run(task_flow("flow_z"))
    nb_orchestra.run(task_flow("flow_y"))
    scheduler.settle()
    assert runs("listen") == []
    nb_orchestra.run(task_flow("flow_z", fail=True))
    scheduler.settle()
    (listen,) = runs("listen")
    assert listen.trigger["flowId"] == "flow_z"


# -- one filter ---------------------------------------------------------------------------------------

EXECUTION = cast(ExecutionView, SimpleNamespace(namespace="company.team", flow_id="load_orders",
                                                labels={"env": "prod"}))


@pytest.mark.parametrize("field, kind, value, values, expected", [
    ("FLOW_ID", "EQUAL_TO", "load_orders", None, True),
    ("FLOW_ID", "EQUAL_TO", "load", None, False),
    ("NAMESPACE", "NOT_EQUAL_TO", "company.team", None, False),
    ("NAMESPACE", "NOT_EQUAL_TO", "company", None, True),
    ("FLOW_ID", "IN", None, ["a", "load_orders"], True),
    ("FLOW_ID", "IN", None, ["a", "b"], False),
    ("STATE", "NOT_IN", None, ["FAILED", "KILLED"], True),
    ("STATE", "NOT_IN", None, ["SUCCESS"], False),
    ("EXPRESSION", "IS_TRUE", "{{ labels.env == 'prod' }}", None, True),
    ("EXPRESSION", "IS_TRUE", "{{ labels.env == 'dev' }}", None, False),
    ("EXPRESSION", "IS_TRUE", "0", None, False),
    ("EXPRESSION", "IS_FALSE", "{{ labels.env == 'dev' }}", None, True),
    ("EXPRESSION", "IS_FALSE", "yes", None, False),
    ("FLOW_ID", "IS_NULL", "x", None, False),
    ("FLOW_ID", "IS_NOT_NULL", "x", None, True),
    ("NAMESPACE", "STARTS_WITH", "company.", None, True),
    ("NAMESPACE", "STARTS_WITH", "team", None, False),
    ("NAMESPACE", "ENDS_WITH", ".team", None, True),
    ("NAMESPACE", "ENDS_WITH", "company", None, False),
    ("FLOW_ID", "REGEX", "load_.*", None, True),
    ("FLOW_ID", "REGEX", "load", None, False),  # the whole value must match, as Java's String.matches
    ("FLOW_ID", "CONTAINS", "_ord", None, True),
    ("FLOW_ID", "CONTAINS", "sales", None, False),
    ("STATE", "EQUAL_TO", "SUCCESS", None, True),
])
def test_each_filter_type(field, kind, value, values, expected):
    raw = {"field": field, "type": kind, "value": value, "values": values}
    context = ConditionContext(EXECUTION, "SUCCESS", lambda: {"labels": EXECUTION.labels})
    assert Filter.from_dict(raw).test(context) is expected


def test_an_expression_that_does_not_render_raises_a_condition_error():
    where = ExecutionFilter.from_dict({"id": "w", "filters": [
        {"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ nope.missing.deeper }}"}]})
    with pytest.raises(ConditionError):
        where.holds(EXECUTION, "SUCCESS", dict)


# -- validation and indexing --------------------------------------------------------------------------

def where(*filters: dict, **entry) -> dict:
    return {"preconditions": {"id": "p", "where": [{"id": "w", "filters": list(filters), **entry}]}}


@pytest.mark.parametrize("props, problems", [
    (where({"field": "LABELS", "type": "EQUAL_TO", "value": "x"}), ["preconditions.where[0].filters[0].field"]),
    (where({"field": "FLOW_ID", "type": "LIKE", "value": "x"}), ["preconditions.where[0].filters[0].type"]),
    (where({"field": "FLOW_ID", "type": "EQUAL_TO"}), ["preconditions.where[0].filters[0].value"]),
    (where({"field": "FLOW_ID", "type": "IS_NULL"}), ["preconditions.where[0].filters[0].value"]),
    (where({"field": "FLOW_ID", "type": "IN", "value": "x"}), ["preconditions.where[0].filters[0].values"]),
    (where({"field": "FLOW_ID", "type": "EQUAL_TO", "value": "x", "values": ["y"]}),
     ["preconditions.where[0].filters[0].values"]),
    (where({"field": "FLOW_ID", "type": "REGEX", "value": "(x"}), ["preconditions.where[0].filters[0].value"]),
    (where({"field": "FLOW_ID", "type": "EQUAL_TO", "value": "x"}, operand="XOR"), ["preconditions.where[0].operand"]),
    (where(), ["preconditions.where[0].filters"]),
    ({"preconditions": {"id": "p", "where": [{"filters": [{"field": "STATE", "type": "IS_NOT_NULL", "value": "x"}]}]}},
     ["preconditions.where[0].id"]),
    ({"preconditions": {"id": "p"}}, ["preconditions.flows"]),
])
def test_check_trigger_locates_bad_where_filters(props, problems):
    assert [p for p, _ in check_trigger({"id": "t", "type": FLOW, **props})] == problems


def test_kestra_validator_messages():
    problems = dict(check_trigger({"id": "t", "type": FLOW, **where({"field": "FLOW_ID", "type": "NOT_IN"})}))
    assert problems == {"preconditions.where[0].filters[0].values": "`values` cannot be null for type NOT_IN"}


@pytest.mark.parametrize("entry, selectors", [
    ({"filters": [{"field": "NAMESPACE", "type": "EQUAL_TO", "value": "a"},
                  {"field": "FLOW_ID", "type": "IN", "values": ["x", "y"]}]},
     [("flow", "a", "x"), ("flow", "a", "y")]),
    ({"filters": [{"field": "NAMESPACE", "type": "ENDS_WITH", "value": "a"},
                  {"field": "FLOW_ID", "type": "EQUAL_TO", "value": "x"}]}, [("flow_id", "", "x")]),
    ({"filters": [{"field": "NAMESPACE", "type": "STARTS_WITH", "value": "a."},
                  {"field": "STATE", "type": "EQUAL_TO", "value": "FAILED"}]}, [("prefix", "a.", "")]),
    ({"operand": "OR", "filters": [{"field": "NAMESPACE", "type": "IN", "values": ["a", "b"]},
                                   {"field": "FLOW_ID", "type": "EQUAL_TO", "value": "x"}]},
     [("namespace", "a", ""), ("namespace", "b", ""), ("flow_id", "", "x")]),
    ({"operand": "OR", "filters": [{"field": "NAMESPACE", "type": "EQUAL_TO", "value": "a"},
                                   {"field": "STATE", "type": "EQUAL_TO", "value": "FAILED"}]}, [("any", "", "")]),
    ({"filters": [{"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ true }}"}]}, [("any", "", "")]),
])
def test_where_entries_name_the_upstream_executions_that_may_meet_them(entry, selectors):
    pre = {"id": "p", "flows": [{"namespace": "z", "flowId": "q"}], "where": [{"id": "w", **entry}]}
    trigger = FlowTrigger.from_dict({"id": "t", "type": FLOW, "preconditions": pre})
    expected = selectors if selectors == [("any", "", "")] else [("flow", "z", "q"), *selectors]
    assert [(s.kind, s.namespace, s.flow_id) for s in trigger.selectors()] == expected
