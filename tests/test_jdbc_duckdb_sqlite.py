"""DuckDB and SQLite query tasks against the real engines: outputs, files, parameters, transactions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from amazon.ion import simpleion

from nb_orchestra import storage
from nb_orchestra.plugins.jdbc.common import rewrite_parameters, split_statements

from .conftest import run_flow

DUCK_QUERY = "io.kestra.plugin.jdbc.duckdb.Query"
DUCK_QUERIES = "io.kestra.plugin.jdbc.duckdb.Queries"
LITE_QUERY = "io.kestra.plugin.jdbc.sqlite.Query"
LITE_QUERIES = "io.kestra.plugin.jdbc.sqlite.Queries"

CSV = "id,name,price\n1,apple,1.50\n2,pear,2.25\n3,plum,0.75\n"


def read_ion(uri: str) -> list:
    """The values of a STORE file, one Ion value per line."""
    lines = storage.to_path(uri).read_text().splitlines()
    return [simpleion.loads(line) for line in lines]


def messages(ex, task_id: str) -> list[str]:
    return [log.message for log in ex.logs if log.task_id == task_id]


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
    text = storage.to_path(uri).read_text()
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
    ex = run_flow(f"""
        tasks:
          - id: q
            type: {DUCK_QUERIES}
            sql: |
              CREATE TABLE fruit (id INTEGER, name VARCHAR);
              INSERT INTO fruit VALUES (1, 'apple'), (2, 'pear');
              SELECT count(*) AS n FROM fruit;
              SELECT name FROM fruit ORDER BY id;
            fetchType: FETCH
          - id: none
            type: {DUCK_QUERIES}
            sql: SELECT 1 AS one; SELECT 2 AS two
    """)
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.outputs == [{"rows": [{"n": 2}], "size": 1},
                                    {"rows": [{"name": "apple"}, {"name": "pear"}], "size": 2}]
    assert ex.outputs["none"].outputs == [{}, {}]
    assert "fetchType is set to NONE, no output will be returned" in messages(ex, "none")


def test_duckdb_named_parameters_leave_casts_and_literals_alone():
    ex = run_flow(f"""
        inputs:
          - id: minimum
            type: INT
            defaults: 2
        tasks:
          - id: q
            type: {DUCK_QUERY}
            sql: "SELECT count(*)::INTEGER AS n, '12:00' AS noon FROM range(5) WHERE range >= :minimum AND :label = 'x'"
            parameters:
              minimum: "{{{{ inputs.minimum }}}}"
              label: x
            fetchType: FETCH_ONE
    """)
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.row == {"n": 3, "noon": "12:00"}


def test_duckdb_input_files_working_dir_and_output_files(isolated_home, tmp_path):
    source = tmp_path / "prices.csv"
    source.write_text(CSV)
    uri = storage.put_file(source, isolated_home / "storage" / "uploads")
    ex = run_flow(f"""
        tasks:
          - id: q
            type: {DUCK_QUERIES}
            inputFiles:
              data.csv: "{uri}"
              inline.csv: |
                id,qty
                1,10
                3,30
            outputFiles: [report]
            sql: |
              CREATE TABLE p AS SELECT * FROM read_csv_auto('{{{{ workingDir }}}}/data.csv');
              CREATE TABLE q AS SELECT * FROM read_csv_auto('inline.csv');
              COPY (SELECT p.name, q.qty FROM p JOIN q USING (id) ORDER BY id) TO '{{{{ outputFiles.report }}}}' (HEADER, DELIMITER ',');
              SELECT sum(price) AS total FROM p;
            fetchType: FETCH_ONE
    """)
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.outputs == [{"row": {"total": pytest.approx(4.5)}, "size": 1}]
    report = ex.outputs.q.outputFiles["report"]
    assert storage.to_path(report).read_text().splitlines() == ["name,qty", "apple,10", "plum,30"]
    assert "databaseUri" not in ex.outputs.q


def test_duckdb_install_json_is_skipped_offline(isolated_home, tmp_path):
    source = tmp_path / "products.json"
    source.write_text('[{"brand": "a", "price": 10}, {"brand": "a", "price": 20}, {"brand": "b", "price": 5}]')
    uri = storage.put_file(source, isolated_home / "storage" / "uploads")
    ex = run_flow(f"""
        tasks:
          - id: query
            type: {DUCK_QUERIES}
            inputFiles:
              products.json: "{uri}"
            sql: |
              INSTALL json;
              LOAD json;
              SELECT brand, round(avg(price), 2) AS avg_price
              FROM read_json_auto('{{{{ workingDir }}}}/products.json')
              GROUP BY brand ORDER BY brand;
            fetchType: STORE
          - id: single
            type: {DUCK_QUERY}
            sql: "INSTALL json; LOAD json; SELECT 1 AS one"
            fetchType: FETCH_ONE
    """)
    assert ex.state == "SUCCESS", ex.taskrun("query").message
    assert "skipped INSTALL json: already available offline" in messages(ex, "query")
    [entry] = ex.outputs.query.outputs
    assert entry["size"] == 2
    assert read_ion(entry["uri"]) == [{"brand": "a", "avg_price": 15.0}, {"brand": "b", "avg_price": 5.0}]
    assert ex.outputs.single.row == {"one": 1}


def test_duckdb_queries_roll_back_when_a_statement_fails(tmp_path):
    database = tmp_path / "db" / "shop.duckdb"
    ex = run_flow(f"""
        tasks:
          - id: setup
            type: {DUCK_QUERY}
            url: "jdbc:duckdb:{database}"
            sql: CREATE TABLE items (id INTEGER)
          - id: broken
            type: {DUCK_QUERIES}
            url: "jdbc:duckdb:{database}"
            sql: |
              INSERT INTO items VALUES (1);
              SELECT * FROM no_such_table;
    """)
    assert ex.state == "FAILED"
    message = ex.taskrun("broken").message
    assert message.startswith("SQL error in statement 2 of 2:") and "no_such_table" in message
    assert any(line.endswith("Statement: SELECT * FROM no_such_table") for line in messages(ex, "broken"))
    import duckdb

    with duckdb.connect(str(database)) as con:
        assert con.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_duckdb_database_file_round_trip_and_dbfilepath(tmp_path):
    ex = run_flow(f"""
        tasks:
          - id: make
            type: {DUCK_QUERY}
            sql: CREATE TABLE t AS SELECT 42 AS answer
            outputDbFile: true
          - id: read
            type: {DUCK_QUERY}
            databaseUri: "{{{{ outputs.make.databaseUri }}}}"
            sql: SELECT answer FROM t
            fetchType: FETCH_ONE
          - id: path
            type: {DUCK_QUERY}
            url: "jdbc:duckdb:{tmp_path}/p.db"
            sql: "SELECT '{{{{ dbFilePath }}}}' AS db, '{{{{ workingDir }}}}' AS wd"
            fetchType: FETCH_ONE
    """)
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
    ex = run_flow(f"""
        tasks:
          - id: fill
            type: {LITE_QUERIES}
            url: jdbc:sqlite:shop.db
            outputDbFile: true
            sql: |
              CREATE TABLE items (id INTEGER, name TEXT, price REAL);
              INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'pear', 2.25), (3, 'plum', 0.75);
              SELECT count(*) AS n FROM items;
            fetchType: FETCH_ONE
          - id: one
            type: {LITE_QUERY}
            url: jdbc:sqlite:copy.db
            sqliteFile: "{{{{ outputs.fill.databaseUri }}}}"
            sql: SELECT name FROM items WHERE price > :limit ORDER BY id
            parameters:
              limit: 1
            fetchType: FETCH
          - id: stored
            type: {LITE_QUERY}
            url: jdbc:sqlite:copy.db
            sqliteFile: "{{{{ outputs.fill.databaseUri }}}}"
            sql: SELECT id, name FROM items ORDER BY id
            store: true
          - id: memory
            type: {LITE_QUERY}
            url: "jdbc:sqlite::memory:"
            sql: SELECT 1 AS a WHERE 0
            fetchType: FETCH_ONE
    """)
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.fill.outputs == [{"row": {"n": 3}, "size": 1}]
    assert ex.outputs.one == {"rows": [{"name": "apple"}, {"name": "pear"}], "size": 2}
    assert read_ion(ex.outputs.stored.uri) == [{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"},
                                               {"id": 3, "name": "plum"}]
    assert ex.outputs.memory == {"row": None, "size": 0}


def test_sqlite_queries_roll_back_and_name_the_failing_statement(tmp_path):
    database = tmp_path / "t.db"
    ex = run_flow(f"""
        tasks:
          - id: setup
            type: {LITE_QUERY}
            url: "jdbc:sqlite:{database}"
            sql: CREATE TABLE t (id INTEGER PRIMARY KEY)
          - id: broken
            type: {LITE_QUERIES}
            url: "jdbc:sqlite:{database}"
            sql: |
              INSERT INTO t VALUES (1);
              INSERT INTO t VALUES (1);
    """)
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
