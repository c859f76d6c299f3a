"""Values never become SQL: CopyIn/CopyOut names are identifiers, against a real PostgreSQL."""

from __future__ import annotations

import pytest

from nb_orchestra import internal_storage

from ..conftest import run_flow
from ..test_jdbc_postgres import PG, defaults, put_text

INJECTIONS = [
    "t (id) FROM PROGRAM 'touch /tmp/nbo-pwned' --",
    "t; DROP TABLE t",
    'a.b.c',
    "",
]


@pytest.mark.parametrize("table", INJECTIONS)
def test_a_table_input_that_is_not_a_name_is_refused(pg_db, isolated_home, table):
    with pg_db.server.connect(pg_db.name) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (id int)")
    uri = put_text(isolated_home, "one.csv", "1\n")
    ex = run_flow(f"""
        inputs:
          - id: table
            type: STRING
        tasks:
          - id: load
            type: {PG}.CopyIn
            from: "{uri}"
    """ + '        table: "{{ inputs.table }}"\n' + defaults(pg_db), inputs={"table": table})
    assert ex.state == "FAILED"
    assert "is not a table name or schema.table" in ex.taskrun("load").message or "'table' is required" in \
        ex.taskrun("load").message
    with pg_db.server.connect(pg_db.name) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_names_mean_what_postgresql_makes_of_them_unquoted(pg_db, isolated_home):
    with pg_db.server.connect(pg_db.name) as conn:
        conn.execute("CREATE SCHEMA staging")
        conn.execute('CREATE TABLE staging.trips (VendorID text, "Odd Name" int)')
    uri = put_text(isolated_home, "trips.csv", "VendorID,Odd Name\n2,7\n")
    ex = run_flow(f"""
        tasks:
          - id: load
            type: {PG}.CopyIn
            from: "{uri}"
            table: Staging.Trips
            columns: [VendorID, '"Odd Name"']
            format: CSV
            header: true
          - id: dump
            type: {PG}.CopyOut
            table: staging.trips
            forceQuote: [vendorid]
            format: CSV
    """ + defaults(pg_db))
    assert ex.state == "SUCCESS", ex.taskrun("load").message
    assert internal_storage.to_path(ex.outputs.dump.uri).read_text() == '"2",7\n'
    assert 'COPY "staging"."trips" ("vendorid", "Odd Name") FROM STDIN' in "\n".join(
        log.message for log in ex.logs if log.level == "DEBUG")
