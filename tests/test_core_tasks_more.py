"""Core tasks from Kestra's execution, log, kv, namespace, storage, debug and trigger packages:
Assert, Count, PurgeExecutions, PurgeLogs, PurgeKV, UploadFiles/DownloadFiles/DeleteFiles,
LocalFiles, Echo and Toggle (facts from Kestra's tests of each)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import nb_orchestra
from nb_orchestra import internal_storage
from nb_orchestra.errors import FlowValidationError
from nb_orchestra.store import get_store
from nb_orchestra.store.kv import StoreKV
from nb_orchestra.triggers import FakeClock, start_scheduler, stop_scheduler

from .conftest import load_fixture, messages, run_fixture, run_flow

LOG = """
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.text }}"
    level: "{{ inputs.level }}"
  - id: file
    type: io.kestra.plugin.core.storage.Write
    content: "{{ inputs.text }}"
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.fail }}"
inputs:
  - id: text
    type: STRING
    defaults: hello
  - id: level
    type: STRING
    defaults: INFO
  - id: fail
    type: BOOLEAN
    defaults: false
"""


def run_logging(namespace: str, flow_id: str, **inputs):
    """An execution of ``namespace.flow_id`` that logs one line, writes one file and fails when asked."""
    text = f"id: {flow_id}\nnamespace: {namespace}\n" + LOG
    return nb_orchestra.run(text, inputs=inputs)


# -- Assert ---------------------------------------------------------------------------------------

def test_assert_counts_the_failed_conditions_and_adds_the_error_message():
    ex = run_fixture("valid/core_tasks_more/assert.yaml")
    assert ex.taskrun("passes").state == "SUCCESS"
    assert ex.state == "FAILED"
    assert ex.taskrun("fails").message == "3 assertions failed!"  # a task run's message is the first line
    errors = messages(ex, "fails", "ERROR")
    assert errors[:2] == ["Assertion `{{ 1 + 1 == 3 }}` failed!", "Assertion `0` failed!"]
    assert errors[2].startswith("Assertion `{{ outputs.nothing.value }}` failed, failed to render `")
    assert errors[3] == "3 assertions failed!\nparam was ok"


def test_assert_one_failure_is_singular_and_without_message():
    ex = run_flow("""
    tasks:
      - id: check
        type: io.kestra.plugin.core.execution.Assert
        conditions: ["{{ 1 + 1 == 3 }}", "true"]
    """)
    assert (ex.state, ex.taskrun("check").message) == ("FAILED", "1 assertion failed!")


def test_assert_needs_conditions():
    with pytest.raises(FlowValidationError, match="conditions"):
        nb_orchestra.load_flow("id: t\nnamespace: tests\ntasks:\n  - id: a\n"
                               "    type: io.kestra.plugin.core.execution.Assert\n")


# -- Echo -----------------------------------------------------------------------------------------

def test_echo_logs_its_format_at_its_level():
    ex = run_flow("""
    tasks:
      - id: echo
        type: io.kestra.core.tasks.debugs.Echo
        level: WARN
        format: "{{ task.id }} > {{ flow.id }}"
    """)
    assert ex.state == "SUCCESS"
    assert messages(ex, "echo", "WARN") == ["echo > test"]


# -- Count ----------------------------------------------------------------------------------------

@pytest.fixture
def counted():
    for _ in range(2):
        run_logging("tests.counted", "first")
    for fail in (False, False, True):
        run_logging("tests.counted", "second", fail=fail)


def test_count_per_flow_with_zero_for_a_flow_without_executions(counted):
    ex = run_fixture("valid/core_tasks_more/counts.yaml", values={"op": ">= 0"})
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.counts.results == [
        {"namespace": "tests.counted", "flowId": "first", "count": 2},
        {"namespace": "tests.counted", "flowId": "second", "count": 3},
        {"namespace": "tests.counted", "flowId": "missing", "count": 0},
    ]
    assert ex.outputs.counts.total == 5
    # by namespace, SUCCESS only: the failed execution of `second` is left out; an empty namespace is absent
    assert ex.outputs.by_namespace.results == [{"namespace": "tests.counted", "flowId": None, "count": 4}]
    assert ex.outputs.by_namespace.total == 4


def test_count_keeps_what_the_expression_accepts(counted):
    ex = run_fixture("valid/core_tasks_more/counts.yaml", values={"op": "== 0"})
    assert ex.outputs.counts.results == [{"namespace": "tests.counted", "flowId": "missing", "count": 0}]
    assert ex.outputs.counts.total == 0


def test_count_needs_flows_or_namespaces():
    ex = run_flow("""
    tasks:
      - id: counts
        type: io.kestra.plugin.core.execution.Count
        expression: "{{ count == 0 }}"
        startDate: "2024-01-01T00:00:00Z"
    """)
    assert ex.taskrun("counts").message == "You must provide a list of flows or namespaces"


def test_count_with_a_bad_date_names_the_property():
    ex = run_flow("""
    tasks:
      - id: counts
        type: io.kestra.plugin.core.execution.Count
        expression: "{{ count == 0 }}"
        namespaces: [tests]
        startDate: "yesterday"
    """)
    assert ex.taskrun("counts").message.startswith("property 'startDate': cannot parse 'yesterday' as a date")


# -- PurgeExecutions ------------------------------------------------------------------------------

@pytest.fixture
def purged():
    """Two executions of tests.purged.a (one failed), one of tests.purged.b, one of tests.kept.c."""
    return [run_logging("tests.purged", "a"), run_logging("tests.purged", "a", fail=True),
            run_logging("tests.purged", "b"), run_logging("tests.kept", "c")]


def stored_ids() -> set[str]:
    return {ex.id for ex in nb_orchestra.executions(limit=None)}


def test_purge_executions_of_a_namespace(purged):
    a1, a2, b, c = purged
    ex = run_fixture("valid/core_tasks_more/purge_executions.yaml",
                     values={"flow_id": "", "states": "[]", "purge_log": "true"})
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    # one line each, and the failed one's error
    assert ex.outputs.purge == {"executionsCount": 3, "logsCount": 4, "storagesCount": 3, "metricsCount": 0}
    assert stored_ids() == {c.id, ex.id}
    assert not internal_storage.to_path(a1.outputs.file.uri).exists()
    assert internal_storage.to_path(c.outputs.file.uri).exists()


def test_purge_executions_of_one_flow_and_state_keeping_logs(purged):
    a1, a2, b, c = purged
    ex = run_fixture("valid/core_tasks_more/purge_executions.yaml",
                     values={"flow_id": "a", "states": "[FAILED]", "purge_log": "false"})
    assert ex.outputs.purge == {"executionsCount": 1, "logsCount": 0, "storagesCount": 1, "metricsCount": 0}
    assert stored_ids() == {a1.id, b.id, c.id, ex.id}


def test_purge_executions_refuses_an_unknown_state():
    with pytest.raises(FlowValidationError, match=r"states\[1\]: unknown execution state 'DONE'"):
        nb_orchestra.load_flow(load_fixture("valid/core_tasks_more/purge_executions.yaml", flow_id="a",
                                            states="[SUCCESS, DONE]", purge_log="true"))


def test_purge_executions_needs_an_end_date():
    with pytest.raises(FlowValidationError, match="endDate"):
        nb_orchestra.load_flow("id: t\nnamespace: tests\ntasks:\n  - id: p\n"
                               "    type: io.kestra.plugin.core.execution.PurgeExecutions\n")


# -- PurgeLogs ------------------------------------------------------------------------------------

def test_purge_logs_of_a_namespace_and_levels():
    kept = run_logging("tests.purged", "a", level="ERROR")
    gone = run_logging("tests.purged", "b", text="bye")
    other = run_logging("tests.other", "c")
    ex = run_fixture("valid/core_tasks_more/purge_logs.yaml", values={"levels": "[INFO, WARN]"})
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.purge.count == 1
    store = get_store()
    assert [log.message for log in store.execution(kept.id).logs] == ["hello"]
    assert store.execution(gone.id).logs == []
    assert [log.message for log in store.execution(other.id).logs] == ["hello"]


def test_purge_logs_refuses_an_unknown_level():
    with pytest.raises(FlowValidationError, match="unknown log level 'LOUD'"):
        nb_orchestra.load_flow(load_fixture("valid/core_tasks_more/purge_logs.yaml", levels="[LOUD]"))


# -- PurgeKV --------------------------------------------------------------------------------------

@pytest.fixture
def kv_entries():
    kv, past, future = StoreKV(), datetime.now(timezone.utc) - timedelta(seconds=1), None
    for namespace in ("parent", "parent.child", "other"):
        kv.set(namespace, "key_expired", "x", expires=past)
        kv.set(namespace, "key", "x", expires=datetime.now(timezone.utc) + timedelta(minutes=1))
        kv.set(namespace, "never", "x", expires=future)
    return kv


def remaining(kv: StoreKV) -> dict[str, list[str]]:
    return {ns: [key for key, _ in kv.entries(ns)] for ns in kv.namespaces()}


@pytest.mark.parametrize("options, size, left", [
    ("", 3, {ns: ["key", "never"] for ns in ("other", "parent", "parent.child")}),
    ("    namespaces: [parent]\n    includeChildNamespaces: false\n    behavior: {type: key, expiredOnly: false}",
     3, {"other": ["key", "key_expired", "never"], "parent.child": ["key", "key_expired", "never"]}),
    ("    namespaces: [parent]\n    expiredOnly: false\n    behavior: {type: key, expiredOnly: true}", 6,
     {"other": ["key", "key_expired", "never"]}),
    ("    namespacePattern: '*arent*'\n    expiredOnly: false\n    keyPattern: 'k*'", 4,
     {"other": ["key", "key_expired", "never"], "parent": ["never"], "parent.child": ["never"]}),
])
def test_purge_kv(kv_entries, options, size, left):
    ex = run_fixture("valid/core_tasks_more/purge_kv.yaml", values={"options": options})
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.purge.size == size
    assert remaining(kv_entries) == left


def test_purge_kv_refuses_namespaces_with_a_pattern():
    ex = run_fixture("valid/core_tasks_more/purge_kv.yaml",
                     values={"options": "    namespaces: [a]\n    namespacePattern: 'a*'"})
    assert ex.taskrun("purge").message == ("Properties `namespaces` and `namespacePattern` can't be used at the "
                                           "same time — use one or the other.")


# -- namespace files and LocalFiles -------------------------------------------------------------------

def ns_files(namespace: str) -> dict[str, str]:
    root = internal_storage.namespace_files_dir(namespace)
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def stored_text(uri: str) -> str:
    return internal_storage.to_path(uri).read_text()


def test_upload_download_delete_namespace_files():
    ex = run_fixture("valid/core_tasks_more/namespace_files.yaml")
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ns_files("tests.files") == {"a/b/test2.txt": "2", "app.yml": "name: x", "folder/queries/one.sql": "SELECT 1"}
    downloaded = ex.outputs.download.files
    assert sorted(downloaded) == ["/a/b/test1.txt", "/folder/queries/one.sql"]
    assert stored_text(downloaded["/a/b/test1.txt"]) == "1"
    assert downloaded["/a/b/test1.txt"].endswith("/a/b/test1.txt")
    after = ex.outputs.after.files
    assert sorted(after) == ["/a/b/test2.txt", "/app.yml", "/folder/queries/one.sql"]
    assert after["/app.yml"].endswith("/copies/app.yml")


@pytest.mark.parametrize("conflict, content, state", [
    ("OVERWRITE", "new", "SUCCESS"), ("SKIP", "old", "SUCCESS"), ("ERROR", "old", "FAILED")])
def test_upload_conflicts(conflict, content, state):
    target = internal_storage.namespace_file("tests", "folder/path/file.txt")
    target.parent.mkdir(parents=True)
    target.write_text("old")
    ex = run_flow(f"""
    tasks:
      - id: write
        type: io.kestra.plugin.core.storage.Write
        content: new
      - id: upload
        type: io.kestra.plugin.core.namespace.UploadFiles
        namespace: tests
        conflict: {conflict}
        destination: /folder
        filesMap:
          /path/file.txt: "{{{{ outputs.write.uri }}}}"
    """)
    assert ex.state == state
    assert target.read_text() == content
    if state == "FAILED":
        assert ex.taskrun("upload").message == ("File '/folder/path/file.txt' already exists in namespace 'tests' "
                                                "and conflict is set to ERROR")


def test_upload_needs_files_or_files_map():
    ex = run_flow("""
    tasks:
      - id: upload
        type: io.kestra.plugin.core.namespace.UploadFiles
        namespace: tests
    """)
    assert ex.taskrun("upload").message == "files or filesMap is required"


def test_local_files_inputs_and_outputs():
    ex = run_fixture("valid/core_tasks_more/local_files.yaml")
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.input_files.uris == {}
    uris = ex.outputs.output_files.uris
    assert sorted(uris) == ["address.json", "sub/dir/one.txt"]
    assert stored_text(uris["address.json"]) == '{"a": 1}'
    assert stored_text(uris["sub/dir/one.txt"]) == "one"


# -- Toggle ---------------------------------------------------------------------------------------

@pytest.fixture
def scheduler():
    yield start_scheduler(clock=FakeClock("2024-01-01T00:00:00+00:00"))
    stop_scheduler()


def schedule_row(scheduler):
    return next(row for row in scheduler.rows() if row.trigger_id == "schedule")


def test_toggle_disables_and_enables_a_trigger_of_the_scheduler(scheduler):
    nb_orchestra.register_flow(load_fixture("valid/core_tasks_more/toggle.yaml", enabled="false"))
    assert schedule_row(scheduler).enabled is True
    ex = nb_orchestra.run(load_fixture("valid/core_tasks_more/toggle.yaml", enabled="false"))
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert schedule_row(scheduler).enabled is False
    ex = nb_orchestra.run(load_fixture("valid/core_tasks_more/toggle.yaml", enabled="true"))
    assert ex.state == "SUCCESS"
    assert schedule_row(scheduler).enabled is True


def test_toggle_is_kept_when_the_scheduler_arms_the_flow_later():
    nb_orchestra.register_flow(load_fixture("valid/core_tasks_more/toggle.yaml", enabled="false"))
    nb_orchestra.run(load_fixture("valid/core_tasks_more/toggle.yaml", enabled="false"))
    scheduler = start_scheduler(clock=FakeClock("2024-01-01T00:00:00+00:00"))
    try:
        assert schedule_row(scheduler).enabled is False
    finally:
        stop_scheduler()


def test_toggle_of_an_unknown_flow_or_trigger_fails():
    nb_orchestra.register_flow(load_fixture("valid/core_tasks_more/toggle.yaml", enabled="false"))
    ex = run_flow("""
    tasks:
      - id: toggle
        type: io.kestra.plugin.core.trigger.Toggle
        namespace: tests.conditions
        flowId: switchboard
        trigger: nope
    """)
    assert ex.taskrun("toggle").message == ("Unable to find trigger nope for the flow "
                                            "tests.conditions.switchboard")
    ex = run_flow("""
    tasks:
      - id: unknown
        type: io.kestra.plugin.core.trigger.Toggle
        trigger: schedule
    """)
    assert ex.taskrun("unknown").message == ("Unable to find flow tests.test. Make sure the flow exists and the "
                                             "current execution is authorized to access it.")
