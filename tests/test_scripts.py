"""Script tasks (python/shell Script and Commands) with real subprocesses."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from nb_orchestra import internal_storage
from nb_orchestra.plugins import registry
from nb_orchestra.plugins.scripts.files import glob_regex
from nb_orchestra.records import events

from .conftest import messages as logs
from .conftest import run_fixture, run_flow

PY = "io.kestra.plugin.scripts.python.Script"
PY_CMDS = "io.kestra.plugin.scripts.python.Commands"
SH = "io.kestra.plugin.scripts.shell.Commands"
SH_SCRIPT = "io.kestra.plugin.scripts.shell.Script"


def run_of(ex, task_id: str):
    return next(r for r in ex.taskruns if r.task_id == task_id)


def test_registry_loads_script_types_but_not_the_shim():
    types = registry()
    assert {PY, PY_CMDS, SH, SH_SCRIPT} <= set(types)
    assert not any("_shim" in cls.__module__ for cls in types.values())
    assert "kestra" not in sys.modules


def test_python_script_logs_lines_live_and_in_order():
    ex = run_fixture("valid/scripts/python_script_live_logs.yaml")
    assert ex.state == "SUCCESS"
    assert logs(ex, "t", "INFO") == ["first", "last"]
    assert logs(ex, "t", "ERROR") == ["oops"]
    first = next(r for r in ex.logs if r.message == "first")
    last = next(r for r in ex.logs if r.message == "last")
    assert (last.timestamp - first.timestamp).total_seconds() >= 0.8
    assert (run_of(ex, "t").end_date - first.timestamp).total_seconds() >= 0.8
    assert ex.outputs.t.exitCode == 0 and ex.outputs.t.vars == {}


def test_kestra_outputs_metrics_and_logs_protocol():
    ex = run_fixture("valid/scripts/kestra_protocol.yaml")
    assert ex.state == "SUCCESS", ex.logs
    assert ex.outputs.t.vars == {"x": 42, "name": "bob", "y": [1, 2]}
    assert logs(ex, "use") == ["43 bob"]
    assert ex.taskrun("t").metrics == [
        {"name": "rows", "type": "counter", "value": 7, "tags": {"table": "t"}},
        {"name": "load", "type": "timer", "value": 1.5, "tags": {}},
    ]
    messages = {(r.level, r.message.split(" - ", 1)[-1]) for r in ex.logs if r.task_id == "t"}
    assert {("INFO", "hello info"), ("WARN", "be careful"), ("DEBUG", "raw debug")} <= messages
    assert any(level == "WARN" and "Invalid outputs" in msg for level, msg in messages)
    assert not any("::" in msg for level, msg in messages if level != "WARN")


def test_shell_commands_before_commands_env_and_working_dir():
    ex = run_fixture("valid/scripts/shell_commands.yaml")
    assert ex.state == "SUCCESS", ex.logs
    out = logs(ex, "t", "INFO")
    assert out[0] == "hello test"
    env_dir, rendered = out[2].split("|")
    assert env_dir == rendered and out[1] == f"{rendered}/sub"
    assert logs(ex, "s", "INFO") == ["line 1", "line 2"]


def test_input_files_inline_json_string_and_from_storage():
    ex = run_fixture("valid/scripts/input_files.yaml")
    assert ex.state == "SUCCESS", ex.logs
    assert logs(ex, "t", "INFO") == ["inline tests", "from storage"]
    assert logs(ex, "j", "INFO") == ["json map"]


def test_output_files_glob_then_read_by_a_later_script():
    ex = run_fixture("valid/scripts/output_files.yaml")
    assert ex.state == "SUCCESS", ex.logs
    files = ex.outputs.make.outputFiles
    assert sorted(files) == ["reports/2024/r.txt", "x.csv"]
    assert internal_storage.to_path(files["x.csv"]).read_text() == "a,b\n1,2\n"
    assert internal_storage.to_path(files["reports/2024/r.txt"]).read_text() == "report"
    assert logs(ex, "read", "INFO") == ["False 1,2"]
    assert logs(ex, "shell", "INFO") == ["2"]


def test_java_glob_semantics():
    assert glob_regex("*.csv").fullmatch("x.csv") and not glob_regex("*.csv").fullmatch("d/x.csv")
    assert glob_regex("**/*.csv").fullmatch("d/e/x.csv") and not glob_regex("**/*.csv").fullmatch("x.csv")
    assert glob_regex("{a,b}.txt").fullmatch("b.txt") and not glob_regex("{a,b}.txt").fullmatch("c.txt")
    assert glob_regex("f[0-9]?.[!c]sv").fullmatch("f1x.tsv") and not glob_regex("f[0-9].[!c]sv").fullmatch("f1.csv")


def test_non_zero_exit_fails_with_code_last_stderr_line_and_outputs():
    ex = run_fixture("valid/scripts/non_zero_exit.yaml")
    assert ex.state == "FAILED"
    assert run_of(ex, "t").message == "Command failed with code 3: something broke"
    assert logs(ex, "t", "ERROR") == ["something broke", "Command failed with code 3: something broke"]
    assert ex.outputs.t.exitCode == 3 and ex.outputs.t.vars == {"partial": True}


def test_a_python_traceback_is_logged_once_after_the_prints_in_the_scripts_own_lines():
    ex = run_flow(f"""
        tasks:
          - id: t
            type: {PY}
            script: |
              print("before")
              def divide():
                  return 1 / 0
              __import__("warnings").warn("careful")
              divide()
    """)
    assert run_of(ex, "t").message == "Command failed with code 1: ZeroDivisionError: division by zero"
    lines = [line for message in logs(ex, "t") for line in message.splitlines()]
    assert lines[:4] == ["before", "line 4 of the script: UserWarning: careful",
                         '  __import__("warnings").warn("careful")', "Traceback (most recent call last):"]
    assert "  line 5 of the script, in <module>" in lines and "  line 3 of the script, in divide" in lines
    assert lines.count("ZeroDivisionError: division by zero") == 1 and lines.count("    return 1 / 0") == 1
    assert not any(".py" in line for line in lines)


def test_a_python_run_by_a_shell_line_prints_before_its_traceback(monkeypatch):
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # as in a kernel started without it
    ex = run_flow(f"""
        tasks:
          - id: t
            type: {SH}
            commands:
              - {sys.executable} -c 'print("before"); import helper'
            inputFiles:
              helper.py: |
                x = 1
                raise ValueError("bad helper")
    """)
    lines = logs(ex, "t")
    assert lines[:2] == ["before", "Traceback (most recent call last):"], lines  # stdout is not held back
    assert '  File "helper.py", line 2, in <module>' in lines  # named in the working directory
    assert run_of(ex, "t").message == "Command failed with code 1: ValueError: bad helper"


def test_lines_keep_the_order_they_were_written_in_while_a_log_listener_is_slow():
    def slow(event: events.Event) -> None:  # "first" holds the reader while "second" and the error are written
        if isinstance(event, events.LogEmitted) and event.record.message == "first":
            time.sleep(0.5)

    ex = run_flow(f"""
        tasks:
          - id: t
            type: {PY}
            script: |
              import sys, time
              print("first")
              time.sleep(0.1)
              print("second")
              time.sleep(0.1)
              print("an error", file=sys.stderr)
              time.sleep(0.8)
              print("third")
    """, listeners=[slow])
    assert logs(ex, "t") == ["first", "second", "an error", "third"]


def test_missing_tool_and_fail_fast():
    ex = run_fixture("valid/scripts/fail_fast.yaml")
    assert run_of(ex, "lenient").state == "SUCCESS" and logs(ex, "lenient", "INFO") == ["after"]
    assert run_of(ex, "strict").state == "WARNING" and ex.outputs.strict.exitCode == 1
    assert "never" not in logs(ex, "strict")
    assert ex.outputs.tool.exitCode == 127
    assert run_of(ex, "tool").message.startswith("Command failed with code 127: ")
    assert run_of(ex, "tool").message.endswith("not found (command not found: is the tool installed?)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")  # zombies are dead


def test_timeout_kills_the_process_group_quickly(tmp_path):
    pid_file = tmp_path / "pid"
    start = time.monotonic()
    ex = run_fixture("valid/scripts/timeout_kills_the_group.yaml", inputs={"pid_file": str(pid_file)})
    elapsed = time.monotonic() - start
    assert ex.state == "FAILED" and elapsed < 3
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_python_commands_use_the_task_interpreter_and_shim():
    ex = run_fixture("valid/scripts/python_commands.yaml")
    assert ex.state == "SUCCESS", ex.logs
    assert Path(ex.outputs.t.vars.exe).parent == Path(sys.executable).parent


def test_docker_runner_is_accepted_and_logged():
    ex = run_fixture("valid/scripts/docker_runner.yaml")
    assert ex.state == "SUCCESS", ex.logs
    assert logs(ex, "t", "INFO") == ["ran locally: Docker task runner not used", "ok"]


def test_dependency_that_cannot_be_installed_fails_clearly(isolated_home):
    ex = run_flow(f"""
        tasks:
          - id: t
            type: {PY}
            dependencies: [nb-orchestra-no-such-package-xyz]
            script: print("never")
    """)
    assert ex.state == "FAILED"
    message = run_of(ex, "t").message
    assert message.startswith("pip could not install nb-orchestra-no-such-package-xyz"), message
    assert any("Installing Python dependencies" in m for m in logs(ex, "t", "INFO"))
    assert not any((isolated_home / "envs").iterdir())


def test_script_text_kestra_uri_is_replaced_by_a_local_copy():
    ex = run_fixture("valid/scripts/kestra_uri_in_script.yaml")
    assert ex.state == "SUCCESS", ex.logs
    assert logs(ex, "t", "INFO") == ["True 1"]
    assert json.loads(internal_storage.to_path(ex.outputs.w.uri).read_text()) == {"k": 1}


def test_dependencies_install_once_into_a_cached_env(isolated_home):
    # pyyaml is installed in the kernel: the env sees it, so pip needs no network.
    first, second = run_fixture("valid/scripts/cached_env.yaml"), run_fixture("valid/scripts/cached_env.yaml")
    assert first.state == second.state == "SUCCESS", first.logs
    prefix = Path(logs(first, "t", "INFO")[-1])
    assert prefix.parent == isolated_home / "envs" and logs(second, "t", "INFO")[-1] == str(prefix)
    assert any("Installing Python dependencies pyyaml" in m for m in logs(first, "t"))
    assert any("cached environment" in m for m in logs(second, "t"))


def test_namespace_files_are_copied_when_enabled(isolated_home):
    folder = isolated_home / "namespaces" / "tests" / "sql"
    folder.mkdir(parents=True)
    (folder / "q.sql").write_text("select 1")
    (folder / "skip.tmp").write_text("no")
    ex = run_flow(f"""
        tasks:
          - id: t
            type: {SH}
            namespaceFiles:
              enabled: true
              exclude: ["**.tmp"]
            commands: ["cat sql/q.sql; echo", "ls sql"]
    """)
    assert ex.state == "SUCCESS", ex.logs
    assert logs(ex, "t", "INFO") == ["select 1", "q.sql"]
