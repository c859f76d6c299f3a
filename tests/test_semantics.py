"""Execution semantics as Kestra's own tests assert them (kestra-io/kestra, core/src/test): Switch
without a matching case, nested ForEach outputs and ``parents``, Switch inside ForEach, subflow
correlation labels, ``execution.startDate``, ``envs``, ``kv()`` and the KV tasks, ``secret()`` and
typed flow outputs."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import nb_orchestra
from nb_orchestra import api, registry, set_secret
from nb_orchestra.store.kv import StoreKV

from .conftest import flow_text, messages, run_flow

RETURN = "io.kestra.plugin.core.debug.Return"


def values_of(ex, task_id: str) -> dict:
    """The ``value`` output of each run of ``task_id``, by the loop values of its parents and itself."""
    return {run.path: run.outputs["value"] for run in ex.taskruns if run.task_id == task_id}


# -- Switch (SwitchTest, EachSequentialTest.eachSwitch) -----------------------------------------

SWITCH = flow_text("""
    inputs:
      - id: string
        type: STRING
    tasks:
      - id: parent-seq
        type: io.kestra.plugin.core.flow.Switch
        value: "{{ inputs.string }}"
        cases:
          FIRST:
            - id: t1
              type: io.kestra.plugin.core.debug.Return
              format: "{{ task.id }}"
          SECOND:
            - id: t2
              type: io.kestra.plugin.core.debug.Return
              format: "{{ task.id }}"
            - id: t2_sub
              type: io.kestra.plugin.core.debug.Return
              format: "{{ task.id }}"
        defaults:
          - id: default
            type: io.kestra.plugin.core.debug.Return
            format: "{{ task.id }}"
""", flow_id="switch")


def test_switch_runs_the_matching_case_or_the_defaults():
    ex = nb_orchestra.run(SWITCH, inputs={"string": "SECOND"})
    assert ex.state == "SUCCESS"
    assert [run.task_id for run in ex.taskruns] == ["parent-seq", "t2", "t2_sub"]
    assert ex.outputs["parent-seq"] == {"value": "SECOND", "defaults": False}
    ex = nb_orchestra.run(SWITCH, inputs={"string": "DEFAULT"})
    assert [run.task_id for run in ex.taskruns] == ["parent-seq", "default"]
    assert ex.outputs["parent-seq"] == {"value": "DEFAULT", "defaults": True}


def test_switch_without_a_matching_case_nor_defaults_fails():
    ex = run_flow("""
        inputs:
          - id: string
            type: STRING
        tasks:
          - id: impossible
            type: io.kestra.plugin.core.flow.Switch
            value: "{{ inputs.string }}"
            cases:
              "NO":
                - id: date
                  type: io.kestra.plugin.core.debug.Return
                  format: "{{ taskrun.startDate }}"
            defaults: null
    """, inputs={"string": "impossible"})
    assert ex.state == "FAILED"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [("impossible", "FAILED")]
    assert ex.taskrun("impossible").message == (
        f"No task found on flow 'tests.test', task 'impossible', execution '{ex.id}'")


def test_switch_without_a_matching_case_allowed_to_fail_ends_warning():
    ex = run_flow("""
        tasks:
          - id: impossible
            type: io.kestra.plugin.core.flow.Switch
            value: "nothing"
            allowFailure: true
            cases:
              something:
                - id: never
                  type: io.kestra.plugin.core.debug.Return
                  format: never
          - id: after
            type: io.kestra.plugin.core.debug.Return
            format: still runs
    """)
    assert ex.state == "WARNING"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [("impossible", "WARNING"), ("after", "SUCCESS")]


def test_switch_inside_foreach_reads_the_loop_values_through_parents():
    """Kestra's each-switch.yaml: 12 task runs; ``parents`` lists only the parents with a loop value or
    outputs (a ForEach reached through a Switch has neither)."""
    ex = run_flow("""
        tasks:
          - id: t1
            type: io.kestra.plugin.core.debug.Return
            format: "{{ task.id }}"
          - id: 2_each
            type: io.kestra.plugin.core.flow.ForEach
            values: '["a", "b"]'
            tasks:
              - id: 2-1_switch
                type: io.kestra.plugin.core.flow.Switch
                value: "{{ taskrun.value }}"
                cases:
                  a:
                    - id: 2-1_switch-letter-a
                      type: io.kestra.plugin.core.debug.Return
                      format: "{{ task.id }}"
                  b:
                    - id: 2-1_switch-letter-b
                      type: io.kestra.plugin.core.debug.Return
                      format: "{{ task.id }}"
                    - id: 2-1_each
                      type: io.kestra.plugin.core.flow.ForEach
                      values: '["1", "2"]'
                      tasks:
                      - id: 2-1-1_switch
                        type: io.kestra.plugin.core.flow.Switch
                        value: "{{ taskrun.value }}"
                        cases:
                          1:
                            - id: 2-1-1_switch-number-1
                              type: io.kestra.plugin.core.debug.Return
                              format: "{{ parents[0].taskrun.value }}"
                          2:
                            - id: 2-1-1_switch-number-2
                              type: io.kestra.plugin.core.debug.Return
                              format: "{{ parents[0].taskrun.value }} {{ parents[1].taskrun.value }}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{ task.id }}"
    """)
    assert ex.state == "SUCCESS"
    assert len(ex.taskruns) == 12
    assert values_of(ex, "2-1-1_switch-number-1") == {("b", "1"): "1"}
    assert values_of(ex, "2-1-1_switch-number-2") == {("b", "2"): "2 b"}
    assert ex.outputs["2-1_switch"] == {"a": {"value": "a", "defaults": False}, "b": {"value": "b", "defaults": False}}
    assert ex.outputs["2-1-1_switch-number-2"] == {"b": {"2": {"value": "2 b"}}}


def test_parent_lists_the_closest_parent_with_a_value_or_outputs():
    ex = run_flow("""
        tasks:
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: ["x"]
            tasks:
              - id: seq
                type: io.kestra.plugin.core.flow.Sequential
                tasks:
                  - id: inner
                    type: io.kestra.plugin.core.flow.Sequential
                    tasks:
                      - id: show
                        type: io.kestra.plugin.core.debug.Return
                        format: "{{ parents | length }} {{ parent.taskrun.value }} {{ parents[0].taskrun.value }}"
    """)
    # seq carries the loop value; inner and each have neither value nor outputs
    assert values_of(ex, "show") == {("x",): "1 x x"}


# -- nested ForEach (EachSequentialTest.sequentialNested, EachParallelTest.parallelNested) --------

def test_nested_foreach_outputs_are_addressed_by_every_parent_value():
    ex = run_flow("""
        tasks:
          - id: 1_each
            type: io.kestra.plugin.core.flow.ForEach
            values: ["s1", "s2", "s3"]
            tasks:
              - id: 1-1_return
                type: io.kestra.plugin.core.debug.Return
                format: "{{ task.id }} > {{ taskrun.value }}"
              - id: 1-2_each
                type: io.kestra.plugin.core.flow.ForEach
                values: '["a a", "b b"]'
                tasks:
                  - id: 1-2-1_return
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{ task.id }} > {{ taskrun.value }}"
                  - id: 1-2-2_return
                    type: io.kestra.plugin.core.debug.Return
                    format: >-
                      {{ outputs['1-2-1_return'].s1[taskrun.value].value }} >> get
                      {{ outputs['1-2-1_return']['s1'][taskrun.value].value }}
              - id: 1-3_return
                type: io.kestra.plugin.core.debug.Return
                format: "{{ task.id }} > {{ outputs['1-1_return'][taskrun.value].value }}"
          - id: 2_return
            type: io.kestra.plugin.core.debug.Return
            format: "{{ task.id }} > {{ outputs['1-2-1_return'].s1['a a'].value }}"
    """)
    assert ex.state == "SUCCESS"
    assert len(ex.taskruns) == 23
    assert ex.outputs["2_return"]["value"] == "2_return > 1-2-1_return > a a"
    assert values_of(ex, "1-3_return")[("s2",)] == "1-3_return > 1-1_return > s2"
    assert values_of(ex, "1-2-2_return") == {
        (s, v): f"1-2-1_return > {v} >> get 1-2-1_return > {v}" for s in ("s1", "s2", "s3") for v in ("a a", "b b")}
    assert ex.outputs["1-2-1_return"]["s3"]["b b"] == {"value": "1-2-1_return > b b"}


def test_three_nested_foreach_outputs_and_parents():
    ex = run_flow("""
        tasks:
          - id: l1
            type: io.kestra.plugin.core.flow.ForEach
            values: ["v1", "w1"]
            tasks:
              - id: l2
                type: io.kestra.plugin.core.flow.ForEach
                values: ["v2"]
                tasks:
                  - id: l3
                    type: io.kestra.plugin.core.flow.ForEach
                    values: ["v3", "w3"]
                    concurrencyLimit: 0
                    tasks:
                      - id: t
                        type: io.kestra.plugin.core.debug.Return
                        format: "{{ parents[1].taskrun.value }}/{{ parents[0].taskrun.value }}/{{ taskrun.value }}"
                      - id: up
                        type: io.kestra.plugin.core.debug.Return
                        format: "{{ parents[1].taskrun.value }} {{ parents | length }} {{ parent.taskrun.value }}"
          - id: read
            type: io.kestra.plugin.core.debug.Return
            format: "{{ outputs.t['v1']['v2']['v3'].value }} {{ outputs.t.w1.v2.w3.value }}"
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs.read.value == "v1/v2/v3 w1/v2/w3"
    # l3 runs with l2's value, l2 with l1's; l1 has neither value nor outputs, so it is not listed
    assert values_of(ex, "up")[("w1", "v2", "v3")] == "w1 2 v2"
    assert sorted(ex.outputs.t) == ["v1", "w1"] and sorted(ex.outputs.t.v1.v2) == ["v3", "w3"]


def test_each_parallel_nested_runs_eleven_task_runs():
    ex = run_flow("""
        tasks:
          - id: 1_each
            type: io.kestra.plugin.core.flow.EachParallel
            value: ["value 1", "value 2", "value 3"]
            tasks:
              - id: 2-1_seq
                type: io.kestra.plugin.core.flow.Sequential
                tasks:
                - id: 2-1-1_t1
                  type: io.kestra.plugin.core.log.Log
                  message: "{{ task.id }} > {{ parents[0].taskrun.value }}"
                - id: 2-1-2_t2
                  type: io.kestra.plugin.core.log.Log
                  message: "{{ task.id }} > {{ parents[0].taskrun.value }}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{ task.id }}"
    """)
    assert ex.state == "SUCCESS"
    assert len(ex.taskruns) == 11
    assert sorted(messages(ex, "2-1-2_t2")) == ["2-1-2_t2 > value 1", "2-1-2_t2 > value 2", "2-1-2_t2 > value 3"]


# -- Subflow correlation labels (CorrelationIdTest) ------------------------------------------

def test_subflows_carry_the_correlation_id_of_the_first_execution():
    registry.register(nb_orchestra.load_flow(flow_text(f"""
        tasks:
          - id: firstLevel
            type: {RETURN}
            format: "My grandparent is {{{{ labels.system.correlationId }}}}"
    """, flow_id="subflow-grand-child")))
    registry.register(nb_orchestra.load_flow(flow_text("""
        labels:
          team: child
        tasks:
          - id: subflow
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: subflow-grand-child
    """, flow_id="subflow-child")))
    ex = run_flow("""
        tasks:
          - id: subflow
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: subflow-child
          - id: own
            type: io.kestra.plugin.core.debug.Return
            format: "{{ labels.system.correlationId }}"
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs.own.value == ex.id  # the first execution is its own correlation id
    child = api.find_execution(ex.outputs.subflow.executionId)
    grand_child = api.find_execution(child.outputs.subflow.executionId)
    assert child.state == grand_child.state == "SUCCESS"
    assert child.labels == {"team": "child", "system.correlationId": ex.id}  # the parent's own labels are not inherited
    assert grand_child.labels == {"system.correlationId": ex.id}
    assert grand_child.outputs.firstLevel.value == f"My grandparent is {ex.id}"


def test_labels_variable_keeps_ordinary_labels_and_sees_new_ones():
    ex = run_flow("""
        labels:
          team: data
        tasks:
          - id: add
            type: io.kestra.plugin.core.execution.Labels
            labels:
              stage: test
          - id: show
            type: io.kestra.plugin.core.debug.Return
            format: "{{ labels.team }} {{ labels.stage }} {{ labels.system.correlationId == execution.id }}"
    """)
    assert ex.outputs.show.value == "data test true"
    assert ex.labels == {"team": "data", "stage": "test"}


# -- execution.startDate (JdbcRunnerTest.executionDate) ------------------------------------------

def test_execution_start_date_prints_to_the_millisecond():
    ex = run_flow("""
        tasks:
          - id: hello
            type: io.kestra.plugin.core.debug.Return
            format: "{{ execution.startDate }}"
    """)
    printed = ex.outputs.hello.value
    truncated = ex.start_date.replace(microsecond=ex.start_date.microsecond // 1000 * 1000)
    assert printed == truncated.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{truncated.microsecond // 1000:03d}Z" if truncated.microsecond else "Z")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z", printed)


# -- envs (VariablesTest.recursiveVars; ENV_ since Kestra 0.23) -------------------------------

def test_envs_are_the_env_prefixed_variables_lower_cased(monkeypatch):
    monkeypatch.setenv("ENV_TEST1", "true")
    monkeypatch.setenv("ENV_TEST2", "Pass by env")
    monkeypatch.setenv("ENV_MY_Mixed", "mixed")
    monkeypatch.setenv("TEST3", "not exposed")
    ex = run_flow("""
        tasks:
          - id: env
            type: io.kestra.plugin.core.debug.Return
            format: "{{ envs.test1 }} {{ envs.test2 }} {{ envs.my_mixed }} {{ envs.test3 ?? 'absent' }}"
    """)
    assert ex.outputs.env.value == "true Pass by env mixed absent"


# -- kv() and the KV tasks (KvFunctionTest, kv/GetTest, kv/DeleteTest) ------------------------

def test_kv_function_fails_on_a_missing_key_unless_told_otherwise():
    ex = run_flow("""
        tasks:
          - id: quiet
            type: io.kestra.plugin.core.debug.Return
            format: "[{{ kv('my-key', errorOnMissing=false) }}]"
          - id: fallback
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('my-key', 'io.kestra.tests', false).field ?? 'none' }}"
          - id: strict
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('my-key') }}"
    """, namespace="io.kestra.tests")
    assert ex.state == "FAILED"
    assert ex.outputs.quiet.value == "[]"
    assert ex.outputs.fallback.value == "none"
    assert ex.taskrun("strict").message == (
        "property 'format': Error in the expression `{{ kv('my-key') }}` at line 1: "
        "The key 'my-key' does not exist in the namespace 'io.kestra.tests'.")


def test_kv_function_reads_values_with_inheritance_only_without_a_namespace():
    StoreKV().set("my.company", "my-key", {"field": "value"})
    StoreKV().set("my", "my-key", {"field": "firstValue"})
    StoreKV().set("kv", "other", {"field": "value"})
    ex = run_flow("""
        tasks:
          - id: inherited
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('my-key') }}"
          - id: named
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('other', namespace='kv').field }}"
          - id: not_inherited
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('other', namespace='kv.inherited') }}"
    """, namespace="my.company.team")
    assert ex.outputs.inherited.value == '{"field":"value"}'
    assert ex.outputs.named.value == "value"
    assert ex.taskrun("not_inherited").message == (
        "property 'format': Error in the expression `{{ kv('other', namespace='kv.inherited') }}` at line 1: "
        "The key 'other' does not exist in the namespace 'kv.inherited'.")


def test_kv_function_on_an_expired_value_depends_on_error_on_missing():
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    StoreKV().set("tests", "my-expired-key", "anyValue", expires=past)
    StoreKV().set("tests", "another-expired-key", "anyValue", expires=past)
    ex = run_flow("""
        tasks:
          - id: quiet
            type: io.kestra.plugin.core.debug.Return
            format: "[{{ kv('my-expired-key', errorOnMissing=false) }}]"
          - id: strict
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('another-expired-key') }}"
    """)
    assert ex.outputs.quiet.value == "[]"
    assert ex.taskrun("strict").message == (
        "property 'format': Error in the expression `{{ kv('another-expired-key') }}` at line 1: "
        "The requested value has expired")


def test_kv_tasks_do_not_fail_on_a_missing_key_by_default():
    ex = run_flow("""
        tasks:
          - id: get
            type: io.kestra.plugin.core.kv.Get
            key: missing
          - id: delete
            type: io.kestra.plugin.core.kv.Delete
            key: missing
          - id: strict_delete
            type: io.kestra.plugin.core.kv.Delete
            key: missing
            errorOnMissing: true
    """)
    assert ex.outputs.get == {"value": None}
    assert ex.outputs.delete == {"deleted": False}
    assert ex.taskrun("strict_delete").message == (
        "No value found for key 'missing' in namespace 'tests' and `errorOnMissing` is set to true")
    ex = run_flow("""
        tasks:
          - id: get
            type: io.kestra.plugin.core.kv.Get
            key: missing
            namespace: other.ns
            errorOnMissing: true
    """)
    assert ex.state == "FAILED"
    assert ex.taskrun("get").message == (
        "No value found for key 'missing' in namespace 'other.ns' and `errorOnMissing` is set to true")


# -- secret() (SecretFunctionTest) ------------------------------------------------------------

def test_missing_secret_fails_with_kestras_message(monkeypatch):
    monkeypatch.delenv("SECRET_UNKNOWN_SECRET_KEY", raising=False)
    ex = run_flow("""
        tasks:
          - id: log
            type: io.kestra.plugin.core.log.Log
            message: "{{ secret('unknown_secret_key') }}"
    """)
    assert ex.state == "FAILED"
    assert ex.taskrun("log").message == (
        "property 'message': Error in the expression `{{ secret('unknown_secret_key') }}` at line 1: "
        "Cannot find secret for key 'unknown_secret_key'. Call nb_orchestra.set_secret('unknown_secret_key', "
        "value) or set the environment variable SECRET_UNKNOWN_SECRET_KEY to the base64 encoding of its value.")


def test_secret_names_are_compared_in_upper_case_and_line_breaks_in_base64_ignored(monkeypatch):
    encoded = base64.b64encode(b"passwordveryveryveyrlong" * 5).decode()
    monkeypatch.setenv("SECRET_NEW_LINE", encoded[:40] + "\n" + encoded[40:])
    monkeypatch.setenv("SECRET_my_secret", base64.b64encode(b"secretValue").decode())
    set_secret("my_secret", None)
    ex = run_flow("""
        tasks:
          - id: get-secret
            type: io.kestra.plugin.core.debug.Return
            format: "{{ secret('my_secret') }}"
          - id: log-secret
            type: io.kestra.plugin.core.log.Log
            message: "Using the secret {{ secret('MY_SECRET') }}"
          - id: new-line
            type: io.kestra.plugin.core.debug.Return
            format: "{{ secret('new_line') }}"
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs["get-secret"]["value"] == "secretValue"
    assert ex.outputs["new-line"]["value"] == "passwordveryveryveyrlong" * 5
    assert messages(ex, "log-secret") == ["Using the secret ******"]


# -- flow outputs with types (FlowOutputTest) --------------------------------------------------

def test_a_string_flow_output_of_a_map_is_its_json_text():
    ex = run_flow("""
        tasks:
        - id: return
          type: io.kestra.plugin.core.debug.Return
          format: "{{ flow.id }}"
        outputs:
        - id: "key"
          value: "{{ outputs.return }}"
          type: STRING
    """)
    assert ex.state == "SUCCESS"
    assert ex.flow_outputs == {"key": '{"value":"test"}'}


def test_flow_outputs_are_converted_to_their_type():
    ex = run_flow("""
        tasks:
          - id: return
            type: io.kestra.plugin.core.output.OutputValues
            values:
              one: "1rstValue"
              two: "2ndValue"
              n: "41"
        outputs:
          - id: myout
            type: ARRAY
            value:
              - "{{ outputs.return.values.one }}"
              - "{{ outputs.return.values.two }}"
          - id: number
            type: INT
            value: "{{ outputs.return.values.n | number + 1 }}"
          - id: flag
            type: BOOLEAN
            value: "true"
          - id: doc
            type: JSON
            value: '{"a": [1, 2]}'
          - id: text
            type: STRING
            value: "{{ 5 }}"
    """)
    assert ex.state == "SUCCESS"
    assert ex.flow_outputs == {"myout": ["1rstValue", "2ndValue"], "number": 42, "flag": True,
                               "doc": {"a": [1, 2]}, "text": "5"}


def test_invalid_flow_outputs_fail_the_execution():
    ex = run_flow("""
        tasks:
        - id: return
          type: io.kestra.plugin.core.debug.Return
          format: "{{ flow.id }}"
        outputs:
        - id: "key"
          value: "{{ invalid }}"
          type: STRING
    """)
    assert ex.state == "FAILED"
    assert ex.flow_outputs == {}
    ex = run_flow("""
        tasks:
        - id: return
          type: io.kestra.plugin.core.debug.Return
          format: "x"
        outputs:
        - id: count
          value: "{{ outputs.return.value }}"
          type: INT
    """)
    assert ex.state == "FAILED"
    assert ex.message == "Invalid output for `count`: Not a whole number: `x`."
