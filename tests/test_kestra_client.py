"""Scripts that use the official ``kestra`` Python package (PyPI ``kestra``) run unchanged: outputs,
counters, timers, gauges, ``Kestra.logger()`` and ``Kestra.read``; the metrics on the task run, in
``ex.metrics`` and in the tree. Where a script's interpreter has no ``kestra`` package, our shim
answers, and it answers as the real package does (one script, run both ways)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from nb_orchestra.api import executions
from nb_orchestra.plugins.scripts.runner import SHIM_DIR
from nb_orchestra.views.html import execution_html
from nb_orchestra.views.text import execution_tree

from .conftest import messages, run_fixture, run_flow

REAL_KESTRA = Path(importlib.util.find_spec("kestra").origin)  # the dev extra installs it
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z - ")


@pytest.fixture(scope="module")
def python_without_kestra(tmp_path_factory) -> str:
    """A Python that imports the kernel's packages but not ``kestra``: a bare virtual environment
    whose .pth names a folder of links to the kernel's site-packages, the kestra package's files
    (kestra.py, exceptions.py, its dist-info) left out."""
    root = tmp_path_factory.mktemp("without-kestra")
    venv.create(root / "env", with_pip=False, symlinks=True)
    left_out = {Path(str(name)).parts[0] for name in importlib.metadata.files("kestra") or ()}
    links = root / "site-packages"
    links.mkdir()
    for entry in REAL_KESTRA.parent.iterdir():
        if entry.name not in left_out:
            (links / entry.name).symlink_to(entry)
    [env_site] = (root / "env").glob("lib/python*/site-packages")
    (env_site / "kernel_packages.pth").write_text(f"{links}\n", encoding="utf-8")
    python = str(root / "env" / "bin" / "python")
    probe_code = "import amazon.ion, dateutil, importlib.util as u; print(u.find_spec('kestra'))"
    probe = subprocess.run([python, "-c", probe_code], capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "None", probe.stderr
    return python


def test_real_package_outputs_metrics_logs_and_read():
    ex = run_fixture("valid/kestra_client/script_reports.yaml")
    assert ex.state == "SUCCESS", ex.logs
    got = ex.outputs.t.vars
    assert Path(got.package) == REAL_KESTRA
    assert (got.zones, got.fares, got.tips) == (["Harlem", "SoHo"], [12.5, 7.25], [None, 1.5])
    assert got.dates == ["2024-04-21 13:43:24+00:00", "not a date"]  # Kestra.read: ISO text as datetimes
    assert messages(ex, "after") == ["Harlem, SoHo"]
    run = ex.taskrun("t")
    # reported again with the same name and tags: counters and timers add up, a gauge keeps the last
    assert run.metrics == [
        {"name": "rows", "type": "counter", "value": 42, "tags": {"table": "trips"}},
        {"name": "rows", "type": "counter", "value": 7, "tags": {"table": "zones"}},
        {"name": "duration", "type": "timer", "value": 1.5, "tags": {}},
        {"name": "queue", "type": "gauge", "value": 1.5, "tags": {}},
    ]
    assert ex.metrics == [{"task_id": "t", "taskrun_id": run.id, **entry} for entry in run.metrics]
    assert ex.metrics[0].name == "rows" and ex.metrics[0].tags.table == "trips"
    # (sorted: stdout, DEBUG and INFO, and stderr, WARN and above, are two pipes read as they come)
    levels = sorted((log.level, STAMP.sub("", log.message)) for log in ex.logs if log.task_id == "t")
    assert levels == [("DEBUG", "reading trips"), ("ERROR", "fare missing"), ("INFO", "read 2 trips"),
                      ("WARN", "one trip unpaid")]


def test_metrics_show_under_their_task_in_both_trees_and_come_back_from_the_store():
    ex = run_fixture("valid/kestra_client/script_reports.yaml")
    line = "metrics: rows{table=trips}=42 · rows{table=zones}=7 · duration=1.5s · queue=1.5"
    tree = execution_tree(ex).splitlines()
    at = next(i for i, text in enumerate(tree) if "✓ t  SUCCESS" in text)
    assert tree[at + 1] == f"│  └─ {line}"
    assert sum("metrics:" in text for text in tree) == 1  # none under the tasks that reported none
    html = execution_html(ex)
    assert html.count('class="nbo-metrics"') == 1 and f">{line}</div>" in html
    [stored] = executions(flow_id="test")
    assert stored.id == ex.id and stored.metrics == ex.metrics
    assert line in execution_tree(stored)


def test_a_line_kestra_cannot_read_is_ignored_whole():
    ex = run_flow("""
        tasks:
          - id: t
            type: io.kestra.plugin.scripts.python.Script
            script: |
              print('::{"outputs": {"a": 1}, "metrics": [{"name": "x", "type": "histogram", "value": 1}]}::')
              print('::{"outputs": {"b": 2}, "metrics": [{"name": "n", "type": "counter", "value": "many"}]}::')
              print('::{"outputs": {"c": 3}, "metrics": [{"name": "t", "type": "timer", "value": "PT1M1.5S"}]}::')
    """)
    assert ex.state == "SUCCESS", ex.logs
    assert ex.outputs.t.vars == {"c": 3}
    assert ex.taskrun("t").metrics == [{"name": "t", "type": "timer", "value": 61.5, "tags": {}}]
    warnings = messages(ex, "t", "WARN")
    assert warnings[0].startswith("Invalid outputs 'unknown metric type 'histogram' (counter, timer or gauge)'")
    assert warnings[1].startswith("Invalid outputs 'the value of counter 'n' is not a number: 'many''")


def _run_both_ways(python: str):
    ex = run_fixture("valid/kestra_client/same_script.yaml", inputs={"python": python})
    assert ex.state == "SUCCESS", ex.logs
    return ex


def _logs(ex) -> list[tuple[str, str]]:
    """(level, message) of the script's log lines, the time stamp and the working dir left out,
    sorted (stdout and stderr are two pipes, read as they come)."""
    return sorted((log.level, re.sub(r'File "[^"]*main\.py"', 'File "main.py"', STAMP.sub("", log.message)))
                  for log in ex.logs if log.task_id == "t")


def test_the_shim_answers_as_the_real_package(python_without_kestra):
    real, shim = _run_both_ways(sys.executable), _run_both_ways(python_without_kestra)
    assert Path(real.outputs.t.vars.package) == REAL_KESTRA
    assert Path(shim.outputs.t.vars.package) == SHIM_DIR / "kestra.py"

    def without_package(vars_: dict) -> dict:
        return {key: value for key, value in vars_.items() if key != "package"}

    assert without_package(shim.outputs.t.vars) == without_package(real.outputs.t.vars)
    assert real.outputs.t.vars.rows[0] == {
        "id": ["IonPyInt", "1"], "name": ["IonPyText", "Ann"], "price": ["float", "1.5"], "paid": ["bool", "True"],
        "note": ["NoneType", "None"], "raw": ["str", "hi"], "at": ["datetime", "2024-04-21 13:43:24+00:00"],
        "local": ["datetime", "2024-04-21 13:43:24.340000"],
        "tags": [["IonPyText", "a"], ["datetime", "2024-01-01 00:00:00"]], "more": {"k": ["IonPyFloat", "2.5"]},
    }
    assert (real.outputs.t.vars.answer, real.outputs.t.vars.text, real.outputs.t.vars.formatted) == (43, "é ✓", True)

    assert _logs(shim) == _logs(real)
    logs = _logs(real)
    [(level, traceback)] = [entry for entry in logs if entry[1].startswith("division failed")]
    assert [entry for entry in logs if entry[1] != traceback] == [
        ("DEBUG", 'asset not kept (nb_orchestra has no asset catalogue): {"id": "trips", "type": "TABLE"}'),
        ("DEBUG", "debug line"), ("ERROR", "critical line"), ("ERROR", "error line"), ("INFO", "info line"),
        ("TRACE", "a level of its own"), ("WARN", "warning line"),
    ]
    assert level == "ERROR"
    assert traceback.startswith('division failed\nTraceback (most recent call last):\n  File "main.py", line 29')
    assert traceback.endswith("ZeroDivisionError: division by zero")

    # The one difference, on purpose: a timed callable. Kestra reads a timer in seconds; kestra 2.0
    # sends the difference of the sub-second parts of two clock readings, divided by 1000.
    def timed_call(metrics: list) -> tuple[list, float]:
        [call] = [m for m in metrics if m["name"] == "call"]
        return [m for m in metrics if m is not call], call["value"]

    (real_rest, _), (shim_rest, seconds) = timed_call(real.taskrun("t").metrics), timed_call(shim.taskrun("t").metrics)
    assert shim_rest == real_rest == [
        {"name": "rows", "type": "counter", "value": 42, "tags": {"table": "trips"}},
        {"name": "rows", "type": "counter", "value": 7, "tags": {"table": "zones"}},
        {"name": "bytes", "type": "counter", "value": 1.5, "tags": {}},
        {"name": "load", "type": "timer", "value": 1.5, "tags": {"step": "copy"}},
        {"name": "queue", "type": "gauge", "value": 1.5, "tags": {}},
    ]
    assert 0.05 <= seconds < 5
    assert [m["tags"] for m in shim.taskrun("t").metrics if m["name"] == "call"] == [{"step": "sleep"}]
