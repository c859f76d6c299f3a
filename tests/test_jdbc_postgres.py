"""PostgreSQL tasks against a real throwaway server (tests/pg_server.py): queries, COPY, the course's ETL."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

from amazon.ion import simpleion

from nb_orchestra import internal_storage

from .conftest import messages, put_text, run_fixture
from .pg_server import PASSWORD, USER

PG = "io.kestra.plugin.jdbc.postgresql"


def connection(db, password: str = PASSWORD) -> dict:
    """The inputs the flows' pluginDefaults (on the type prefix, as the course sets url and
    credentials once) read: the test database's URL, user and password."""
    return {"url": db.url, "username": USER, "password": password}


def defaults(db, password: str = PASSWORD) -> str:
    """pluginDefaults on the type prefix with the URL and credentials written in, for a flow built
    inline (tests/security/test_sql_identifiers.py); the flows under tests/flows/ take them as inputs."""
    return f"""
        pluginDefaults:
          - type: {PG}
            values:
              url: "{db.url}"
              username: {USER}
              password: "{password}"
    """


def test_query_fetch_types_python_values_and_prefix_defaults(pg_db):
    ex = run_fixture("valid/jdbc_postgres/fetch_types.yaml", inputs=connection(pg_db))
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.one == {"row": {"amount": Decimal("12.50"), "day": date(2024, 1, 2),
                                      "at": datetime(2024, 1, 2, 3, 4, 5), "label": "x", "nothing": None},
                              "size": 1}
    assert ex.outputs.all == {"rows": [{"n": 1}, {"n": 2}, {"n": 3}], "size": 3}
    assert ex.outputs.stored.size == 1
    text = internal_storage.to_path(ex.outputs.stored.uri).read_text()
    row = simpleion.loads(text.strip())
    assert row["amount"] == Decimal("12.50") and 'LocalDateTime::"2024-01-02T03:04:05"' in text
    assert "none" not in ex.outputs
    assert ex.outputs.empty == {"row": None, "size": 0}


def test_queries_outputs_list_and_named_parameters(pg_db):
    ex = run_fixture("valid/jdbc_postgres/named_parameters.yaml", inputs=connection(pg_db))
    assert ex.state == "SUCCESS", ex.taskrun("q").message
    assert ex.outputs.q.outputs == [
        {"rows": [{"n": 3}], "size": 1},
        {"rows": [{"name": "item 2%", "rest": 2}, {"name": "item 3%", "rest": 2}, {"name": "item 4%", "rest": 2}],
         "size": 3},
    ]


def test_queries_error_in_second_statement_rolls_back_the_first(pg_db):
    with pg_db.server.connect(pg_db.name) as conn:
        conn.execute("CREATE TABLE audit (id int)")
    ex = run_fixture("valid/jdbc_postgres/roll_back.yaml", inputs=connection(pg_db))
    assert ex.state == "FAILED"
    assert ex.taskrun("q").message.startswith('SQL error in statement 2 of 3: relation "missing_table" does not exist')
    assert any("Statement: INSERT INTO missing_table VALUES (2)" in m for m in messages(ex, "q"))
    assert pg_db.query("SELECT count(*) FROM audit") == [(0,)]


def test_wrong_password_and_unreachable_server_fail_clearly(pg_db):
    ex = run_fixture("valid/jdbc_postgres/select_one.yaml", inputs=connection(pg_db, password="wrong"))
    assert ex.state == "FAILED"
    message = ex.taskrun("q").message
    assert message.startswith("Cannot connect to PostgreSQL:")
    assert f'password authentication failed for user "{USER}"' in message

    closed = pg_db.url.replace(f":{pg_db.server.port}/", ":1/")
    ex = run_fixture("valid/jdbc_postgres/unreachable.yaml", inputs={"url": closed})
    assert ex.state == "FAILED"
    assert ex.taskrun("q").message.startswith("Cannot connect to PostgreSQL:")
    assert "refused" in ex.taskrun("q").message


def test_copy_in_missing_file_and_copy_out(pg_db):
    with pg_db.server.connect(pg_db.name) as conn:
        conn.execute("CREATE TABLE t (id int, name text)")
        conn.execute("INSERT INTO t VALUES (1, 'a'), (2, NULL)")
    ex = run_fixture("valid/jdbc_postgres/copy_in_and_out.yaml", inputs=connection(pg_db))
    assert ex.taskrun("missing").state == "WARNING"
    assert ex.taskrun("missing").message == \
        "property 'from': Unable to find file 'kestra:///tests/none/file.csv'"
    assert ex.outputs.table_out.rowCount == 2
    assert internal_storage.to_path(ex.outputs.table_out.uri).read_text() == "id,name\n1,a\n2,\n"
    assert ex.outputs.query_out.rowCount == 2
    assert internal_storage.to_path(ex.outputs.query_out.uri).read_text() == "a\n-\n"


TAXI_COLUMNS = [
    "VendorID", "lpep_pickup_datetime", "lpep_dropoff_datetime", "store_and_fwd_flag", "RatecodeID",
    "PULocationID", "DOLocationID", "passenger_count", "trip_distance", "fare_amount", "extra", "mta_tax",
    "tip_amount", "tolls_amount", "ehail_fee", "improvement_surcharge", "total_amount", "payment_type",
    "trip_type", "congestion_surcharge",
]
TAXI_ROWS = [
    "2,2019-01-01 00:10:16,2019-01-01 00:16:32,N,1,97,49,2,.86,6,0.5,0.5,0,0,,0.3,7.3,2,1,0",
    "2,2019-01-01 00:27:11,2019-01-01 00:31:38,N,1,49,189,2,.66,4.5,0.5,0.5,0,0,,0.3,5.8,1,1,0",
    "1,2019-01-01 00:46:20,2019-01-01 01:04:54,N,1,189,17,2,2.68,13.5,0.5,0.5,2.96,0,,0.3,17.76,1,1,0",
    ",2019-01-01 00:00:00,2019-01-01 00:00:00,,,,,,,,,,,,,,,,,",
]


def test_taxi_etl_twice_keeps_the_main_table_unchanged(pg_db, isolated_home):
    header = ",".join(TAXI_COLUMNS)
    uri = put_text(isolated_home, "green_tripdata_2019-01.csv", "\n".join([header, *TAXI_ROWS]) + "\n")
    inputs = {**connection(pg_db), "data": uri}
    first = run_fixture("valid/jdbc_postgres/taxi.yaml", inputs=inputs)
    assert first.state == "SUCCESS", [(r.task_id, r.message) for r in first.taskruns]
    assert first.outputs.copy_in.rowCount == len(TAXI_ROWS)
    main = "SELECT count(*), count(DISTINCT unique_row_id), min(filename) FROM public.green_tripdata"
    assert pg_db.query(main) == [(4, 4, "green_tripdata_2019-01.csv")]
    assert pg_db.query("SELECT sum(total_amount)::numeric(10,2) FROM public.green_tripdata") == [(Decimal("30.86"),)]

    second = run_fixture("valid/jdbc_postgres/taxi.yaml", inputs=inputs)
    assert second.state == "SUCCESS", [(r.task_id, r.message) for r in second.taskruns]
    assert pg_db.query(main) == [(4, 4, "green_tripdata_2019-01.csv")]
    assert pg_db.query("SELECT count(*) FROM public.green_tripdata_staging") == [(4,)]


def test_timeout_cancels_the_running_statement(pg_db):
    ex = run_fixture("valid/jdbc_postgres/timeout.yaml", inputs=connection(pg_db))
    assert ex.state == "FAILED"
    assert (ex.end_date - ex.start_date).total_seconds() < 10
    running = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'"
    deadline = time.monotonic() + 5
    while pg_db.query(running) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pg_db.query(running) == [(0,)]
