"""The teaching notebooks run top to bottom headless, and the committed ones match their sources."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "scripts" / "build_notebooks.py"
_spec = importlib.util.spec_from_file_location("build_notebooks", BUILD)
builder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builder)

# A few outputs per notebook that show it taught what it says (text of streams and results).
KEY_OUTPUTS = {
    "01_why_orchestrate": ["INFO say_hello Hello World!", "ERROR hello_message    Hello, Will!",
                           "I was generated during this workflow.", "did you mean 'message'?", "sunny"],
    "02_inputs_variables_outputs": [
        "user=Ada, next year 37", 'toppings=["cheese","basil"] (2)', "Grace 85 ['ham', 'olives'] 30",
        "age: Must be between 0 and 150 (got 200).",
        "rendered: loading green_tripdata_2019-01.csv into public.green_tripdata", "{'total': 50.0}", "42.1558",
        "api_key    str       ****** (a secret: not printed)"],
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
    "09_testing_flows": [
        "✗ counts_trips_and_average_fare", "line 23: expected to equal '3' but was '4'",
        "FAILED | [('equalTo', 3, 4)]", 'revision 2: Kestra.outputs({"trips": len(fares)',
        "✓ counts_trips_and_average_fare", "ok: True",
        "✓ a_failed_download_fails_the_execution", "✓ green_taxis"],
    "10_into_the_cloud": [
        "Offline: Cloud Storage is a local emulator", "SUCCESS | KV values set",
        "bucket: gs://zoomcamp-offline in US | created now: True",
        "gs://zoomcamp-offline/green_tripdata_2019-01.csv", "MERGE INTO `offline-project.zoomcamp.green_tripdata` T",
        "SUCCESS {'file': 'green_tripdata_2019-02.csv', 'taxi': 'green'}"],
}


def execute(path: Path, home: Path, **env: str | None) -> nbformat.NotebookNode:
    """Run a notebook as the build does (form cells get their headless inputs), with its own NB_ORCHESTRA_HOME."""
    nb = nbformat.read(path, as_version=4)
    variables = {**os.environ, "NB_ORCHESTRA_HOME": str(home), **env}
    builder.execute(nb, {key: value for key, value in variables.items() if value is not None}, timeout=60)
    return nb


def texts(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def secret_values(nb: nbformat.NotebookNode) -> set[str]:
    """The values the %%flow cells give to SECRET inputs: defaults, -i on the cell line, headless inputs."""
    values = set()
    for cell in nb.cells:
        line, _, body = cell.source.partition("\n")
        if cell.cell_type != "code" or not line.startswith("%%flow"):
            continue
        try:
            flow = yaml.safe_load(body)
        except yaml.YAMLError:
            continue  # notebook 01 shows a mistake on purpose
        given = dict(cell.metadata.get("nb_orchestra", {}).get("headless_inputs", {}))
        given.update(word.split("=", 1) for word in line.split() if "=" in word)
        for declared in flow.get("inputs", []):
            if declared["type"] == "SECRET":
                values.update(str(v) for v in (declared.get("defaults"), given.get(declared["id"])) if v)
    return values


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
    assert all(c.metadata["jupyter"]["outputs_hidden"] for c in solutions if c.cell_type == "code")
    everything = json.dumps([cell.get("outputs", []) for cell in nb.cells])  # streams, text, HTML
    shown = [value for value in secret_values(nb) if value in everything]
    assert not shown, f"{name}: outputs show the secret input values {shown}"
    assert nb.cells[0].cell_type == "markdown" and "you will learn" in nb.cells[0].source


def test_the_form_cell_keeps_its_form_and_runs_headless_with_its_inputs():
    nb = nbformat.read(NOTEBOOKS / "02_inputs_variables_outputs.ipynb", as_version=4)
    forms = [cell for cell in nb.cells if "headless_inputs" in cell.metadata.get("nb_orchestra", {})]
    assert [cell.source.partition("\n")[0] for cell in forms] == ["%%flow"]  # no -i: a browser shows the form
    tree = forms[0].outputs[0].data["text/html"]  # the build ran it with its headless inputs
    assert "SUCCESS" in tree and "Grace ordered a L pizza with cheese, voucher code of 10 characters" in tree


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


@pytest.fixture
def copies(tmp_path, monkeypatch) -> Path:
    """The build script pointed at copies of notebooks/ and of the package, which a test may change.

    Each copied notebook is stamped as if built from the copies, so these tests do not depend on the
    committed notebooks being up to date (test_committed_notebooks_match_their_sources checks that).
    """
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(builder.PACKAGE, tmp_path / "nb_orchestra", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(builder, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(builder, "SOURCES", tmp_path / "notebooks" / "src")
    monkeypatch.setattr(builder, "PACKAGE", tmp_path / "nb_orchestra")
    for source in builder.SOURCES.glob("*.py"):
        target = builder.NOTEBOOKS / f"{source.stem}.ipynb"
        nb = nbformat.read(target, as_version=4)
        nb.metadata["nb_orchestra"] = builder.fingerprint(source)
        nbformat.write(nb, target)
    assert builder.check() == []
    return tmp_path


def test_check_reports_stale_missing_and_orphaned_notebooks(copies):
    source = copies / "notebooks" / "src" / "01_why_orchestrate.py"
    source.write_text(source.read_text() + "\n# %%\nprint('changed')\n")
    (copies / "notebooks" / "02_inputs_variables_outputs.ipynb").unlink()
    (copies / "notebooks" / "src" / "03_control_flow.py").unlink()
    assert builder.check() == [
        "01_why_orchestrate.ipynb: stale (src/01_why_orchestrate.py changed since it was built)",
        "02_inputs_variables_outputs.ipynb: missing (build it from src/02_inputs_variables_outputs.py)",
        "03_control_flow.ipynb: no source src/03_control_flow.py",
    ]


def test_a_flow_file_a_notebook_reads_is_part_of_its_source(copies):
    flow_file = copies / "notebooks" / "flows" / "zoomcamp" / "04_duckdb_taxi.yml"
    flow_file.write_text(flow_file.read_text().replace("read_csv", "read_csv_auto"))
    assert builder.check() == [
        "06_etl_taxi.ipynb: stale (src/06_etl_taxi.py or flows/zoomcamp/04_duckdb_taxi.yml changed since it was built)"]


def test_check_reports_notebooks_made_by_another_version_of_the_package(copies):
    module = copies / "nb_orchestra" / "views" / "html.py"
    original = module.read_text()
    module.write_text(original + "\n# a change to the package\n")
    names = sorted(path.name for path in (copies / "notebooks").glob("*.ipynb"))
    stale = [f"{name}: stale (made by another version of the nb_orchestra package)" for name in names]
    assert builder.check() == stale
    module.write_text(original)
    assert builder.check() == []
    (module.parent / "added.py").write_text("")  # a module added is a change too
    assert builder.check() == stale
