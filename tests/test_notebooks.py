"""The teaching notebooks run top to bottom headless, and the committed ones match their sources."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "scripts" / "build_notebooks.py"

# A few outputs per notebook that show it taught what it says (text of streams and results).
KEY_OUTPUTS = {
    "01_why_orchestrate": ["INFO say_hello Hello World!", "ERROR hello_message    Hello, Will!",
                           "I was generated during this workflow.", "did you mean 'message'?", "sunny"],
    "02_inputs_variables_outputs": [
        "user=Ada, next year 37", 'toppings=["cheese","basil"] (2)', "Grace 85 ['ham', 'olives'] 30",
        "Invalid input for `age`, it must be less than `150`",
        "rendered: loading green_tripdata_2019-01.csv into public.green_tripdata", "{'total': 50.0}", "42.1558"],
    "03_control_flow": ["['check_amount', 'large_order']", "['pick_loader', 'load_json']", "green is item #1",
                        "green_tripdata_2019-02.csv", "03 green_tripdata_2019-03.csv",
                        "WARN notes.txt: no loader for this file"],
    "04_when_things_fail": ["SUCCESS after 3 attempts: ['FAILED', 'FAILED', 'SUCCESS']", "WARNING after 3 attempts",
                            "Timeout after PT0.5S", "orders=0    FAILED   ['check_orders', 'alert', 'clean_up']",
                            "backup skipped: copy_to_backup said 'the backup disk is full'",
                            "green_tripdata_2019-03.csv is not published yet", "same execution: True | state: SUCCESS",
                            "extract[03] SUCCESS  attempts: ['FAILED', 'SUCCESS']",
                            "new execution: True | its originalId is the first id: True",
                            "extracted so far: ['01', '02', '03', '02', '03']", "3 attempts; ['export', 'check_rows'"],
    "05_scripts_and_files": ["'total': 385", "400 trips, average fare", '"by_payment_type"', "1 2",
                             "calling the API with token ******", "the token has 15 characters",
                             "the token is ******"],
    "06_etl_taxi": ["Using PostgreSQL", "rows, distinct row ids after the first run: (400, 392)",
                    "unchanged: True", "('green_tripdata_2019-03.csv', 400)"],
    "07_schedules_and_backfills": [
        "Unable to find `trigger`",
        "2019-02-01T09:00:00+00:00 SUCCESS {'backfill': 'true', 'file': 'green_tripdata_2019-02.csv'",
        "['yellow_tripdata_2019-01.csv', 'yellow_tripdata_2019-02.csv', 'yellow_tripdata_2019-03.csv']",
        "requested_by=ada", "the heartbeat fired at least twice: True",
        "SUCCESS {'file': 'green_tripdata_2019-03.csv'}",
        "report on green_tripdata_2019-03.csv, made after monthly_extract", "4 ['2019-01-07', '2019-01-14'"],
    "08_from_notebook_to_kestra": [
        "flows/zoomcamp/taxi_scheduled.yml  <- 07_schedules_and_backfills.ipynb",
        "OK zoomcamp.taxi_scheduled: 3 tasks",
        "(tutorial.load_months)", "is notebook-only", "exit code: 0", "password: \"{{secret('PG_PASSWORD')}}\"",
        "kestra:///tutorial/portable_script/executions/", "my_flows/my_team/python_inside.yml",
        "scratch folder removed: True"],
}


def execute(path: Path, home: Path, **env: str | None) -> nbformat.NotebookNode:
    """Run a notebook as the build does: working folder notebooks/, its own NB_ORCHESTRA_HOME."""
    nb = nbformat.read(path, as_version=4)
    variables = {**os.environ, "NB_ORCHESTRA_HOME": str(home), **env}
    NotebookClient(nb, kernel_name="python3", timeout=60, record_timing=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(
        env={key: value for key, value in variables.items() if value is not None})
    return nb


def texts(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for cell in nb.cells for o in cell.get("outputs", [])
            if o.output_type == "error"]


def test_every_source_has_a_notebook_with_key_outputs():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(KEY_OUTPUTS)


@pytest.mark.parametrize("name", sorted(KEY_OUTPUTS))
def test_notebook_runs_headless(name, tmp_path):
    nb = execute(NOTEBOOKS / f"{name}.ipynb", tmp_path, NB_ORCHESTRA_PG_URL=None)
    assert errors(nb) == []
    text = texts(nb)
    missing = [key for key in KEY_OUTPUTS[name] if key not in text]
    assert not missing, f"{name}: outputs lack {missing}"
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions and all(c.metadata["jupyter"]["source_hidden"] for c in solutions)
    assert nb.cells[0].cell_type == "markdown" and "you will learn" in nb.cells[0].source


def test_etl_notebook_falls_back_to_duckdb_without_postgresql(tmp_path):
    nb = execute(NOTEBOOKS / "06_etl_taxi.ipynb", tmp_path, NB_ORCHESTRA_PG_URL=None,
                 PG_BIN=str(tmp_path / "no-postgresql"))
    assert errors(nb) == []
    text = texts(nb)
    assert "using DuckDB instead" in text and "zoomcamp.04_duckdb_taxi" in text
    assert "unchanged: True" in text and "(400, 392)" in text


def test_committed_notebooks_match_their_sources():
    done = subprocess.run([sys.executable, str(BUILD), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_check_reports_stale_missing_and_orphaned_notebooks(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_notebooks", BUILD)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    copy = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, copy)
    monkeypatch.setattr(build, "NOTEBOOKS", copy)
    monkeypatch.setattr(build, "SOURCES", copy / "src")
    assert build.check() == []

    source = copy / "src" / "01_why_orchestrate.py"
    source.write_text(source.read_text() + "\n# %%\nprint('changed')\n")
    (copy / "02_inputs_variables_outputs.ipynb").unlink()
    (copy / "src" / "03_control_flow.py").unlink()
    assert build.check() == [
        "01_why_orchestrate.ipynb: stale (src/01_why_orchestrate.py changed since it was built)",
        "02_inputs_variables_outputs.ipynb: missing (build it from src/02_inputs_variables_outputs.py)",
        "03_control_flow.ipynb: no source src/03_control_flow.py",
    ]
