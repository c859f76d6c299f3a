"""The conditions ExecutionOutputs, FlowCondition and FlowNamespaceCondition (the last two deprecated in
Kestra). Facts from Kestra's ExecutionOutputsTest and the conditions' source."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import nb_orchestra
from nb_orchestra.model.condition_types import check_condition, parse_condition
from nb_orchestra.model.conditions import ConditionContext
from nb_orchestra.triggers import FakeClock, start_scheduler, stop_scheduler

from .conftest import flow_text

CONDITION = "io.kestra.plugin.core.condition."


def holds(raw: dict, execution=None, variables: dict | None = None) -> bool:
    condition = parse_condition({**raw, "type": CONDITION + raw["type"]})
    return condition.test(ConditionContext(execution, "SUCCESS", lambda: dict(variables or {})))


def upstream(outputs: dict) -> SimpleNamespace:
    return SimpleNamespace(id="e1", namespace="company.team", flow_id="up", flow_outputs=outputs, labels={})


# -- ExecutionOutputs -----------------------------------------------------------------------------------

def test_execution_outputs_renders_the_expression_with_the_upstream_outputs():
    # ExecutionOutputsTest.shouldEvaluateToTrueGivenValidExpression / ...FalseGivenInvalidExpression
    execution = upstream({"test": "value"})
    assert holds({"type": "ExecutionOutputs", "expression": "{{ trigger.outputs.test == 'value' }}"}, execution)
    assert not holds({"type": "ExecutionOutputs", "expression": "{{ trigger.outputs.test == 'other' }}"}, execution)
    assert not holds({"type": "ExecutionOutputs", "expression": "{{ unknown is defined }}"}, execution)


def test_execution_outputs_without_outputs_is_false_without_rendering():
    # ExecutionOutputsTest.shouldEvaluateToFalseGivenExecutionWithNoOutputs: the expression would not render
    assert not holds({"type": "ExecutionOutputs", "expression": "{{ not evaluated }}"}, upstream({}))


def test_execution_outputs_names_and_required_expression():
    for legacy in ("io.kestra.core.models.conditions.types.ExecutionOutputsCondition",
                   CONDITION + "ExecutionOutputsCondition"):
        assert check_condition({"type": legacy, "expression": "{{ true }}"}) == []
    assert check_condition({"type": CONDITION + "ExecutionOutputs"}) == [
        (".expression", "missing required property 'expression'")]


def listener_flow(flow_id: str, namespace: str, *conditions: str, message: str = "hi") -> str:
    """A flow logging ``message``, started by a Flow trigger with ``conditions`` (YAML flow maps)."""
    lines = "".join(f"\n      - {condition}" for condition in conditions)
    return flow_text(f"tasks:\n  - {{id: hello, type: io.kestra.plugin.core.log.Log, message: \"{message}\"}}\n"
                     f"triggers:\n  - id: on_any\n    type: io.kestra.plugin.core.trigger.Flow\n"
                     f"    conditions:{lines}\n", flow_id=flow_id, namespace=namespace)


@pytest.fixture
def scheduler():
    from nb_orchestra.engine.launch import recent

    recent.clear()
    yield start_scheduler(clock=FakeClock("2024-01-01T00:00:00+00:00"))
    stop_scheduler()


def test_a_flow_trigger_fires_on_the_outputs_it_asks_for(scheduler):
    from nb_orchestra.engine.launch import recent

    nb_orchestra.register_flow(listener_flow(
        "listener", "tests", "{type: io.kestra.plugin.core.condition.ExecutionOutputs, "
                             "expression: \"{{ trigger.outputs.code == '200' }}\"}",
        message="{{ trigger.outputs.code }}"))
    producer = """
        inputs:
          - {id: code, type: STRING}
        tasks:
          - {id: noop, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.code }}"}
        outputs:
          - {id: code, type: STRING, value: "{{ inputs.code }}"}
        """
    for code in ("500", "200"):
        nb_orchestra.run(flow_text(producer, flow_id="producer"), inputs={"code": code})
    scheduler.settle()
    nb_orchestra.run(flow_text("tasks:\n  - {id: quiet, type: io.kestra.plugin.core.log.Log, message: hi}\n",
                               flow_id="no_outputs"))
    scheduler.settle()
    fired = [ex for ex in recent if ex.flow_id == "listener"]
    assert [(ex.trigger or {})["flowId"] for ex in fired] == ["producer"]
    assert [log.message for log in fired[0].logs] == ["200"]


# -- FlowCondition, FlowNamespaceCondition ----------------------------------------------------------------

OWN_FLOW = {"flow": {"id": "my-current-flow", "namespace": "company.team"}}


@pytest.mark.parametrize("raw, result", [
    ({"type": "FlowCondition", "namespace": "company.team", "flowId": "my-current-flow"}, True),
    ({"type": "FlowCondition", "namespace": "company.team", "flowId": "up"}, False),  # the upstream flow's id
    ({"type": "FlowNamespaceCondition", "namespace": "company.team"}, True),
    ({"type": "FlowNamespaceCondition", "namespace": "company"}, False),
    ({"type": "FlowNamespaceCondition", "namespace": "company", "prefix": True}, True),
    ({"type": "FlowNamespaceCondition", "namespace": "Company", "prefix": True}, False),  # case sensitive
])
def test_flow_conditions_test_the_triggers_own_flow(raw, result):
    assert holds(raw, upstream({}), OWN_FLOW) is result


def test_flow_conditions_are_checked():
    assert check_condition({"type": "io.kestra.core.models.conditions.types.FlowCondition", "namespace": "a",
                            "flowId": "b"}) == []
    assert check_condition({"type": CONDITION + "FlowCondition", "namespace": "a"}) == [
        (".flowId", "missing required property 'flowId'")]
    assert check_condition({"type": CONDITION + "FlowNamespaceCondition", "namespace": "a", "prefix": "yes"}) == [
        (".prefix", "must be true or false")]


def test_a_flow_condition_in_a_flow_trigger(scheduler):
    from nb_orchestra.engine.launch import recent

    conditions = ("{type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: tests, flowId: producer}",
                  "{type: io.kestra.plugin.core.condition.FlowNamespaceCondition, namespace: tests.li, prefix: true}")
    nb_orchestra.register_flow(listener_flow("listener", "tests.listeners", *conditions))
    nb_orchestra.register_flow(listener_flow("elsewhere", "other", *conditions))
    # a FlowCondition names the listener itself: it must not be read as the upstream flow to listen to
    nb_orchestra.register_flow(listener_flow(
        "named", "tests.listeners",
        "{type: io.kestra.plugin.core.condition.FlowCondition, namespace: tests.listeners, flowId: named}"))
    nb_orchestra.run(flow_text("tasks:\n  - {id: quiet, type: io.kestra.plugin.core.log.Log, message: hi}\n",
                               flow_id="producer"))
    scheduler.settle()
    assert [ex.flow_id for ex in recent if ex.flow_id in ("listener", "elsewhere")] == ["listener"]
    # "named" listens to every flow: the producer, then the listener
    assert sorted((ex.trigger or {})["flowId"] for ex in recent if ex.flow_id == "named") == ["listener", "producer"]
