"""The nb-orchestra command: run, validate, exit codes, --json, --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nb_orchestra.cli import main

from .conftest import flow_text

ROOT = Path(__file__).resolve().parent.parent
HELLO = str(ROOT / "examples" / "hello.yaml")


def write(tmp_path, body: str, name: str = "flow.yaml") -> str:
    path = tmp_path / name
    path.write_text(flow_text(body))
    return str(path)


def test_run_prints_logs_and_the_tree(capsys):
    assert main(["run", HELLO, "--input", "user=Ann"]) == 0
    out = capsys.readouterr().out
    assert "greet: Hello, Ann!" in out
    assert "report: Ann was here; loop said Cherry #3" in out
    assert "company.team.hello" in out and "SUCCESS" in out
    assert "describe [banana]" in out
    assert "Return: Apple" not in out  # DEBUG lines hidden by default


def test_run_json_is_one_object(capsys):
    assert main(["run", HELLO, "-i", "user=Bo", "-i", "shout=true", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "SUCCESS"
    assert data["inputs"] == {"user": "Bo", "shout": True}
    assert data["outputs"]["make_message"] == {"value": "BO was here"}
    assert data["outputs"]["describe"]["cherry"] == {"value": "Cherry #3"}
    assert [run["task_id"] for run in data["taskruns"]][:3] == ["greet", "make_message", "each_fruit"]
    assert {"task_id": "greet", "level": "INFO", "message": "Hello, Bo!"}.items() <= data["logs"][0].items()
    assert data["taskruns"][0]["start_date"].endswith("Z")


def test_failed_execution_exits_1(tmp_path, capsys):
    path = write(tmp_path, "tasks:\n  - id: f\n    type: io.kestra.plugin.core.execution.Fail\n"
                           "    errorMessage: nope\n")
    assert main(["run", path]) == 1
    captured = capsys.readouterr()
    assert "f: nope" in captured.err and "FAILED" in captured.out


def test_invalid_flow_and_bad_input_exit_2_with_located_errors(tmp_path, capsys):
    path = write(tmp_path, "tasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    mesage: x\n")
    assert main(["run", path]) == 2
    err = capsys.readouterr().err
    assert "line 6, column 5: tasks[0].mesage: unknown property 'mesage'" in err
    assert "Traceback" not in err
    assert main(["run", HELLO, "--input", "user"]) == 2
    assert "--input takes KEY=VALUE, got 'user'" in capsys.readouterr().err
    path = write(tmp_path, "inputs:\n  - id: n\n    type: INT\n"
                           "tasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: x\n")
    assert main(["run", path, "-i", "n=abc"]) == 2
    assert "n: Not a whole number: `abc`." in capsys.readouterr().err
    assert main(["run", path, "-i", "nn=1"]) == 2
    assert "nn: Not an input of this flow; did you mean `n`?" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "no such flow file" in capsys.readouterr().err


def test_validate_reports_each_file(tmp_path, capsys):
    bad = write(tmp_path, "tasks:\n  - id: a\n    type: Log\n", name="bad.yaml")
    assert main(["validate", HELLO]) == 0
    assert "hello.yaml: OK (company.team.hello, 6 tasks)" in capsys.readouterr().out
    assert main(["validate", HELLO, bad]) == 1
    out = capsys.readouterr().out
    assert "bad.yaml: INVALID" in out
    assert "unknown task type 'Log'; did you mean io.kestra.plugin.core.log.Log?" in out


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "--help"]])
def test_every_command_has_help(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0
    assert "usage: nb-orchestra" in capsys.readouterr().out


def test_the_installed_command_runs_the_readme_example(tmp_path):
    command = Path(sys.executable).with_name("nb-orchestra.exe" if sys.platform == "win32" else "nb-orchestra")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "nb_orchestra"]
    result = subprocess.run([*argv, "run", HELLO, "--input", "user=Ann", "--home", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Hello, Ann!" in result.stdout


def test_secret_values_are_masked_in_json_and_in_the_html_report(tmp_path, capsys, monkeypatch):
    import base64

    import nb_orchestra

    monkeypatch.setenv("SECRET_TOKEN", base64.b64encode(b'p"ss word').decode())
    body = ("tasks:\n  - id: leak\n    type: io.kestra.plugin.core.debug.Return\n"
            "    format: \"token={{ secret('TOKEN') }}\"\n")
    assert main(["run", write(tmp_path, body), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["outputs"]["leak"]["value"] == "token=******"
    assert "ss word" not in out
    ex = nb_orchestra.run(flow_text(body))
    assert ex.outputs.leak.value == 'token=p"ss word'  # Python code gets the real value
    assert "ss word" not in ex._repr_html_() and "token=******" in ex._repr_html_()
