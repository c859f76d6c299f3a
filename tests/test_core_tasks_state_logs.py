"""Core tasks log.Fetch, state.Set/Get/Delete and execution.Resume.

What is asserted comes from Kestra's FetchTest, StateTest and ResumeTest; the flows under
tests/flows/valid/core_tasks_state_logs/ are ours, shaped like the ones those tests run.
"""

from __future__ import annotations

import time

import nb_orchestra
from nb_orchestra import internal_storage
from nb_orchestra.plugins.core.state import murmur3_128_hex, slugify
from nb_orchestra.plugins.ion import read_ion
from nb_orchestra.store import get_store
from nb_orchestra.store.kv import StoreKV

from .conftest import load_fixture, run_fixture, run_flow

FLOWS = "valid/core_tasks_state_logs/"


def fetched(ex, task_id: str = "fetch") -> list[dict]:
    """The log entries of the Ion file a Fetch task run wrote."""
    path = internal_storage.to_path(ex.outputs[task_id]["uri"])
    return list(read_ion(path, "amazon.ion missing"))


def until_paused(ex, seconds: float = 5):
    deadline = time.monotonic() + seconds
    while ex.state != "PAUSED" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ex.state == "PAUSED"
    return ex


# -- log.Fetch ------------------------------------------------------------------------------------

def test_fetch_gets_the_logs_of_the_current_execution():  # FetchTest.fetch
    ex = run_fixture(FLOWS + "logs_of_this_run.yaml")
    assert ex.state == "SUCCESS" and len(ex.taskruns) == 4
    # Kestra counts 3: its worker writes one more INFO line than the two Echo messages here
    assert ex.outputs["fetch"]["size"] == 2
    entries = fetched(ex)
    assert [(e["taskId"], e["level"], e["message"]) for e in entries] == [
        ("first", "INFO", "the first line"), ("second", "INFO", "the second line")]
    first = entries[0]
    assert (first["namespace"], first["flowId"], first["executionId"]) == (
        "tests.state_logs", "logs_of_this_run", ex.id)
    assert first["taskRunId"] == ex.taskrun("first").id and first["attemptNumber"] == 0
    assert ex.outputs["fetch"]["uri"].endswith(".ion")


def test_fetch_only_the_tasks_asked():  # FetchTest.fetchWithTaskId
    ex = run_fixture(FLOWS + "logs_of_one_task.yaml")
    assert ex.state == "SUCCESS" and ex.outputs["fetch"]["size"] == 1
    assert [e["message"] for e in fetched(ex)] == ["the first line"]


def test_fetch_by_execution_id():  # FetchTest.fetchWithExecutionId
    ex = run_fixture(FLOWS + "logs_by_execution_id.yaml")
    assert ex.state == "SUCCESS" and ex.outputs["fetch"]["size"] == 2


def test_fetch_keeps_the_lowest_level_and_above_and_orders_by_task_asked():
    ex = run_flow("""
    tasks:
      - {id: a, type: io.kestra.plugin.core.log.Log, message: a-debug, level: DEBUG}
      - {id: b, type: io.kestra.plugin.core.log.Log, message: b-warn, level: WARN}
      - {id: c, type: io.kestra.plugin.core.log.Log, message: c-error, level: ERROR}
      - {id: warn, type: io.kestra.plugin.core.log.Fetch, level: WARN}
      - {id: debug, type: io.kestra.plugin.core.log.Fetch, level: DEBUG, tasksId: [c, a]}
    """)
    assert ex.state == "SUCCESS"
    assert [e["message"] for e in fetched(ex, "warn")] == ["b-warn", "c-error"]
    assert ex.outputs.debug["size"] == 2
    assert [e["message"] for e in fetched(ex, "debug")] == ["c-error", "a-debug"]


def test_fetch_the_logs_of_another_flows_execution():
    other = nb_orchestra.run(load_fixture(FLOWS + "logs_of_this_run.yaml"))
    ex = run_flow("""
    inputs:
      - {id: other, type: STRING}
    tasks:
      - id: fetch
        type: io.kestra.plugin.core.log.Fetch
        namespace: tests.state_logs
        flowId: logs_of_this_run
        executionId: "{{ inputs.other }}"
      - id: wrong-flow
        type: io.kestra.plugin.core.log.Fetch
        executionId: "{{ inputs.other }}"
        allowFailure: true
    """, inputs={"other": other.id})
    assert ex.outputs.fetch["size"] == 2
    assert [e["executionId"] for e in fetched(ex, "fetch")] == [other.id, other.id]
    assert ex.taskrun("wrong-flow").state == "WARNING"
    assert ex.taskrun("wrong-flow").message == f"No execution found for execution id {other.id} of flow tests.test"


def test_fetch_reads_a_stored_execution_of_an_earlier_process():
    other = nb_orchestra.run(load_fixture(FLOWS + "logs_of_this_run.yaml"))
    nb_orchestra.engine.launch.recent.clear()  # as after a restart: only the store knows it
    ex = run_flow(f"""
    tasks:
      - id: fetch
        type: io.kestra.plugin.core.log.Fetch
        namespace: tests.state_logs
        flowId: logs_of_this_run
        executionId: {other.id}
        tasksId: [second]
    """)
    assert [e["message"] for e in fetched(ex, "fetch")] == ["the second line"]


def test_fetch_namespace_and_flow_id_go_with_an_execution_id():
    ex = run_flow("""
    tasks:
      - {id: fetch, type: io.kestra.plugin.core.log.Fetch, namespace: tests, allowFailure: true}
      - {id: half, type: io.kestra.plugin.core.log.Fetch, executionId: x, flowId: test, allowFailure: true}
    """)
    assert ex.taskrun("fetch").message == "`namespace` and `flowId` should only be set when `executionId` is set."
    assert ex.taskrun("half").message == "Both `namespace` and `flowId` must be set when `executionId` is set."


# -- state.Set / Get / Delete ---------------------------------------------------------------------

def test_state_is_created_updated_and_deleted_across_executions():  # flow/StateTest.set
    text = load_fixture(FLOWS + "state.yaml")
    ex = nb_orchestra.run(text, inputs={"state": "counter"})
    assert ex.state == "SUCCESS" and len(ex.taskruns) == 5
    assert ex.outputs.read_created["data"]["value"] == 1
    assert ex.outputs.create == {"count": 1, "key": "remembering_states_tasks-states_counter"}
    ex = nb_orchestra.run(text, inputs={"state": "counter"})
    assert ex.state == "SUCCESS" and len(ex.taskruns) == 5
    assert ex.outputs.read_updated["data"]["value"] == "2"
    ex = nb_orchestra.run(text, inputs={"state": "counter"})
    assert ex.state == "SUCCESS" and len(ex.taskruns) == 5
    assert ex.outputs.delete == {"deleted": True}
    assert ex.outputs.read_deleted == {"count": 0, "data": {}}


def test_state_per_loop_value_or_shared_by_the_loop():  # flow/StateTest.each
    ex = run_fixture(FLOWS + "state.yaml", inputs={"state": "each"})
    assert ex.state == "SUCCESS" and len(ex.taskruns) == 17
    assert ex.taskrun("reread_per_value", "b").outputs["data"]["value"] == "null-b"
    assert ex.taskrun("reread_shared", "b").outputs["data"]["value"] == "null-a-b"
    key = ex.taskrun("write_per_value", "a").outputs["key"]
    assert key == "remembering_states_tasks-states_each_" + murmur3_128_hex("a")
    assert ex.taskrun("write_shared", "a").outputs["key"] == "remembering_states_tasks-states_each"


def test_set_merges_get_reads_delete_removes():  # state/StateTest.run
    ex = run_flow("""
    inputs:
      - {id: key, type: STRING, defaults: test}
      - {id: inc, type: INT, defaults: 1}
    tasks:
      - {id: get0, type: io.kestra.plugin.core.state.Get}
      - id: set1
        type: io.kestra.plugin.core.state.Set
        data: {"{{ inputs.key }}": "{{ inputs.inc }}"}
      - {id: get1, type: io.kestra.plugin.core.state.Get}
      - id: set2
        type: io.kestra.plugin.core.state.Set
        data: {"{{ inputs.key }}": "2", test2: "3", nested: {a: 1}}
      - id: set3
        type: io.kestra.plugin.core.state.Set
        data: {nested: {b: 2}}
      - {id: get2, type: io.kestra.plugin.core.state.Get}
      - {id: delete, type: io.kestra.plugin.core.state.Delete}
      - {id: get3, type: io.kestra.plugin.core.state.Get}
      - {id: again, type: io.kestra.plugin.core.state.Delete}
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs.get0 == {"count": 0, "data": {}}
    assert ex.outputs.set1 == {"count": 1, "key": "test_states_tasks-states_default"}
    assert ex.outputs.get1 == {"count": 1, "data": {"test": "1"}}
    assert ex.outputs.set2["count"] == 3
    assert ex.outputs.get2 == {"count": 3, "data": {"test": "2", "test2": "3", "nested": {"a": 1, "b": 2}}}
    assert ex.outputs.delete == {"deleted": True}
    assert ex.outputs.get3 == {"count": 0, "data": {}}
    assert ex.outputs.again == {"deleted": False}


def test_state_error_on_missing():  # state/StateTest.deleteThrow
    ex = run_flow("""
    tasks:
      - {id: get, type: io.kestra.plugin.core.state.Get, name: nothing, errorOnMissing: true, allowFailure: true}
      - {id: delete, type: io.kestra.plugin.core.state.Delete, name: nothing, errorOnMissing: true}
    """)
    assert ex.state == "FAILED"
    assert ex.taskrun("get").message == "State test_states_tasks-states_nothing not found"
    assert ex.taskrun("delete").message == "Unable to find the state file 'nothing'"


def test_state_lives_in_the_kv_store_of_the_namespace_flow_scoped_or_shared(isolated_home):
    def setter(flow_id: str, shared: bool) -> str:
        return f"""
id: {flow_id}
namespace: company.team
tasks:
  - id: set
    type: io.kestra.plugin.core.state.Set
    name: run
    namespace: {str(shared).lower()}
    data: {{by: {flow_id}}}
  - id: get
    type: io.kestra.plugin.core.state.Get
    name: run
    namespace: {str(shared).lower()}
"""
    assert nb_orchestra.run(setter("First_Flow", False)).outputs.get["data"] == {"by": "First_Flow"}
    assert nb_orchestra.run(setter("other", False)).outputs.get["data"] == {"by": "other"}
    assert nb_orchestra.run(setter("First_Flow", True)).outputs.get["data"] == {"by": "First_Flow"}
    ex = nb_orchestra.run(setter("other", True))
    assert ex.outputs.set == {"count": 1, "key": "states_tasks-states_run"}
    kv = StoreKV(get_store())
    assert sorted(kv.keys("company.team")) == ["first-flow_states_tasks-states_run", "other_states_tasks-states_run",
                                                "states_tasks-states_run"]
    assert kv.get("company.team", "states_tasks-states_run") == (True, {"by": "other"})


def test_kestra_slugify_and_murmur3_hash():
    assert slugify("  My_Flow--ü x ") == "my-flow-u-x"
    assert murmur3_128_hex("The quick brown fox jumps over the lazy dog") == "6c1b07bc7bbc4be347939ac4a93c437a"
    assert murmur3_128_hex("") == "0" * 32


# -- execution.Resume -----------------------------------------------------------------------------

def test_resume_a_paused_execution_by_id():  # ResumeTest.resume
    paused = until_paused(nb_orchestra.run(load_fixture(FLOWS + "pause.yaml"), background=True))
    try:
        ex = run_fixture(FLOWS + "resumer.yaml", inputs={"executionId": paused.id})
        assert ex.state == "SUCCESS"
        assert paused.wait(5) and paused.state == "SUCCESS"
        assert [(run.task_id, run.state) for run in paused.taskruns] == [
            ("pause", "SUCCESS"), ("inside_pause", "SUCCESS"), ("last", "SUCCESS")]
    finally:
        paused.kill()


def test_resume_gives_the_on_resume_inputs():
    paused = until_paused(run_flow("""
    tasks:
      - id: pause
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - {id: answer, type: STRING}
    """, background=True))
    try:
        ex = run_flow("""
        inputs:
          - {id: target, type: STRING}
        tasks:
          - id: resume
            type: io.kestra.plugin.core.execution.Resume
            namespace: tests
            flowId: test
            executionId: "{{ inputs.target }}"
            inputs: {answer: "{{ 'yes' }}"}
        """, inputs={"target": paused.id})
        assert ex.state == "SUCCESS"
        assert paused.wait(5) and paused.outputs.pause["onResume"] == {"answer": "yes"}
    finally:
        paused.kill()


def test_resume_fails_for_an_unknown_or_running_execution():
    ex = run_flow("""
    tasks:
      - {id: unknown, type: io.kestra.plugin.core.execution.Resume, executionId: nope, allowFailure: true}
      - {id: itself, type: io.kestra.plugin.core.execution.Resume, allowFailure: true}
    """)
    assert ex.state == "WARNING"
    assert ex.taskrun("unknown").message == ("No execution found for execution id nope (only executions running "
                                             "in this process can be resumed)")
    assert ex.taskrun("itself").message == f"Execution {ex.id} is not paused (state RUNNING)"
