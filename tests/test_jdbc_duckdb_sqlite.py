"""DuckDB and SQLite query tasks against the real engines: outputs, files, parameters, transactions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from amazon.ion import simpleion

from nb_orchestra import internal_storage
from nb_orchestra.plugins.jdbc.common import rewrite_parameters, split_statements

from .conftest import messages, put_text, run_fixture, run_flow

DUCK_QUERY = "io.kestra.plugin.jdbc.duckdb.Query"

CSV = "id,name,price\n1,apple,1.50\n2,pear,2.25\n3,plum,0.75\n"


def read_ion(uri: str) -> list:
    """The values of a STORE file, one Ion value per line."""
    lines = internal_storage.to_path(uri).read_text().splitlines()
    return [simpleion.loads(line) for line in lines]


@pytest.mark.parametrize("fetch_type, expected", [
    ("FETCH_ONE", {"row": {"n": 0, "sq": 0}, "size": 1}),
    ("FETCH", {"rows": [{"n": 0, "sq": 0}, {"n": 1, "sq": 1}, {"n": 2, "sq": 4}], "size": 3}),
    ("NONE", {}),
])
def test_duckdb_query_fetch_types(fetch_type, expected):
    ex = run_flow(f"""
        tasks:
          - id: q
            type: {DUCK_QUERY}
            sql: SELECT range AS n, range * range AS sq FROM range(3) ORDER BY n
            fetchType: {fetch_type}
    """)
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    outputs = dict(ex.outputs["q"])
    assert outputs.pop("outputFiles") == {}
    assert outputs == expected


def test_duckdb_store_writes_ion_lines_with_kestra_types():
    ex = run_flow(f"""
        tasks:
          - id: q
            type: {DUCK_QUERY}
            sql: >
              SELECT 1.50::DECIMAL(10,2) AS price, DATE '2024-01-02' AS day,
                     TIMESTAMP '2024-01-02 03:04:05' AS at, 'a"b' AS text, NULL AS nothing
            fetchType: STORE
    """)
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    uri = ex.outputs.q.uri
    assert uri.startswith("kestra:///") and uri.endswith(".ion") and ex.outputs.q.size == 1
    text = internal_storage.to_path(uri).read_text()
    assert 'LocalDateTime::"2024-01-02T03:04:05"' in text and "2024-01-02T" in text
    [row] = read_ion(uri)
    assert row["price"] == Decimal("1.50") and row["text"] == 'a"b' and row["nothing"].ion_type.name == "NULL"
    assert (row["day"].year, row["day"].month, row["day"].day) == (2024, 1, 2)


def test_duckdb_fetch_keeps_python_values():
    ex = run_flow(f"""
        tasks:
          - id: q
            type: {DUCK_QUERY}
            sql: SELECT 2.50::DECIMAL(10,2) AS price, DATE '2024-01-02' AS day, [1, 2] AS items
            fetchOne: true
    """)
    assert ex.outputs.q.row == {"price": Decimal("2.50"), "day": date(2024, 1, 2), "items": [1, 2]}


def test_duckdb_queries_output_list_one_entry_per_result():
    ex = run_fixture("valid/jdbc_duckdb_sqlite/queries_outputs.yaml")
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.outputs == [{"rows": [{"n": 2}], "size": 1},
                                    {"rows": [{"name": "apple"}, {"name": "pear"}], "size": 2}]
    assert ex.outputs["none"].outputs == [{}, {}]
    assert "fetchType is set to NONE, no output will be returned" in messages(ex, "none")


def test_duckdb_named_parameters_leave_casts_and_literals_alone():
    ex = run_fixture("valid/jdbc_duckdb_sqlite/named_parameters.yaml")
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.row == {"n": 3, "noon": "12:00"}


def test_duckdb_input_files_working_dir_and_output_files(isolated_home):
    uri = put_text(isolated_home, "prices.csv", CSV)
    ex = run_fixture("valid/jdbc_duckdb_sqlite/input_and_output_files.yaml", inputs={"data": uri})
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.outputs == [{"row": {"total": pytest.approx(4.5)}, "size": 1}]
    report = ex.outputs.q.outputFiles["report"]
    assert internal_storage.to_path(report).read_text().splitlines() == ["name,qty", "apple,10", "plum,30"]
    assert "databaseUri" not in ex.outputs.q


def test_duckdb_install_json_is_skipped_offline(isolated_home):
    uri = put_text(isolated_home, "products.json",
                   '[{"brand": "a", "price": 10}, {"brand": "a", "price": 20}, {"brand": "b", "price": 5}]')
    ex = run_fixture("valid/jdbc_duckdb_sqlite/install_json_offline.yaml", inputs={"data": uri})
    assert ex.state == "SUCCESS", ex.taskrun("query").message
    assert "skipped INSTALL json: already available offline" in messages(ex, "query")
    [entry] = ex.outputs.query.outputs
    assert entry["size"] == 2
    assert read_ion(entry["uri"]) == [{"brand": "a", "avg_price": 15.0}, {"brand": "b", "avg_price": 5.0}]
    assert ex.outputs.single.row == {"one": 1}


def test_duckdb_queries_roll_back_when_a_statement_fails(tmp_path):
    database = tmp_path / "db" / "shop.duckdb"
    ex = run_fixture("valid/jdbc_duckdb_sqlite/duckdb_roll_back.yaml", inputs={"database": str(database)})
    assert ex.state == "FAILED"
    message = ex.taskrun("broken").message
    assert message.startswith("SQL error in statement 2 of 2:") and "no_such_table" in message
    assert any(line.endswith("Statement: SELECT * FROM no_such_table") for line in messages(ex, "broken"))
    import duckdb

    with duckdb.connect(str(database)) as con:
        assert con.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_duckdb_database_file_round_trip_and_dbfilepath(tmp_path):
    ex = run_fixture("valid/jdbc_duckdb_sqlite/database_file_round_trip.yaml", inputs={"dir": str(tmp_path)})
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.make.databaseUri.startswith("kestra:///")
    assert ex.outputs.read.row == {"answer": 42}
    assert ex.outputs.path.row == {"db": f"{tmp_path}/p.db", "wd": str(tmp_path)}


@pytest.mark.parametrize("props, message", [
    ("url: 'jdbc:duckdb:relative.db'", "Path to database file must be absolute"),
    ("url: 'jdbc:sqlite:x.db'", "URL scheme is invalid. URL should start with `jdbc:duckdb:`"),
    ("inputFiles: {a.csv: 'kestra:///nowhere/a.csv'}", "Unable to find file 'kestra:///nowhere/a.csv'"),
    ("outputFiles: ['../escape']", "only relative path is supported"),
])
def test_duckdb_bad_configuration_fails_clearly(props, message):
    ex = run_flow(f"""
        tasks:
          - id: q
            type: {DUCK_QUERY}
            sql: SELECT 1
            {props}
    """)
    assert ex.state == "FAILED"
    assert message in ex.taskrun("q").message


def test_sqlite_queries_fetch_types_parameters_and_db_file():
    ex = run_fixture("valid/jdbc_duckdb_sqlite/sqlite_queries.yaml")
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.fill.outputs == [{"row": {"n": 3}, "size": 1}]
    assert ex.outputs.one == {"rows": [{"name": "apple"}, {"name": "pear"}], "size": 2}
    assert read_ion(ex.outputs.stored.uri) == [{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"},
                                               {"id": 3, "name": "plum"}]
    assert ex.outputs.memory == {"row": None, "size": 0}


def test_sqlite_queries_roll_back_and_name_the_failing_statement(tmp_path):
    database = tmp_path / "t.db"
    ex = run_fixture("valid/jdbc_duckdb_sqlite/sqlite_roll_back.yaml", inputs={"database": str(database)})
    assert ex.state == "FAILED"
    assert ex.taskrun("broken").message.startswith("SQL error in statement 2 of 2: UNIQUE constraint failed")
    import sqlite3

    with sqlite3.connect(database) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_split_statements_is_kestras_naive_rule():
    assert split_statements("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n") == [
        "CREATE TABLE a (x int)", "INSERT INTO a VALUES (1)"]
    # ";'" does not split (a quote follows), but ";" inside a literal followed by a space does.
    assert split_statements("SELECT ';'; SELECT 'a; b'") == ["SELECT ';'", "SELECT 'a", "b'"]
    assert split_statements("SELECT 1;") == ["SELECT 1;"]


def test_rewrite_parameters_keeps_casts_strings_and_unknown_names():
    sql, used = rewrite_parameters("SELECT :a::text, ':a', \"x:a\", :b, 5 % 2 WHERE y = :a",
                                   {"a": 1}, lambda name: f"%({name})s", escape_percent=True)
    assert sql == "SELECT %(a)s::text, ':a', \"x:a\", :b, 5 %% 2 WHERE y = %(a)s"
    assert used == ["a", "a"]
