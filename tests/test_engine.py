"""Execution semantics: states, outputs, loops, retries, timeouts, kills, errors/finally."""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timezone

import pytest

import nb_orchestra
from nb_orchestra import InputError, registry

from .conftest import flow_text, load_fixture, messages, run_fixture, run_flow

LOG = "io.kestra.plugin.core.log.Log"
FAIL = "io.kestra.plugin.core.execution.Fail"
SLEEP = "io.kestra.plugin.core.flow.Sleep"


def states_of(ex) -> dict:
    return {(r.task_id, r.value): r.state for r in ex.taskruns}


def test_hello_flow_outputs_logs_and_inputs():
    ex = run_fixture("valid/engine/hello.yaml", inputs={"user": "Ann"})
    assert ex.state == "SUCCESS"
    assert ex.inputs == {"user": "Ann"}
    assert ex.outputs.ret.value == "ANN"
    assert ex.outputs["ret"]["value"] == "ANN"
    assert messages(ex, "hello") == ["Hello, Ann!"]
    assert messages(ex, "use") == ["got ANN"]
    assert [r.task_id for r in ex.taskruns] == ["hello", "ret", "use"]
    assert all(r.state == "SUCCESS" and len(r.attempts) == 1 for r in ex.taskruns)
    assert ex.flow_id == "test" and ex.namespace == "tests" and len(ex.id) == 22


def test_missing_and_invalid_inputs_raise_before_any_execution():
    text = load_fixture("valid/engine/required_inputs.yaml")
    with pytest.raises(InputError) as info:
        nb_orchestra.run(text, inputs={"count": "1.5"})
    assert [str(problem) for problem in info.value.problems] == ["name: Required.", "count: Not a whole number: `1.5`."]
    assert [problem.kestra for problem in info.value.problems] == [
        "Invalid input for `name`, missing required input, but received `null`",
        "Invalid input for `count`, Expected `INT` but received `1.5`, but received `1.5`",
    ]


def test_failure_stops_siblings_then_errors_and_finally_run():
    ex = run_fixture("valid/engine/failure_errors_finally.yaml")
    assert ex.state == "FAILED"
    assert states_of(ex) == {("first", None): "SUCCESS", ("boom", None): "FAILED", ("alert", None): "SUCCESS",
                             ("cleanup", None): "SUCCESS", ("after", None): "SUCCESS"}
    assert ex.taskrun("boom").message == "broken boom"
    assert messages(ex, "boom") == ["broken boom"]
    assert messages(ex, "alert") == ["alert while RUNNING"]
    assert messages(ex, "after") == ["ended FAILED"]


def test_allow_failure_gives_warning_and_allow_warning_gives_success():
    ex = run_flow(f"""
        tasks:
          - id: soft
            type: {FAIL}
            allowFailure: true
          - id: next
            type: {LOG}
            message: still runs
    """)
    assert ex.state == "WARNING"
    assert states_of(ex) == {("soft", None): "WARNING", ("next", None): "SUCCESS"}
    ex = run_flow(f"""
        tasks:
          - id: soft
            type: {FAIL}
            allowFailure: true
            allowWarning: true
    """)
    assert ex.state == "SUCCESS" and ex.taskrun("soft").state == "SUCCESS"


def test_run_if_skips_and_skipped_outputs_are_undefined():
    ex = run_fixture("valid/engine/run_if.yaml")
    assert states_of(ex) == {("skipped", None): "SKIPPED", ("fallback", None): "SUCCESS", ("strict", None): "FAILED"}
    assert ex.outputs.fallback.value == "fallback"
    assert "skipped" not in ex.outputs
    assert "property 'format'" in ex.taskrun("strict").message
    assert ex.state == "FAILED"


def test_string_truthiness_follows_kestra():
    ex = run_fixture("valid/engine/string_truthiness.yaml")
    assert ex.outputs.literal_false_word.evaluationResult is True
    assert ex.outputs.rendered_false.evaluationResult is False
    assert [r.task_id for r in ex.taskruns] == ["literal_false_word", "then_ran", "rendered_false", "else_ran"]


def test_retry_succeeds_on_the_third_attempt():
    ex = run_fixture("valid/engine/retry_third_attempt.yaml")
    run = ex.taskrun("flaky")
    assert (ex.state, run.state, len(run.attempts)) == ("SUCCESS", "SUCCESS", 3)
    assert [a.state for a in run.attempts] == ["FAILED", "FAILED", "SUCCESS"]
    assert messages(ex, "flaky") == [
        "attempt 1 failed", "attempt 1 failed; retrying in 0.05s",
        "attempt 2 failed", "attempt 2 failed; retrying in 0.05s",
    ]


def test_retry_exhausted_fails_and_warning_on_retry():
    ex = run_fixture("valid/engine/retry_exhausted.yaml")
    assert ex.state == "FAILED" and len(ex.taskrun("always").attempts) == 3
    ex = run_fixture("valid/engine/warning_on_retry.yaml")
    assert ex.state == "WARNING" and ex.taskrun("flaky").state == "WARNING"


def test_retry_max_duration_stops_retrying():
    ex = run_flow(f"""
        tasks:
          - id: always
            type: {FAIL}
            retry:
              type: constant
              interval: PT0.2S
              maxDuration: PT0.3S
    """)
    assert ex.state == "FAILED" and len(ex.taskrun("always").attempts) == 2


def test_timeout_fails_the_attempt_promptly():
    started = time.monotonic()
    ex = run_flow(f"""
        tasks:
          - id: slow
            type: {SLEEP}
            duration: PT10S
            timeout: PT0.2S
    """)
    assert time.monotonic() - started < 2
    assert ex.state == "FAILED"
    assert ex.taskrun("slow").message == "Timeout after PT0.2S"


def test_foreach_values_outputs_iteration_and_dedup():
    ex = run_fixture("valid/engine/foreach_values.yaml")
    assert ex.state == "SUCCESS"
    assert [r.value for r in ex.taskruns if r.task_id == "r"] == ["a", "b", "3", '{"k":1}']
    assert ex.outputs.r["a"].value == "a#0"
    assert ex.outputs.r['{"k":1}'].value == '{"k":1}#3'
    assert ex.outputs.after.value == "b#1 3#2"


def test_foreach_values_from_an_expression_and_empty_list():
    ex = run_fixture("valid/engine/foreach_expression_and_empty.yaml")
    assert ex.state == "SUCCESS"
    assert sorted(ex.outputs.r) == ["x", "y"]
    assert ex.taskrun("none").state == "SUCCESS"


def test_nested_foreach_parent_values_and_nested_outputs():
    ex = run_fixture("valid/engine/nested_foreach.yaml")
    assert ex.state == "SUCCESS"
    assert ex.outputs.file["02"]["green"].value == "green_02"
    assert ex.outputs.deep["01"]["yellow"].value == "yellow/01"
    assert len([r for r in ex.taskruns if r.task_id == "file"]) == 4


def test_concurrency_limit_zero_runs_all_at_once():
    started = time.monotonic()
    ex = run_fixture("valid/engine/concurrency_limit_zero.yaml")
    assert ex.state == "SUCCESS"
    assert time.monotonic() - started < 1.5  # sequentially it would take 2.4 s


def max_overlap(runs) -> int:
    edges = sorted([(r.start_date, 1) for r in runs] + [(r.end_date, -1) for r in runs])
    current = best = 0
    for _, delta in edges:
        current += delta
        best = max(best, current)
    return best


def test_concurrency_limit_is_honoured_exactly():
    ex = run_fixture("valid/engine/concurrency_limits.yaml")
    assert ex.state == "SUCCESS"
    assert max_overlap([r for r in ex.taskruns if r.task_id == "nap"]) == 2
    assert max_overlap([r for r in ex.taskruns if r.task_id[1:].isdigit()]) == 3
    # the default limit of 1 runs values strictly one after the other, in order
    ex = run_fixture("valid/engine/foreach_in_order.yaml")
    naps = [r for r in ex.taskruns if r.task_id == "nap"]
    assert [r.value for r in naps] == ["c", "a", "b"] and max_overlap(naps) == 1


def test_failed_iteration_stops_new_ones_and_runs_local_errors():
    ex = run_fixture("valid/engine/foreach_failed_iteration.yaml")
    assert ex.state == "FAILED"
    assert states_of(ex) == {("loop", None): "FAILED", ("maybe", "a"): "SUCCESS", ("maybe", "b"): "FAILED",
                             ("handler", None): "SUCCESS"}


def test_switch_cases_and_defaults():
    ex = run_fixture("valid/engine/switch.yaml", inputs={"kind": "yellow"})
    assert [r.task_id for r in ex.taskruns] == ["sw", "y"]
    assert ex.outputs.sw == {"value": "yellow", "defaults": False}
    ex = run_fixture("valid/engine/switch.yaml", inputs={"kind": "other"})
    assert [r.task_id for r in ex.taskruns] == ["sw", "d"] and ex.outputs.sw.defaults is True


def test_output_values_render_expressions_as_text_and_values_key_reads_as_output():
    """As Kestra's renderer: an expression gives text (`{{ 1 + 2 }}` is \"3\"); other values stay."""
    ex = run_fixture("valid/engine/output_values.yaml")
    assert ex.outputs.out.values == {"n": "3", "items": [1, 2], "text": "a1"}
    assert ex.outputs.use.value == "3 [1,2]"


def test_labels_task_and_execution_labels():
    ex = run_fixture("valid/engine/labels.yaml", labels={"run": "manual"})
    assert ex.labels == {"team": "data", "run": "manual", "file": "x1.csv"}
    assert ex.outputs.read.value == "data/x1.csv"


def test_exit_ends_the_execution_in_its_state():
    ex = run_fixture("valid/engine/exit.yaml")
    assert ex.state == "WARNING"
    assert [r.task_id for r in ex.taskruns] == ["check", "stop"]


def test_flow_outputs_are_rendered_and_typed():
    ex = run_fixture("valid/engine/flow_outputs.yaml")
    assert ex.flow_outputs == {"answer": 42}


def test_subflow_passes_inputs_and_returns_flow_outputs():
    nb_orchestra.register_flow(load_fixture("valid/engine/child.yaml"))
    ex = run_fixture("valid/engine/subflow.yaml")
    assert ex.state == "SUCCESS"
    assert ex.outputs.call.state == "SUCCESS"
    assert ex.outputs.use.value == "42"


def test_subflow_failures_are_transmitted_and_unknown_flows_named():
    nb_orchestra.register_flow(flow_text(f"tasks:\n  - id: f\n    type: {FAIL}\n", flow_id="broken"))
    ex = run_flow("""
        tasks:
          - id: call
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: broken
    """)
    assert ex.state == "FAILED"
    assert ex.taskrun("call").message.startswith("subflow tests.broken execution ")
    assert ex.outputs.call.state == "FAILED"
    ex = run_flow("""
        tasks:
          - id: call
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: missing
    """)
    assert ex.taskrun("call").message.startswith("Unable to find flow 'tests'.'missing' with revision '0'")


def test_registering_a_changed_flow_makes_a_new_revision():
    first = nb_orchestra.register_flow(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: one\n"))
    same = nb_orchestra.register_flow(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: one\n"))
    second = nb_orchestra.register_flow(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: two\n"))
    assert (first.revision, same.revision, second.revision) == (1, 1, 2)
    assert registry.find_flow("tests", "test", 1) is first


def test_pause_with_duration_and_resume():
    ex = run_flow("""
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Pause
            pauseDuration: PT0.05S
    """)
    assert ex.state == "SUCCESS"
    ex = run_flow("""
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Pause
    """, background=True)
    deadline = time.monotonic() + 5
    while ex.state != "PAUSED" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ex.state == "PAUSED"
    ex.resume()
    assert ex.wait(5) and ex.state == "SUCCESS"


def test_working_directory_children_share_a_folder():
    ex = run_fixture("valid/engine/working_directory.yaml")
    assert ex.state == "SUCCESS"
    assert ex.outputs.one.value == ex.outputs.two.value != ""


def test_kill_mid_foreach_stops_promptly_and_leaves_no_thread():
    baseline = threading.active_count()
    ex = run_fixture("valid/engine/kill_mid_foreach.yaml", background=True)
    deadline = time.monotonic() + 5
    while sum(r.state == "RUNNING" for r in ex.taskruns) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    ex.kill()
    assert ex.wait(5)
    assert time.monotonic() - started < 2
    assert ex.state == "KILLED"
    assert states_of(ex) == {("loop", None): "KILLED", ("nap", "1"): "KILLED", ("nap", "2"): "KILLED"}
    deadline = time.monotonic() + 2
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == baseline


def test_keyboard_interrupt_kills_and_propagates():
    import _thread

    seen = []
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_flow(f"""
            tasks:
              - id: nap
                type: {SLEEP}
                duration: PT30S
        """, listeners=[seen.append])
    execution = seen[0].execution
    assert execution.state == "KILLED"
    assert execution.taskrun("nap").state == "KILLED"


def test_flow_concurrency_fail_and_queue():
    text = load_fixture("valid/engine/flow_concurrency.yaml", behavior="FAIL")
    first = nb_orchestra.run(text, background=True)
    time.sleep(0.05)
    second = nb_orchestra.run(text)
    assert second.state == "FAILED" and second.taskruns == []
    assert first.wait(5) and first.state == "SUCCESS"
    text = load_fixture("valid/engine/flow_concurrency.yaml", behavior="QUEUE")
    first = nb_orchestra.run(text, background=True)
    time.sleep(0.05)
    second = nb_orchestra.run(text)
    assert first.wait(5)
    assert second.state == "SUCCESS"
    assert [state for state, _ in second.state_history][:3] == ["CREATED", "QUEUED", "RUNNING"]
    assert second.taskruns[0].start_date >= first.taskruns[0].end_date


def test_flow_level_retry_creates_a_new_execution():
    ex = run_fixture("valid/engine/flow_retry.yaml")
    assert ex.state == "FAILED"
    assert ex.retried_from.state == "RETRIED"
    assert ex.original_id == ex.retried_from.id != ex.id


def test_template_errors_name_task_property_and_expression():
    ex = run_fixture("valid/engine/template_error.yaml")
    assert ex.state == "FAILED"
    message = ex.taskrun("bad").message
    assert message.startswith("property 'message': ")
    assert "nope" in message and "{{ inputs.nope }}" in message


def test_trigger_variables_envs_secrets_masked_and_kv(monkeypatch):
    from nb_orchestra.store.kv import StoreKV

    monkeypatch.setenv("ENV_REGION", "eu")
    monkeypatch.setenv("SECRET_TOKEN", base64.b64encode(b"s3cr3t").decode())
    StoreKV().set("tests", "LIMIT", 7)
    ex = run_fixture("valid/engine/trigger_envs_secrets_kv.yaml",
                     trigger={"date": datetime(2019, 1, 1, 9, tzinfo=timezone.utc)})
    assert ex.state == "SUCCESS"
    assert messages(ex, "show") == ["2019-01-01T09:00:00Z eu ****** 8"]


def test_events_reach_listeners_in_order():
    seen = []
    run_flow(f"""
        tasks:
          - id: a
            type: {LOG}
            message: hi
    """, listeners=[seen.append])
    kinds = [(type(e).__name__, getattr(e, "state", None)) for e in seen]
    assert kinds == [("ExecutionChanged", "RUNNING"), ("TaskRunChanged", "RUNNING"), ("LogEmitted", None),
                     ("TaskRunChanged", "SUCCESS"), ("ExecutionChanged", "SUCCESS")]


def test_disabled_flow_cannot_run():
    with pytest.raises(nb_orchestra.UserError, match="Cannot execute a flow which is disabled"):
        run_flow(f"disabled: true\ntasks:\n  - id: a\n    type: {LOG}\n    message: x\n")


def test_plugin_defaults_apply_at_run_time():
    ex = run_fixture("valid/engine/plugin_defaults.yaml")
    assert [log.level for log in ex.logs] == ["ERROR"]


def test_log_level_filters_task_logs():
    ex = run_fixture("valid/engine/log_level.yaml")
    assert messages(ex) == ["one", "two"]


def test_secret_values_are_masked_in_failure_messages(monkeypatch):
    monkeypatch.setenv("SECRET_PW", base64.b64encode(b"hunter2").decode())
    ex = run_fixture("valid/engine/secret_in_failure.yaml")
    assert ex.taskrun("leak").message == "password is ******"
    assert messages(ex, "leak") == ["password is ******"]
    assert ex.secrets.values() == {"hunter2"}


def test_error_logs_function_gives_the_failures_to_an_errors_handler():
    ex = run_fixture("valid/engine/error_logs.yaml")
    assert messages(ex, "alert") == ["boom failed: disk full"]


def test_file_inputs_become_stored_files_that_tasks_read(tmp_path):
    source = tmp_path / "trips.csv"
    source.write_text("id,fare\n1,9.5\n")
    ex = run_fixture("valid/engine/file_input.yaml", inputs={"data": str(source)})
    assert ex.state == "SUCCESS"
    assert ex.inputs["data"] == f"kestra:///tests/test/executions/{ex.id}/inputs/data/trips.csv"
    assert ex.outputs.peek.value == "id,fare\n1,9.5"


def test_queued_executions_start_in_the_order_they_arrived():
    text = load_fixture("valid/engine/queued_in_order.yaml")
    runs = []
    for n in range(5):
        runs.append(nb_orchestra.run(text, inputs={"n": n}, background=True))
        time.sleep(0.02)  # arrive one after the other
    assert all(ex.wait(10) for ex in runs)
    started = sorted(runs, key=lambda ex: ex.taskruns[0].start_date)
    assert [ex.inputs["n"] for ex in started] == [0, 1, 2, 3, 4]
    assert max_overlap([ex.taskruns[0] for ex in runs]) == 1
