"""History across processes: what one process ran, the next one lists, reads, restarts and purges."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nb_orchestra.cli import main

from .conftest import flow_text

FLAKY = flow_text("""
    labels:
      team: data
    tasks:
      - id: first
        type: io.kestra.plugin.core.debug.Return
        format: "{{ execution.id }}"
      - id: loop
        type: io.kestra.plugin.core.flow.ForEach
        values: [a, b]
        tasks:
          - id: check
            type: io.kestra.plugin.core.execution.Fail
            condition: "{{ taskrun.value == (envs.broken ?? 'none') }}"
""", flow_id="flaky")


def run_in_another_process(tmp_path, home, env=None) -> None:
    path = tmp_path / "flaky.yaml"
    path.write_text(FLAKY)
    result = subprocess.run([sys.executable, "-m", "nb_orchestra", "run", str(path), "--home", str(home)],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert result.returncode == 1, result.stderr  # it failed, as the test wants


def test_cli_lists_and_prints_logs_of_an_earlier_process(tmp_path, isolated_home, capsys):
    run_in_another_process(tmp_path, isolated_home, {"ENV_BROKEN": "b"})
    assert main(["executions", "--home", str(isolated_home), "--json", "--label", "team=data"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["flow_id"], row["state"], row["labels"]) == ("flaky", "FAILED", {"team": "data"})
    assert main(["logs", row["id"][:10], "--home", str(isolated_home), "--level", "ERROR"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-2].endswith("ERROR check[b]: Task failure")
    assert printed[-1] == "(1 DEBUG line hidden: --level DEBUG shows them)"
    assert main(["executions", "--home", str(isolated_home), "--state", "SUCCESS"]) == 0
    assert capsys.readouterr().out.strip() == "no executions"


def test_a_new_kernel_reads_restarts_and_purges_what_an_earlier_one_ran(tmp_path, isolated_home):
    run_in_another_process(tmp_path, isolated_home, {"ENV_BROKEN": "b"})
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nb_orchestra")
    with capture_output() as captured:
        ip.run_cell("%flow executions flaky --state FAILED --since 1h")
    table = captured.outputs[-1].data["text/plain"]
    assert "tests.flaky  FAILED" in table
    stored_id = table.splitlines()[1].split()[0]
    ip.run_cell('seen = %flow eval "{{ outputs.first.value }}"')
    assert ip.user_ns["seen"] == stored_id
    ip.run_cell("out = %flow outputs")
    assert ip.user_ns["out"]["first"]["value"] == stored_id
    with capture_output() as captured:
        result = ip.run_cell(f"%flow restart {stored_id[:8]}")  # the cause (ENV_BROKEN) is gone here
    assert result.success, captured.stdout
    assert "SUCCESS" in captured.outputs[-1].data["text/plain"]
    from nb_orchestra.api import find_execution

    restarted = find_execution(stored_id)
    assert restarted.state == "SUCCESS" and restarted.id == stored_id
    assert [(r.task_id, r.value, len(r.attempts)) for r in restarted.taskruns] == [
        ("first", None, 1), ("loop", None, 0), ("check", "a", 1), ("check", "b", 2)]
    with capture_output() as captured:
        ip.run_cell("%flow purge --older-than 0s --flow flaky")
    assert captured.stdout.startswith("1 executions")
    with capture_output() as captured:
        ip.run_cell("%flow executions")
    assert stored_id not in (captured.outputs[-1].data["text/plain"] if captured.outputs else captured.stdout)
