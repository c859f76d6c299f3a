"""io.kestra.plugin.core.storage tasks: Write, Size, Delete, Concat, Split, PurgeCurrentExecutionFiles."""

from __future__ import annotations

import pytest

from nb_orchestra import internal_storage
from nb_orchestra.plugins.base import TaskFailure
from nb_orchestra.plugins.core.storage import parse_bytes

from .conftest import run_fixture, run_flow


def text(uri: str) -> str:
    return internal_storage.to_path(uri).read_text(encoding="utf-8")


def test_write_size_delete_round_trip():
    ex = run_fixture("valid/storage_tasks/write_size_delete.yaml")
    uri = ex.outputs.w.uri
    assert uri.startswith("kestra:///tests/test/executions/") and uri.endswith(".txt")
    assert ex.outputs.size.size == len("héllo test".encode())
    assert ex.outputs["del"] == {"uri": uri, "deleted": True}
    assert ex.outputs.again == {"uri": uri, "deleted": False}
    assert not internal_storage.to_path(uri).exists()
    assert ex.state == "FAILED"
    assert next(r for r in ex.taskruns if r.task_id == "strict").message == f"Unable to find file '{uri}'"


def test_concat_list_and_json_string_with_separator():
    ex = run_fixture("valid/storage_tasks/concat.yaml")
    assert ex.state == "SUCCESS", ex.logs
    assert text(ex.outputs.list.uri) == "AB" and ex.outputs.list.uri.endswith(".tmp")
    assert text(ex.outputs.json.uri) == "B|A|" and ex.outputs.json.uri.endswith(".csv")


@pytest.mark.parametrize("option, parts", [
    ("rows: 2", ["a1\nb2\n", "a3\nb4\n", "c5\n"]),
    ("bytes: 5", ["a1\nb2\n", "a3\nb4\n", "c5\n"]),
    ("partitions: 2", ["a1\na3\nc5\n", "b2\nb4\n"]),
    ("partitions: 9", ["a1\n", "b2\n", "a3\n", "b4\n", "c5\n"]),
    ("regexPattern: '^([ab])'", ["a1\na3\n", "b2\nb4\n"]),
])
def test_split(option, parts):
    ex = run_fixture("valid/storage_tasks/split.yaml", values={"option": option})
    assert ex.state == "SUCCESS", ex.logs
    uris = ex.outputs.s.uris
    assert [text(u) for u in uris] == parts
    assert all(u.endswith(".csv") for u in uris)


def test_split_needs_a_way_to_split():
    ex = run_fixture("valid/storage_tasks/split.yaml", values={"option": ""})
    assert ex.state == "FAILED"
    assert next(r for r in ex.taskruns if r.task_id == "s").message.startswith("Invalid configuration")


def test_parse_bytes():
    assert parse_bytes("10MB") == 10 * 1024 * 1024 and parse_bytes("200kb") == 200 * 1024
    assert parse_bytes("42") == 42
    with pytest.raises(TaskFailure):
        parse_bytes("ten")


def test_purge_current_execution_files_deletes_them_and_lists_uris():
    ex = run_fixture("valid/storage_tasks/purge_current_execution_files.yaml")
    assert ex.state == "SUCCESS", ex.logs
    created = [ex.outputs.w.uri, ex.outputs.sh.outputFiles["out.txt"]]
    assert sorted(ex.outputs.purge.uris) == sorted(created)
    assert not any(internal_storage.to_path(u).exists() for u in created)


def test_purge_with_no_files_succeeds():
    ex = run_flow("""
        tasks:
          - id: purge
            type: io.kestra.core.tasks.storages.PurgeExecution
    """)
    assert ex.state == "SUCCESS" and ex.outputs.purge.uris == []


def test_read_function_reads_a_stored_file_in_an_expression():
    ex = run_fixture("valid/storage_tasks/read_function.yaml")
    assert ex.outputs.r.value == "HELLO FROM STORAGE"
    assert ex.taskrun("missing").message == ("property 'format': Error in the expression "
                                             "`{{ read('kestra:///tests/nowhere.txt') }}` at line 1: "
                                             "read(): no file at kestra:///tests/nowhere.txt")
