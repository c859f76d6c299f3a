"""Properties of existing tasks, as Kestra's tests assert them: a templated `timeout`, Pause
(`pauseDuration`/`delay`, `behavior`, `timeout`, `onResume`, deprecated `tasks`, errors/finally),
Fail's `condition`, Subflow's deprecated `outputs`, `workerGroup`, `listeners` and `assets`.

Facts from kestra-io/kestra: PauseTest (pause.yaml, pause_no_tasks.yaml, pause-behavior.yaml,
pause-timeout.yaml, pause-timeout-allow-failure.yaml, pause-errors-finally-after-execution.yaml,
pause_on_resume*.yaml), FailTest (fail-on-condition.yaml), FlowCaseTest (task-flow.yaml, switch.yaml),
models FlowTest (invalids/worker-group.yaml), YamlParserTest (invalids/listener.yaml).
"""

from __future__ import annotations

import time
import zipfile

import pytest

import nb_orchestra
from nb_orchestra import FlowValidationError, InputError

from .conftest import flow_text, run_flow

PAUSE = "io.kestra.plugin.core.flow.Pause"
RETURN = "io.kestra.plugin.core.debug.Return"
LOG = "io.kestra.plugin.core.log.Log"


def runs(ex) -> list[tuple[str, str]]:
    return [(r.task_id, r.state) for r in ex.taskruns]


def until_paused(ex, seconds: float = 5):
    deadline = time.monotonic() + seconds
    while ex.state != "PAUSED" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ex.state == "PAUSED"
    return ex


def problems(text: str) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        nb_orchestra.load_flow(text)
    return [str(problem) for problem in caught.value.problems]


# -- a templated timeout -----------------------------------------------------------------------------

TIMED = """
    inputs:
      - id: t
        type: STRING
    tasks:
      - id: sleep
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT5S
        timeout: "{{ inputs.t }}"
"""


def test_a_templated_timeout_is_valid_and_rendered_when_the_attempt_starts():
    nb_orchestra.load_flow(flow_text(TIMED))  # a Property<Duration> in Kestra: no validation error
    started = time.monotonic()
    ex = run_flow(TIMED, inputs={"t": "PT0.1S"})
    assert time.monotonic() - started < 3
    assert ex.state == "FAILED"
    run = ex.taskrun("sleep")
    assert (run.state, run.message, len(run.attempts)) == ("FAILED", "Timeout after PT0.1S", 1)
    assert [(log.task_id, log.level, log.message) for log in ex.logs] == [("sleep", "ERROR", "Timeout after PT0.1S")]


def test_a_templated_timeout_that_renders_no_duration_fails_the_task_naming_the_property():
    ex = run_flow(TIMED, inputs={"t": "soon"})
    assert ex.state == "FAILED"
    message = "property 'timeout': 'soon' is not an ISO-8601 duration such as PT30S, PT5M or P1DT2H"
    run = ex.taskrun("sleep")
    assert (run.state, run.message) == ("FAILED", message)
    assert [(log.task_id, log.level, log.message) for log in ex.logs] == [("sleep", "ERROR", message)]


def test_a_static_timeout_is_still_checked_when_the_flow_is_read():
    assert problems(flow_text("""
        tasks:
          - id: sleep
            type: io.kestra.plugin.core.flow.Sleep
            duration: PT1S
            timeout: soon
    """)) == ["line 8, column 5: tasks[0].timeout: 'soon' is not an ISO-8601 duration such as PT30S, PT5M or P1DT2H"]


# -- Pause -------------------------------------------------------------------------------------------

def test_pause_without_tasks_waits_paused_until_resumed():  # pause_no_tasks.yaml, PauseTest.runEmptyTasks
    ex = until_paused(run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
          - id: last
            type: {RETURN}
            format: "{{{{task.id}}}}"
    """, background=True))
    assert runs(ex) == [("pause", "PAUSED")]
    ex.resume()
    assert ex.wait(5)
    assert ex.state == "SUCCESS"
    assert runs(ex) == [("pause", "SUCCESS"), ("last", "SUCCESS")]
    assert ex.outputs.pause["onResume"] == {}
    assert ex.outputs.pause["resumed"]["to"] == "SUCCESS" and ex.outputs.pause["resumed"]["by"] is None


def test_the_deprecated_tasks_of_a_pause_run_once_it_is_resumed():  # pause.yaml, PauseTest.run
    ex = until_paused(run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            tasks:
              - id: subtask
                type: {LOG}
                message: trigger after manual restart
          - id: last
            type: {RETURN}
            format: "{{{{task.id}}}}"
    """, background=True))
    assert runs(ex) == [("pause", "PAUSED")]
    ex.resume()
    assert ex.wait(5) and ex.state == "SUCCESS"
    assert runs(ex) == [("pause", "SUCCESS"), ("subtask", "SUCCESS"), ("last", "SUCCESS")]


def test_a_pause_duration_resumes_by_itself_and_delay_is_its_old_name():  # pause-delay.yaml
    for name in ("pauseDuration", "delay"):
        ex = run_flow(f"""
            tasks:
              - id: pause
                type: {PAUSE}
                {name}: PT0.05S
                tasks:
                  - id: subtask
                    type: {LOG}
                    message: after the pause
              - id: last
                type: {RETURN}
                format: "{{{{task.id}}}}"
        """)
        assert ex.state == "SUCCESS"
        assert runs(ex) == [("pause", "SUCCESS"), ("subtask", "SUCCESS"), ("last", "SUCCESS")]
        assert ("PAUSED" in [state for state, _ in ex.state_history]) is True


BEHAVIOR = f"""
    inputs:
      - id: behavior
        type: STRING
        defaults: RESUME
    tasks:
      - id: pause
        type: {PAUSE}
        pauseDuration: PT0.05S
        behavior: "{{{{inputs.behavior}}}}"
      - id: last
        type: {RETURN}
        format: "{{{{task.id}}}}"
"""


@pytest.mark.parametrize(("behavior", "state", "task_runs"), [
    ("RESUME", "SUCCESS", [("pause", "SUCCESS"), ("last", "SUCCESS")]),
    ("WARN", "WARNING", [("pause", "WARNING"), ("last", "SUCCESS")]),
    ("FAIL", "FAILED", [("pause", "FAILED")]),
    ("CANCEL", "CANCELLED", [("pause", "CANCELLED")]),
])
def test_the_behavior_decides_what_the_end_of_a_pause_duration_does(behavior, state, task_runs):
    # PauseTest.runDurationWithBehavior: FAIL and CANCEL end the execution after the pause
    ex = run_flow(BEHAVIOR, inputs={"behavior": behavior})
    assert ex.state == state
    assert runs(ex) == task_runs


def test_a_behavior_fail_names_the_duration_and_an_unknown_behavior_fails_the_pause():
    ex = run_flow(BEHAVIOR, inputs={"behavior": "FAIL"})
    assert ex.taskrun("pause").message == "pauseDuration PT0.05S is over: the task fails (behavior FAIL)"
    ex = run_flow(BEHAVIOR, inputs={"behavior": "STOP"})
    assert ex.state == "FAILED"
    assert runs(ex) == [("pause", "FAILED")]
    assert ex.taskrun("pause").message == "property 'behavior': 'STOP' is not one of RESUME, WARN, FAIL, CANCEL"
    assert problems(flow_text(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            behavior: STOP
    """)) == ["line 7, column 5: tasks[0].behavior: 'STOP' is not one of RESUME, WARN, FAIL, CANCEL"]


def test_a_resume_before_the_duration_always_succeeds():
    ex = until_paused(run_flow(BEHAVIOR.replace("PT0.05S", "PT30S"), inputs={"behavior": "FAIL"}, background=True))
    ex.resume()
    assert ex.wait(5) and ex.state == "SUCCESS"
    assert runs(ex) == [("pause", "SUCCESS"), ("last", "SUCCESS")]


def test_a_pause_timeout_fails_the_pause_and_its_tasks_never_run():  # pause-timeout.yaml, PauseTest.runTimeout
    ex = run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            timeout: PT0.1S
            tasks:
              - id: ko
                type: {LOG}
                message: trigger 1 seconds pause
          - id: last
            type: {RETURN}
            format: "{{{{task.id}}}}"
    """)
    assert ex.state == "FAILED"
    assert runs(ex) == [("pause", "FAILED")]
    assert ex.taskrun("pause").message == "Timeout after PT0.1S"


def test_a_pause_timeout_with_allow_failure_ends_warning():  # pause-timeout-allow-failure.yaml
    ex = run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            timeout: PT0.05S
            allowFailure: true
          - id: last
            type: {RETURN}
            format: "{{{{task.id}}}}"
    """)
    assert ex.state == "WARNING"
    assert runs(ex) == [("pause", "WARNING"), ("last", "SUCCESS")]


def test_a_timed_out_pause_runs_its_errors_finally_and_after_execution():
    # pause-errors-finally-after-execution.yaml, PauseTest.shouldExecuteErrorsFinallyAndAfterExecution
    ex = run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            timeout: PT0.25S
            errors:
              - id: logError
                type: {LOG}
                message: I'm in error
            finally:
              - id: logFinally
                type: {LOG}
                message: I'm in finally
          - id: log
            type: {LOG}
            message: I'm after the pause
        afterExecution:
          - id: logAfter
            type: {LOG}
            message: I'm after the execution
    """)
    assert ex.state == "FAILED"
    assert runs(ex) == [("pause", "FAILED"), ("logError", "SUCCESS"), ("logFinally", "SUCCESS"),
                        ("logAfter", "SUCCESS")]


ON_RESUME = f"""
    tasks:
      - id: pause
        type: {PAUSE}
        onResume:
          - id: asked
            type: STRING
          - id: count
            type: INT
            defaults: 3
      - id: last
        type: io.kestra.plugin.core.output.OutputValues
        values:
          asked: "{{{{outputs.pause.onResume.asked}}}}"
          count: "{{{{outputs.pause.onResume.count}}}}"
"""


def test_on_resume_inputs_are_checked_then_become_the_pause_outputs():  # pause_on_resume.yaml
    ex = until_paused(run_flow(ON_RESUME, background=True))
    with pytest.raises(InputError) as caught:  # PauseTest.runOnResumeMissingInputs
        ex.resume()
    assert [(p.input_id, p.kestra) for p in caught.value.problems] == [
        ("asked", "Invalid input for `asked`, missing required input, but received `null`")]
    time.sleep(0.15)
    assert ex.state == "PAUSED"  # a refused resume leaves it paused
    with pytest.raises(InputError) as caught:
        ex.resume({"asked": "restarted", "count": "many"})
    assert [p.input_id for p in caught.value.problems] == ["count"]
    ex.resume({"asked": "restarted"})
    assert ex.wait(5) and ex.state == "SUCCESS"
    assert ex.outputs.pause["onResume"] == {"asked": "restarted", "count": 3}
    assert ex.outputs.last["values"] == {"asked": "restarted", "count": "3"}


def test_optional_on_resume_inputs_may_be_left_out():  # pause_on_resume_optional.yaml
    ex = until_paused(run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            onResume:
              - id: asked
                type: STRING
                required: false
          - id: last
            type: io.kestra.plugin.core.output.OutputValues
            values:
              asked: "{{{{outputs.pause.onResume.asked ?? 'MISSING'}}}}"
    """, background=True))
    ex.resume()
    assert ex.wait(5) and ex.state == "SUCCESS"
    assert ex.outputs.last["values"] == {"asked": "MISSING"}


def test_on_resume_declarations_are_checked_as_flow_inputs_are():
    found = problems(flow_text(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            onResume:
              - id: asked
                type: STRNG
    """))
    assert found == ["line 9, column 9: tasks[0].onResume[0].type: Unknown input type 'STRNG'; did you mean STRING?"]


def test_a_paused_execution_can_be_killed():
    ex = until_paused(run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
          - id: last
            type: {RETURN}
            format: x
    """, background=True))
    ex.kill()
    assert ex.wait(5) and ex.state == "KILLED"
    assert runs(ex) == [("pause", "KILLED")]


# -- Fail with a condition ---------------------------------------------------------------------------

FAIL_ON_CONDITION = """
    inputs:
      - id: param
        type: STRING
        required: true
    tasks:
      - id: before
        type: io.kestra.plugin.core.debug.Echo
        format: I'm before the fail on condition
      - id: fail
        type: io.kestra.plugin.core.execution.Fail
        condition: '{{inputs.param == "fail"}}'
      - id: after
        type: io.kestra.plugin.core.debug.Echo
        format: I'm after the fail on condition
"""


def test_fail_on_condition():  # FailTest.failOnCondition and dontFailOnCondition
    ex = run_flow(FAIL_ON_CONDITION, inputs={"param": "fail"})
    assert ex.state == "FAILED"
    assert runs(ex) == [("before", "SUCCESS"), ("fail", "FAILED")]
    ex = run_flow(FAIL_ON_CONDITION, inputs={"param": "success"})
    assert ex.state == "SUCCESS"
    assert runs(ex) == [("before", "SUCCESS"), ("fail", "SUCCESS"), ("after", "SUCCESS")]


def test_fail_on_switch():  # FailTest.failOnSwitch: no case matches and no defaults, so the Switch fails
    ex = run_flow("""
        inputs:
          - id: param
            type: STRING
            required: true
        tasks:
          - id: switch
            type: io.kestra.plugin.core.flow.Switch
            value: "{{inputs.param}}"
            cases:
              case1:
                - id: case1
                  type: io.kestra.plugin.core.debug.Echo
                  format: Case 1
              notexist:
                - id: fail
                  type: io.kestra.plugin.core.execution.Fail
    """, inputs={"param": "fail"})
    assert ex.state == "FAILED"
    assert runs(ex) == [("switch", "FAILED")]


# -- Subflow's deprecated outputs ----------------------------------------------------------------------

SWITCH = """
    inputs:
      - id: string
        type: STRING
      - id: def
        type: STRING
        defaults: amazing
    tasks:
      - id: parent-seq
        type: io.kestra.plugin.core.flow.Switch
        value: "{{inputs.string}}"
        cases:
          FIRST:
            - id: t1
              type: io.kestra.plugin.core.debug.Return
              format: "{{task.id}}"
          THIRD:
            - id: t3
              type: io.kestra.plugin.core.flow.Sequential
              tasks:
                - id: failed
                  type: io.kestra.plugin.core.execution.Fail
              errors:
                - id: error-t1
                  type: io.kestra.plugin.core.debug.Return
                  format: "Error Trigger ! {{task.id}}"
        defaults:
          - id: default
            type: io.kestra.plugin.core.debug.Return
            format: "{{task.id}} > {{ inputs.def }}"
"""
TASK_FLOW = """
    inputs:
      - id: string
        type: STRING
    tasks:
      - id: launch
        type: io.kestra.plugin.core.flow.Subflow
        namespace: tests
        flowId: switch
        inputs:
          string: "{{ inputs.string }}"
        outputs:
          extracted: "{{ outputs.default.value ?? outputs['error-t1'].value }}"
"""


@pytest.mark.parametrize(("value", "state", "child_state", "extracted"), [
    ("OK", "SUCCESS", "SUCCESS", "default > amazing"),
    ("THIRD", "FAILED", "FAILED", "Error Trigger ! error-t1"),  # FlowCaseTest.waitFailed
    ("FIRST", "FAILED", "SUCCESS", None),                       # FlowCaseTest.invalidOutputs
])
def test_the_deprecated_outputs_of_a_subflow_are_rendered_against_the_child(value, state, child_state, extracted):
    nb_orchestra.register_flow(flow_text(SWITCH, flow_id="switch"))
    ex = run_flow(TASK_FLOW, inputs={"string": value})
    assert ex.state == state
    run = ex.taskrun("launch")
    assert (run.state, len(run.attempts), run.attempts[0].state) == (state, 1, state)
    assert run.outputs["state"] == child_state
    if extracted is None:
        assert "outputs" not in run.outputs
        assert run.message.startswith("Failed to extract outputs with the error: ")
    else:
        assert run.outputs["outputs"] == {"extracted": extracted}


def test_a_child_flow_with_outputs_of_its_own_ignores_the_deprecated_outputs():
    nb_orchestra.register_flow(flow_text("""
        tasks:
          - id: ret
            type: io.kestra.plugin.core.debug.Return
            format: from the child
        outputs:
          - id: said
            type: STRING
            value: "{{ outputs.ret.value }}"
    """, flow_id="child"))
    ex = run_flow("""
        tasks:
          - id: launch
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: child
            outputs:
              said: ignored
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs.launch["outputs"] == {"said": "from the child"}


# -- workerGroup, listeners, assets -------------------------------------------------------------------

def test_worker_group_is_refused_as_kestra_open_source_refuses_it():  # invalids/worker-group.yaml
    assert problems(flow_text("""
        tasks:
          - id: worker-group
            type: io.kestra.plugin.core.debug.Return
            format: "{{taskrun.startDate}}"
            workerGroup:
              key: toto
    """)) == ["line 8, column 5: tasks[0].workerGroup: Worker Group is an Enterprise Edition functionality"]


def test_listeners_need_tasks_and_are_never_run():  # invalids/listener.yaml, YamlParserTest.listeners
    assert problems(flow_text("""
        listeners:
          - conditions:
              - type: io.kestra.plugin.core.condition.ExecutionStatus
            tasks: []

          - tasks: []

        tasks:
          - id: date
            type: io.kestra.plugin.core.debug.Return
            format: "{{taskrun.startDate}}"
    """)) == ["line 7, column 5: listeners[0].tasks: must not be empty",
              "line 9, column 5: listeners[1].tasks: must not be empty"]
    text = flow_text(f"""
        listeners:
          - tasks:
              - id: listen
                type: {LOG}
                message: never run
        tasks:
          - id: date
            type: {RETURN}
            format: x
    """)
    flow = nb_orchestra.load_flow(text)
    assert [str(w) for w in flow.warnings] == [
        "line 4, column 1: listeners: listeners are deprecated in Kestra (use afterExecution): they are checked but "
        "never run here"]
    ex = nb_orchestra.run(text)
    assert ex.state == "SUCCESS" and runs(ex) == [("date", "SUCCESS")]
    assert problems(flow_text(f"""
        listeners:
          - tasks:
              - id: listen
                type: {RETURN}
                format: x
        tasks:
          - id: listen
            type: {RETURN}
            format: x
    """)) == ["line 6, column 9: listeners[0].tasks[0].id: Duplicate task id with name [listen] (first used at "
              "line 10)"]  # invalids/duplicate.yaml: listener tasks share the flow's task ids


def test_assets_are_accepted_and_ignored_with_a_warning():
    text = flow_text(f"""
        tasks:
          - id: date
            type: {RETURN}
            format: x
            assets:
              inputs:
                - id: trips
              outputs:
                - id: summary
                  type: TABLE
    """)
    flow = nb_orchestra.load_flow(text)
    assert [str(w) for w in flow.warnings] == [
        "line 8, column 5: tasks[0].assets: assets (data lineage) are an Enterprise feature: accepted and ignored"]
    ex = nb_orchestra.run(text)
    assert ex.state == "SUCCESS" and ex.outputs.date["value"] == "x"


# -- WorkingDirectory: inputFiles, outputFiles, namespaceFiles, cache -------------------------------------

LOCAL_FILES = "io.kestra.plugin.core.storage.LocalFiles"


def read_uri(uri: str) -> str:
    from nb_orchestra import internal_storage

    return internal_storage.to_path(uri).read_text()


def test_working_directory_input_and_output_files():
    # working-directory-inputs.yml and working-directory-outputs.yml, WorkingDirectoryTest.inputFiles/outputFiles
    ex = run_flow(f"""
        tasks:
          - id: workingDir
            type: io.kestra.plugin.core.flow.WorkingDirectory
            inputFiles:
              input.txt: Hello World
            outputFiles:
              - output.txt
            tasks:
              - id: inputFiles
                type: {LOCAL_FILES}
                outputs:
                  - input.txt
              - id: outputFiles
                type: {LOCAL_FILES}
                inputs:
                  output.txt: "Hello World"
    """)
    assert ex.state == "SUCCESS"
    assert runs(ex) == [("workingDir", "SUCCESS"), ("inputFiles", "SUCCESS"), ("outputFiles", "SUCCESS")]
    uri = ex.outputs.inputFiles["uris"]["input.txt"]
    assert uri.endswith("input.txt") and read_uri(uri) == "Hello World"
    kept = ex.outputs.workingDir["outputFiles"]
    assert list(kept) == ["output.txt"] and read_uri(kept["output.txt"]) == "Hello World"


def test_working_directory_output_files_are_not_kept_when_a_child_fails():
    ex = run_flow(f"""
        tasks:
          - id: workingDir
            type: io.kestra.plugin.core.flow.WorkingDirectory
            outputFiles:
              - "*.txt"
            tasks:
              - id: write
                type: {LOCAL_FILES}
                inputs:
                  output.txt: written
              - id: fail
                type: io.kestra.plugin.core.execution.Fail
    """)
    assert ex.state == "FAILED"
    assert runs(ex) == [("workingDir", "FAILED"), ("write", "SUCCESS"), ("fail", "FAILED")]
    assert "outputFiles" not in (ex.taskrun("workingDir").outputs or {})


def test_working_directory_namespace_files(isolated_home):
    # working-directory-namespace-files.yaml (its Read test task stands here as LocalFiles outputs)
    from nb_orchestra import internal_storage

    root = internal_storage.namespace_files_dir("tests")
    for relative, text in [("test/a/b/c/1.txt", "first"), ("a/b/c/2.txt", "second"), ("a/b/3.txt", "third"),
                           ("ignore/4.txt", "4th")]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    ex = run_flow(f"""
        tasks:
          - id: worker
            type: io.kestra.plugin.core.flow.WorkingDirectory
            namespaceFiles:
              enabled: true
              exclude:
                - /ignore/**
            tasks:
              - id: t1
                type: {LOCAL_FILES}
                outputs:
                  - "**"
    """)
    assert ex.state == "SUCCESS"
    uris = ex.outputs.t1["uris"]
    assert sorted(uris) == ["a/b/3.txt", "a/b/c/2.txt", "test/a/b/c/1.txt"]
    assert [read_uri(uris[name]) for name in sorted(uris)] == ["third", "second", "first"]


CACHED = f"""
    tasks:
      - id: workingDir
        type: io.kestra.plugin.core.flow.WorkingDirectory
        cache:
          ttl: PT5m
          patterns:
            - "*.txt"
        tasks:
          - id: exists
            type: {LOCAL_FILES}
            outputs:
              - hello.txt
          - id: inputFiles
            type: {LOCAL_FILES}
            inputs:
              hello.txt: |
                HELLO WORLD
"""


def test_working_directory_cache_puts_files_back_on_the_next_run():  # WorkingDirectoryTest.cache
    ex = run_flow(CACHED)
    assert ex.state == "SUCCESS"
    assert runs(ex) == [("workingDir", "SUCCESS"), ("exists", "SUCCESS"), ("inputFiles", "SUCCESS")]
    assert ex.outputs.exists == {"uris": {}}
    ex = run_flow(CACHED)
    assert ex.state == "SUCCESS"
    assert list(ex.outputs.exists["uris"]) == ["hello.txt"]
    assert read_uri(ex.outputs.exists["uris"]["hello.txt"]) == "HELLO WORLD\n"


def test_an_expired_working_directory_cache_is_not_used(isolated_home):
    import os

    ex = run_flow(CACHED)
    archives = list((isolated_home / "cache").rglob("cache.zip"))
    assert len(archives) == 1
    old = archives[0].stat().st_mtime - 301
    os.utime(archives[0], (old, old))
    ex = run_flow(CACHED)
    assert ex.state == "SUCCESS" and ex.outputs.exists == {"uris": {}}


def test_a_working_directory_cache_needs_patterns():
    assert problems(flow_text(f"""
        tasks:
          - id: workingDir
            type: io.kestra.plugin.core.flow.WorkingDirectory
            cache:
              ttl: soon
            tasks:
              - id: t
                type: {RETURN}
                format: x
    """)) == ["line 7, column 5: tasks[0].cache: cache.patterns: must not be empty (a list of globs)",
              "line 7, column 5: tasks[0].cache: cache.ttl: 'soon' is not an ISO-8601 duration such as PT30S, "
              "PT5M or P1DT2H"]


# -- taskCache ----------------------------------------------------------------------------------------

def cached_flow(home, ttl: str = "PT1H", fail: bool = False) -> str:
    return flow_text(f"""
        inputs:
          - id: n
            type: INT
        tasks:
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: [a, b]
            tasks:
              - id: slow
                type: io.kestra.plugin.scripts.shell.Commands
                taskCache:
                  enabled: true
                  ttl: {ttl}
                commands:
                  - echo run >> {home}/runs.txt
                  - echo '::{{"outputs":{{"n":{{{{ inputs.n }}}},"v":"{{{{ taskrun.value }}}}"}}}}::'
                  - {"exit 1" if fail else "exit 0"}
    """)


def body_runs(home) -> int:
    path = home / "runs.txt"
    return path.read_text().count("run") if path.exists() else 0


def cache_logs(ex) -> list[tuple[str | None, str]]:
    return [(log.value, log.message) for log in ex.logs if "cache" in log.message]


def test_task_cache_reuses_the_outputs_of_an_identical_earlier_run(isolated_home):
    first = nb_orchestra.run(cached_flow(isolated_home), inputs={"n": 1})
    assert first.state == "SUCCESS" and body_runs(isolated_home) == 2
    assert cache_logs(first) == [("a", "Uploading a cache entry for task 'slow'"),
                                 ("b", "Uploading a cache entry for task 'slow'")]
    again = nb_orchestra.run(cached_flow(isolated_home), inputs={"n": 1})
    assert again.state == "SUCCESS" and body_runs(isolated_home) == 2  # not run: each loop value had its entry
    skipped = "Skipping task execution for task 'slow' as there is an existing cache entry for it"
    assert cache_logs(again) == [("a", skipped), ("b", skipped)]
    assert [(r.value, r.state, len(r.attempts), r.attempts[0].state) for r in again.taskruns if r.task_id == "slow"] \
        == [("a", "SUCCESS", 1, "SUCCESS"), ("b", "SUCCESS", 1, "SUCCESS")]
    assert again.outputs.slow["a"]["vars"] == {"n": 1, "v": "a"}
    assert again.outputs.slow["b"]["vars"] == {"n": 1, "v": "b"}
    other = nb_orchestra.run(cached_flow(isolated_home), inputs={"n": 2})  # renders differently: another key
    assert other.state == "SUCCESS" and body_runs(isolated_home) == 4
    assert other.outputs.slow["a"]["vars"] == {"n": 2, "v": "a"}


def test_task_cache_entries_expire_after_their_ttl(isolated_home):
    nb_orchestra.run(cached_flow(isolated_home, ttl="PT0.2S"), inputs={"n": 1})
    time.sleep(0.3)
    ex = nb_orchestra.run(cached_flow(isolated_home, ttl="PT0.2S"), inputs={"n": 1})
    assert ex.state == "SUCCESS" and body_runs(isolated_home) == 4
    assert [message for _, message in cache_logs(ex)] == ["Uploading a cache entry for task 'slow'"] * 2


def test_a_failed_run_is_never_cached(isolated_home):
    for _ in range(2):
        ex = nb_orchestra.run(cached_flow(isolated_home, fail=True), inputs={"n": 1})
        assert ex.state == "FAILED" and cache_logs(ex) == []
    assert body_runs(isolated_home) == 2  # the first value fails, the loop stops, twice


def test_task_cache_is_checked_when_the_flow_is_read():
    assert problems(flow_text(f"""
        tasks:
          - id: t
            type: {RETURN}
            format: x
            taskCache:
              ttl: soon
              keep: true
    """)) == ["line 9, column 7: tasks[0].taskCache.ttl: 'soon' is not an ISO-8601 duration such as PT30S, PT5M or "
              "P1DT2H",
              "line 10, column 7: tasks[0].taskCache.keep: unknown property 'keep' for taskCache",
              "line 8, column 5: tasks[0].taskCache: missing required property 'enabled' for taskCache"]


# -- retry on flowable tasks ---------------------------------------------------------------------------

def test_a_failed_child_is_retried_with_the_retry_of_its_flowable():  # retry-flowable.yaml, RetryCaseTest
    ex = run_flow("""
        tasks:
          - id: flowable
            type: io.kestra.plugin.core.flow.Sequential
            retry:
              type: constant
              interval: PT0.01S
              maxAttempt: 3
            tasks:
              - id: child
                type: io.kestra.plugin.core.execution.Fail
    """)
    assert ex.state == "FAILED"
    assert [(r.task_id, r.state, len(r.attempts)) for r in ex.taskruns] == [("flowable", "FAILED", 0),
                                                                            ("child", "FAILED", 3)]


def test_the_nearest_retry_wins_and_a_child_retry_comes_first():
    # retry-flowable-nested-child.yaml has the child's own retry; here nested flowables each have one too
    ex = run_flow("""
        tasks:
          - id: outer
            type: io.kestra.plugin.core.flow.Sequential
            retry:
              type: constant
              interval: PT0.01S
              maxAttempt: 5
            tasks:
              - id: own
                type: io.kestra.plugin.core.execution.Fail
                allowFailure: true
                retry:
                  type: constant
                  interval: PT0.01S
                  maxAttempt: 2
              - id: inner
                type: io.kestra.plugin.core.flow.Sequential
                retry:
                  type: constant
                  interval: PT0.01S
                  maxAttempt: 3
                tasks:
                  - id: child
                    type: io.kestra.plugin.core.execution.Fail
    """)
    assert ex.state == "FAILED"
    assert [(r.task_id, r.state, len(r.attempts)) for r in ex.taskruns] == [
        ("outer", "FAILED", 0), ("own", "WARNING", 2), ("inner", "FAILED", 0), ("child", "FAILED", 3)]


def test_every_value_of_a_loop_with_a_retry_is_retried():  # retry-flowable-parallel.yaml
    ex = run_flow("""
        tasks:
          - id: flowable
            type: io.kestra.plugin.core.flow.ForEach
            concurrencyLimit: 0
            values: [0, 1]
            retry:
              type: constant
              interval: PT0.01S
              maxAttempt: 3
            tasks:
              - id: child
                type: io.kestra.plugin.core.execution.Fail
    """)
    assert ex.state == "FAILED"
    assert sorted((r.value, len(r.attempts)) for r in ex.taskruns if r.task_id == "child") == [("0", 3), ("1", 3)]


def test_flow_resume_in_a_notebook_answers_on_resume_inputs(ip):
    from IPython.utils.capture import capture_output

    ex = until_paused(run_flow(ON_RESUME, background=True))
    with capture_output() as captured:
        ip.run_cell(f"%flow resume {ex.id}")
    assert captured.stdout == "InputError: asked: Required.\n"
    assert ex.state == "PAUSED"
    with capture_output() as captured:
        ip.run_cell(f"%flow resume {ex.id} -i asked=yes -i count=7")
    assert captured.stdout.strip() == f"resumed {ex.id}"
    assert ex.wait(5) and ex.state == "SUCCESS"
    assert ex.outputs.last["values"] == {"asked": "yes", "count": "7"}


def test_pauses_of_parallel_loop_values_each_end_after_their_delay():  # each-parallel-pause.yml
    ex = run_flow(f"""
        tasks:
          - id: each
            type: io.kestra.plugin.core.flow.EachParallel
            value: ["toto", "tata", "titi"]
            tasks:
              - id: pause
                type: {PAUSE}
                delay: PT0.1S
                tasks:
                  - id: log
                    type: {LOG}
                    message: Hello World
    """)
    assert ex.state == "SUCCESS"
    assert len(ex.taskruns) == 7
    pauses = {r.id: r.value for r in ex.taskruns if r.task_id == "pause"}
    assert sorted(pauses.values()) == ["tata", "titi", "toto"]
    assert sorted(pauses[r.parent.id] for r in ex.taskruns if r.task_id == "log") == ["tata", "titi", "toto"]
    assert {r.state for r in ex.taskruns} == {"SUCCESS"}


def test_on_pause_runs_a_task_as_soon_as_the_execution_is_paused():  # pause_on_pause.yaml
    ex = until_paused(run_flow(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            pauseDuration: PT0.3S
            onPause:
              id: hello
              type: {LOG}
              message: Hello World! 🚀
    """, background=True))
    deadline = time.monotonic() + 5
    while len(ex.taskruns) < 2 or ex.taskruns[-1].state != "SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert ex.state == "PAUSED"  # hello ran while the pause goes on
    assert ex.wait(5) and ex.state == "SUCCESS"
    assert runs(ex) == [("pause", "SUCCESS"), ("hello", "SUCCESS")]
    assert [(log.task_id, log.message) for log in ex.logs] == [("hello", "Hello World! 🚀")]
    assert problems(flow_text(f"""
        tasks:
          - id: pause
            type: {PAUSE}
            onPause:
              id: hello
              type: io.kestra.plugin.core.flow.Sequential
              tasks:
                - id: x
                  type: {LOG}
                  message: x
    """)) == ["line 7, column 5: tasks[0].onPause: onPause must be a runnable task"]


def test_an_unreadable_working_directory_cache_is_not_used(isolated_home):
    run_flow(CACHED)
    archive = next((isolated_home / "cache").rglob("cache.zip"))
    archive.write_text("not a zip")
    ex = run_flow(CACHED)
    assert ex.state == "SUCCESS" and ex.outputs.exists == {"uris": {}}
    assert [log.message for log in ex.logs if log.level == "ERROR"] == [
        "Unable to restore the cache: File is not a zip file"]
    assert zipfile.is_zipfile(archive)  # saved again by the successful run


def test_a_pause_duration_and_timeout_may_come_from_inputs():  # pause-delay-from-input.yaml
    ex = run_flow(f"""
        inputs:
          - id: delay
            type: DURATION
            defaults: PT0.05S
          - id: limit
            type: STRING
            defaults: PT0.05S
        tasks:
          - id: pause
            type: {PAUSE}
            delay: "{{{{inputs.delay}}}}"
            tasks:
              - id: subtask
                type: {LOG}
                message: after the pause
          - id: timed
            type: {PAUSE}
            timeout: "{{{{ inputs.limit }}}}"
            allowFailure: true
    """)
    assert ex.state == "WARNING"
    assert runs(ex) == [("pause", "SUCCESS"), ("subtask", "SUCCESS"), ("timed", "WARNING")]
    assert ex.taskrun("timed").message == "Timeout after PT0.05S"


def test_the_flow_outputs_of_a_failed_child_are_rendered_for_its_subflow_task():
    nb_orchestra.register_flow(flow_text("""
        tasks:
          - id: ret
            type: io.kestra.plugin.core.debug.Return
            format: made before the failure
          - id: fail
            type: io.kestra.plugin.core.execution.Fail
        outputs:
          - id: made
            type: STRING
            value: "{{ outputs.ret.value }}"
    """, flow_id="child"))
    ex = run_flow("""
        tasks:
          - id: launch
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: child
            transmitFailed: false
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs.launch["state"] == "FAILED"
    assert ex.outputs.launch["outputs"] == {"made": "made before the failure"}
    nb_orchestra.register_flow(flow_text("""
        tasks:
          - id: fail
            type: io.kestra.plugin.core.execution.Fail
          - id: ret
            type: io.kestra.plugin.core.debug.Return
            format: never made
        outputs:
          - id: made
            type: STRING
            value: "{{ outputs.ret.value }}"
    """, flow_id="child"))
    ex = run_flow("""
        tasks:
          - id: launch
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: child
            transmitFailed: false
    """)
    assert ex.state == "FAILED"  # SubflowExecutionResult: outputs that cannot be rendered fail the task
    run = ex.taskrun("launch")
    assert run.message.startswith("Failed to extract outputs with the error: ")
    assert run.outputs["state"] == "FAILED" and "outputs" not in run.outputs
