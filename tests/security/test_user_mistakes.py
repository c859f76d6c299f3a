"""User mistakes get a short message and the right exit code, never a Python traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nb_orchestra
from nb_orchestra.errors import FlowValidationError, UserError

FLOW = "id: a\nnamespace: b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {}\n"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nb_orchestra", *args], capture_output=True, text=True, timeout=60)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(FLOW.format("caf\xe9").encode("latin-1"))
    result = cli("validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "line 6: not UTF-8 text" in result.stdout


def test_a_utf16_file_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "utf16.yaml"
    path.write_bytes(FLOW.format("hello").encode("utf-16"))
    assert nb_orchestra.load_flow(path).id == "a"


def test_a_home_that_is_a_file_fails_before_running(tmp_path):
    home = tmp_path / "not-a-folder"
    home.write_text("")
    flow = tmp_path / "a.yaml"
    flow.write_text(FLOW.format("hi"))
    result = cli("run", str(flow), "--home", str(home))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot keep executions in" in result.stderr


def test_a_duration_too_long_for_any_clock_is_a_located_error():
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(FLOW.format("hi") + "    timeout: P99999999999999D\n")
    [problem] = info.value.problems
    assert problem.line == 7 and "longer than the longest duration" in problem.message


def test_an_unhashable_key_is_a_located_error():
    with pytest.raises(UserError, match="a key must be a plain value"):
        nb_orchestra.load_flow("id: a\nnamespace: b\n{x: 1}: y\ntasks: []\n")


def test_an_expression_nested_too_deeply_fails_its_task_with_a_short_message():
    deep = "(" * 100 + "1" + ")" * 100
    ex = nb_orchestra.run(FLOW.format(f'"{{{{ {deep} }}}}"'))
    assert ex.state == "FAILED"
    message = ex.taskrun("t").message
    assert "is nested too deeply" in message and "Traceback" not in message and len(message) < 300


def test_a_failed_write_reports_its_own_error_not_cannot_rollback(isolated_home):
    from nb_orchestra.store.sqlite import SQLiteStore

    store = SQLiteStore(isolated_home)
    with pytest.raises(OSError, match="No space left on device"):
        with store.transaction() as tx:
            tx.execute("ROLLBACK")  # what SQLite does by itself when the disk is full
            raise OSError(28, "No space left on device")


def test_ids_with_a_trailing_newline_are_refused():
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow('id: "a\\n"\nnamespace: b\ntasks:\n  - id: "t\\n"\n'
                               "    type: io.kestra.plugin.core.log.Log\n    message: x\n")
    assert len(info.value.problems) == 2 and all("is not a valid" in p.message for p in info.value.problems)
