"""io.kestra.plugin.dbt.cli.*: the real dbt-core, run on small dbt projects the tests write, against
DuckDB and against the throwaway PostgreSQL of tests/pg_server.py.

dbt-core pins versions the project's own tools need newer (pathspec for mypy), so the session
installs it into a virtual environment of its own, from the ``dbt-duckdb`` and ``dbt-postgres``
extras of pyproject.toml, and points the tasks at it with ``NB_ORCHESTRA_DBT`` (the documented
setting). That takes about a minute, once per session; NB_ORCHESTRA_TEST_DBT names a dbt program to use
instead (one installed earlier, to run these tests again quickly).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import tomllib

from nb_orchestra import internal_storage
from nb_orchestra.plugins.dbt.cli import MISSING, OFFLINE_DEPS
from nb_orchestra.store import get_store, recorder
from nb_orchestra.views.gantt import gantt_svg
from nb_orchestra.views.text import execution_tree

from .conftest import messages, run_fixture
from .git_server import make_repository
from .pg_server import PASSWORD as PG_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
NODES = ["model.shop.customers", "model.shop.orders", "test.shop.unique_orders_id.1360ecc70e", "model.shop.totals"]


@pytest.fixture(scope="session")
def dbt_program(tmp_path_factory) -> str:
    """dbt in a virtual environment of this session, installed from the project's dbt extras."""
    if os.environ.get("NB_ORCHESTRA_TEST_DBT"):
        return os.environ["NB_ORCHESTRA_TEST_DBT"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    requirements = sorted({*extras["dbt-duckdb"], *extras["dbt-postgres"]})
    env_dir = tmp_path_factory.mktemp("dbt-venv")
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    for argv in ([sys.executable, "-m", "venv", str(env_dir)],
                 [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements]):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"cannot install dbt for the tests ({' '.join(argv[-len(requirements):])}):\n"
                        f"{done.stdout[-2000:]}{done.stderr[-2000:]}", pytrace=False)
    return str(python.parent / ("dbt.exe" if sys.platform == "win32" else "dbt"))


@pytest.fixture
def dbt(dbt_program, monkeypatch):
    monkeypatch.setenv("NB_ORCHESTRA_DBT", dbt_program)
    return dbt_program


def children(ex, task_id: str) -> dict[str, object]:
    parent = ex.taskrun(task_id)
    return {run.task_id: run for run in ex.taskruns if run.parent_id == parent.id}


def test_dbt_build_against_duckdb_from_input_files(dbt, tmp_path):
    db = tmp_path / "shop.duckdb"
    ex = run_fixture("valid/dbt/build_duckdb.yaml", inputs={"db": str(db)}, values={"extra": ""})
    assert ex.state == "SUCCESS", "\n".join(messages(ex))
    logs = messages(ex, "build")
    assert f"dbt runs locally ({dbt}); `containerImage` and `taskRunner` are not used" in logs
    assert "ran locally: Docker task runner not used" in logs
    assert any(line.startswith("1 of 4 START sql view model main.customers") for line in logs)
    assert "Done. PASS=4 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=4" in logs

    # one run per dbt node under the task, in dbt's order, with its state, type and timing
    nodes = children(ex, "build")
    assert list(nodes) == NODES
    build = ex.taskrun("build")
    for run in nodes.values():
        assert run.state == "SUCCESS" and run.attempts[0].state == "SUCCESS"
        assert build.start_date <= run.start_date < run.end_date <= build.end_date
    assert nodes["model.shop.orders"].task_type == "dbt.model"
    assert nodes["test.shop.unique_orders_id.1360ecc70e"].task_type == "dbt.test"
    summary = messages(ex, "model.shop.totals")
    assert len(summary) == 2 and summary[0].startswith("model.shop.totals => success in ") and summary[1] == "OK"
    tree = execution_tree(ex)
    assert "   ├─ ✓ model.shop.customers  SUCCESS" in tree and "   └─ ✓ model.shop.totals  SUCCESS" in tree
    assert all(f">{node}<" in gantt_svg(ex) for node in NODES[:2])
    recorder.flush()  # the store keeps them too, under the task's run
    stored = get_store().execution(ex.id)
    assert [run.task_id for run in stored.taskruns if run.parent_id == build.id] == NODES

    files = ex.outputs.build.outputFiles
    assert sorted(files) == ["manifest.json", "run_results.json"]
    assert '"model.shop.totals"' in internal_storage.to_path(files["manifest.json"]).read_text()
    assert ex.outputs.build.exitCode == 0
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select name, total from totals order by name").fetchall() == [
            ("Ada", 30.5), ("Grace", 4.5)]


def test_a_failing_model_fails_the_task_naming_the_model(dbt, tmp_path):
    extra = ('models/bad.sql: "select nope from {% raw %}{{ ref(\'orders\') }}{% endraw %}"\n'
             '      models/after_bad.sql: "select * from {% raw %}{{ ref(\'bad\') }}{% endraw %}"')
    ex = run_fixture("valid/dbt/build_duckdb.yaml", inputs={"db": str(tmp_path / "shop.duckdb")},
                     values={"extra": extra})
    assert ex.state == "FAILED"
    message = ex.taskrun("build").message
    assert message == "Command failed with code 1: 1 dbt node(s) failed: model.shop.bad: Runtime Error in model bad " \
                      "(models/bad.sql)"
    nodes = children(ex, "build")
    assert nodes["model.shop.bad"].state == "FAILED"
    assert nodes["model.shop.after_bad"].state == "SKIPPED"
    assert nodes["model.shop.totals"].state == "SUCCESS"
    bad = messages(ex, "model.shop.bad", "ERROR")
    assert bad[0].startswith("model.shop.bad => error in ")
    assert 'Referenced column "nope" not found' in bad[1]
    assert ex.outputs.build.exitCode == 1
    assert sorted(ex.outputs.build.outputFiles) == ["manifest.json", "run_results.json"]


def test_dbt_build_against_postgres_from_a_git_clone(dbt, tmp_path, pg_db):
    bare = make_repository(tmp_path, "dbt.git", {"main": [{
        "dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\n",
        "models/orders.sql": "select 1 as id, 10.5 as amount union all select 2, 20.0\n",
        "models/totals.sql": "select count(*) as orders, sum(amount) as total from {{ ref('orders') }}\n",
        "models/schema.yml": "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n"
                             "        data_tests: [not_null]\n",
    }]})
    ex = run_fixture("valid/dbt/postgres_from_git.yaml", inputs={
        "repository": bare.as_uri(), "port": pg_db.server.port, "dbname": pg_db.name,
        "password": PG_PASSWORD})
    assert ex.state == "SUCCESS", "\n".join(messages(ex))
    assert list(children(ex, "build")) == [
        "model.shop.orders", "test.shop.not_null_orders_id.84ef11d8fe", "model.shop.totals"]
    assert pg_db.query("select orders, total from analytics.totals") == [(2, 30.5)]
    assert PG_PASSWORD not in "\n".join(messages(ex))


def test_a_project_in_namespace_files_with_the_older_build_task(dbt, tmp_path, isolated_home):
    root = internal_storage.namespace_files_dir("company.team")
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\nprofile: shop\n")
    (root / "models" / "orders.sql").write_text("select 1 as id\n")
    (root / "models" / "totals.sql").write_text("select count(*) as n from {{ ref('orders') }}\n")
    (root / "models" / "unrelated.sql").write_text("select 2 as x\n")
    db = tmp_path / "ns.duckdb"
    ex = run_fixture("valid/dbt/build_task_namespace_files.yaml", inputs={"db": str(db)})
    assert ex.state == "SUCCESS", "\n".join(messages(ex))
    assert list(children(ex, "build")) == ["model.shop.orders", "model.shop.totals"]
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select n from totals").fetchall() == [(1,)]


def test_dbt_deps_offline_fails_with_a_clear_note(dbt):
    ex = run_fixture("valid/dbt/deps_offline.yaml")
    assert ex.state == "FAILED"
    message = ex.taskrun("deps").message
    assert message.startswith("Command failed with code 2: External connection exception occurred")
    assert message.endswith(f"({OFFLINE_DEPS})")


def test_without_dbt_the_task_names_the_extras(monkeypatch, tmp_path):
    monkeypatch.delenv("NB_ORCHESTRA_DBT", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no dbt beside this Python
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    ex = run_fixture("valid/dbt/deps_offline.yaml")
    assert ex.state == "FAILED"
    assert ex.taskrun("deps").message == MISSING
    assert "pip install 'nb-orchestra[dbt-duckdb]' (or [dbt-postgres])" in MISSING


def test_setup_installs_dbt_for_the_older_tasks_after_it(tmp_path, monkeypatch):
    monkeypatch.delenv("NB_ORCHESTRA_DBT", raising=False)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    db = tmp_path / "setup.duckdb"
    ex = run_fixture("valid/dbt/setup_then_build.yaml", inputs={"requirements": extras["dbt-duckdb"], "db": str(db)})
    assert [ex.taskrun(task).state for task in ("setup", "run", "test")] == ["SUCCESS", "SUCCESS", "WARNING"]
    assert any(line.startswith("Installing Python dependencies dbt-core>=1.8,<1.12, dbt-duckdb>=1.8")
               for line in messages(ex, "setup"))
    assert "dbt runs locally (./bin/dbt); `containerImage` and `taskRunner` are not used" in messages(ex, "run")
    assert list(children(ex, "run")) == ["model.shop.orders"]
    # no test in this project: dbt warns, and as in Kestra a dbt warning makes the task WARNING
    assert children(ex, "test") == {}
    assert "Nothing to do. Try checking your model configs and model specification args" in messages(
        ex, "test", "WARN")
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select count(*) from orders").fetchall() == [(2,)]
