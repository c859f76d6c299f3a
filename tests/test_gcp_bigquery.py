"""io.kestra.plugin.gcp.bigquery.*: Google's official client against a local stand-in of the BigQuery
REST API (nb_orchestra/teaching/bigquery_standin.py), which checks every request body against BigQuery's published
schema, records the requests and answers as the API does. The course's flows 07_gcp_setup and
08_gcp_taxi run unchanged, with the GCS emulator for their Cloud Storage tasks."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import date, datetime, timezone
from typing import Any

import httpx
import pytest

import nb_orchestra
from nb_orchestra import internal_storage, set_secret
from nb_orchestra.errors import FlowValidationError
from nb_orchestra.plugins.ion import read_ion
from nb_orchestra.store.kv import StoreKV
from nb_orchestra.teaching import taxi_data
from nb_orchestra.teaching.bigquery_standin import ApiError, BigQueryStandin, QueryResult, check

from .conftest import flow_text, load_fixture, messages, put_text, run_fixture, run_flow
from .test_gcp_gcs import failure, leaks, service_account_key

PROJECT = "kestra-test"


@pytest.fixture
def standin(monkeypatch):
    server = BigQueryStandin()
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", server.url)
    yield server
    server.close()


def query_texts(standin: BigQueryStandin) -> list[str]:
    return [settings["query"] for settings in standin.job_configurations("query")]


# -- Query --------------------------------------------------------------------------------------------

def test_query_sends_kestras_job_configuration(standin):
    ex = run_fixture("valid/gcp_bigquery/query_job.yaml")
    assert ex.state == "SUCCESS", messages(ex)
    [job] = standin.bodies("POST", r"/projects/kestra-test/jobs$")
    assert job["configuration"] == {
        "query": {
            "query": "SELECT * FROM `trips.green` WHERE pickup_date = '2019-01-01'\n",
            "useLegacySql": False, "flattenResults": True, "priority": "INTERACTIVE",
            "destinationTable": {"projectId": PROJECT, "datasetId": "trips", "tableId": "green_20190101"},
            "writeDisposition": "WRITE_TRUNCATE", "createDisposition": "CREATE_IF_NEEDED",
            "timePartitioning": {"type": "DAY", "field": "pickup_date"},
            "clustering": {"fields": ["vendor", "zone"]},
            "schemaUpdateOptions": ["ALLOW_FIELD_ADDITION"], "maximumBytesBilled": "1000000",
        },
        "labels": {"kestra_namespace": "tests", "kestra_flow_id": "test",
                   "kestra_execution_id": ex.id.lower(), "kestra_task_id": "query", "team": "data"},
    }
    assert job["jobReference"]["location"] == "EU"
    assert ex.outputs["query"] == {
        "jobId": job["jobReference"]["jobId"],
        "destinationTable": {"project": PROJECT, "dataset": "trips", "table": "green_20190101"}}


TYPED_FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "INTEGER", "mode": "NULLABLE"},
    {"name": "ratio", "type": "FLOAT"},
    {"name": "fare", "type": "NUMERIC"},
    {"name": "paid", "type": "BOOLEAN"},
    {"name": "zone", "type": "STRING"},
    {"name": "day", "type": "DATE"},
    {"name": "pickup", "type": "TIMESTAMP"},
    {"name": "local", "type": "DATETIME"},
    {"name": "tags", "type": "STRING", "mode": "REPEATED"},
    {"name": "trip", "type": "RECORD", "fields": [
        {"name": "miles", "type": "FLOAT"}, {"name": "stops", "type": "INTEGER", "mode": "REPEATED"}]},
]
TYPED_ROWS: list[dict[str, Any]] = [
    {"f": [{"v": "7"}, {"v": "0.25"}, {"v": "12.50"}, {"v": "true"}, {"v": "Harlem"}, {"v": "2019-01-01"},
           {"v": "1546300800123456"}, {"v": "2019-01-01T10:30:00.250000"}, {"v": [{"v": "a"}, {"v": "b"}]},
           {"v": {"f": [{"v": "1.5"}, {"v": [{"v": "1"}, {"v": "2"}]}]}}]},
    {"f": [{"v": "8"}, {"v": None}, {"v": None}, {"v": "false"}, {"v": None}, {"v": None}, {"v": None},
           {"v": None}, {"v": []}, {"v": None}]},
]
FIRST_ROW: dict[str, Any] = {
    "id": 7, "ratio": 0.25, "fare": 12.5, "paid": True, "zone": "Harlem", "day": date(2019, 1, 1),
    "pickup": datetime(2019, 1, 1, 0, 0, 0, 123456, tzinfo=timezone.utc),
    "local": "2019-01-01T10:30:00.250000Z", "tags": ["a", "b"], "trip": {"miles": 1.5, "stops": [1, 2]}}
SECOND_ROW: dict[str, Any] = {
    "id": 8, "ratio": None, "fare": None, "paid": False, "zone": None, "day": None, "pickup": None,
    "local": None, "tags": [], "trip": None}


def test_rows_are_fetched_and_stored_with_kestras_conversions(standin):
    standin.result = QueryResult(TYPED_FIELDS, TYPED_ROWS)
    ex = run_fixture("valid/gcp_bigquery/query_results.yaml")
    assert ex.state == "SUCCESS", messages(ex)
    fetched = ex.outputs["fetch"]
    assert fetched["rows"] == [FIRST_ROW, SECOND_ROW] and fetched["size"] == 2
    assert list(fetched["rows"][0]) == [field["name"] for field in TYPED_FIELDS]  # schema order
    assert type(fetched["rows"][0]["fare"]) is float and type(fetched["rows"][0]["id"]) is int
    assert ex.outputs["one"]["row"] == FIRST_ROW and ex.outputs["one"]["size"] == 2
    stored = ex.outputs["store"]
    assert stored["size"] == 2 and stored["uri"].endswith(".ion")
    assert list(read_ion(internal_storage.to_path(stored["uri"]), "amazon.ion missing")) == [FIRST_ROW, SECOND_ROW]
    assert set(ex.outputs["none"]) == {"jobId", "destinationTable"}  # NONE: no rows, no size
    # Every query result was read through getQueryResults, with timestamps as int64 microseconds.
    reads = [r for r in standin.requests if "/queries/" in r.path and r.query.get("maxResults") != "0"]
    assert len(reads) == 3 and all(r.query["formatOptions.useInt64Timestamp"] == "True" for r in reads)


def test_a_bigquery_error_is_one_line_with_its_own_message_and_no_key(standin):
    key = service_account_key()
    standin.query_error = ("invalidQuery", 'Syntax error: Expected end of input but got identifier "SELCT" at [1:1]')
    set_secret("GCP_CREDS", key)
    try:
        ex = run_flow("""
            tasks:
              - id: query
                type: io.kestra.plugin.gcp.bigquery.Query
                sql: SELCT 1
                serviceAccount: "{{ secret('GCP_CREDS') }}"
        """)
    finally:
        set_secret("GCP_CREDS", None)
    assert ex.state == "FAILED"
    assert failure(ex, "query") == ('BigQuery: Syntax error: Expected end of input but got identifier "SELCT" '
                                    'at [1:1]')
    assert not any("Traceback" in text for text in messages(ex))
    private_key = json.loads(key)["private_key"]
    assert leaks(ex, private_key.splitlines()[1]) == [] and leaks(ex, private_key) == []
    assert len(standin.job_configurations("query")) == 1  # invalidQuery is not a reason to retry


def test_a_job_failing_for_a_retry_reason_is_created_again(standin):
    standin.query_error = ("backendError", "Backend error. Retrying the job may solve the problem.")
    ex = run_flow("""
        tasks:
          - id: query
            type: io.kestra.plugin.gcp.bigquery.Query
            sql: SELECT 1
            retryAuto:
              type: constant
              interval: PT0.05S
              maxAttempts: 3
    """)
    assert failure(ex, "query") == "BigQuery: Backend error. Retrying the job may solve the problem."
    assert len(standin.job_configurations("query")) == 3
    assert len([m for m in messages(ex, "query", "WARN") if "retrying in 0.05s" in m]) == 2


def test_a_dry_run_does_not_wait_for_the_job(standin):
    ex = run_flow("""
        tasks:
          - id: query
            type: io.kestra.plugin.gcp.bigquery.Query
            sql: SELECT 1
            fetchType: FETCH
            dryRun: true
    """)
    assert ex.state == "SUCCESS", messages(ex)
    [job] = standin.bodies("POST", r"/jobs$")
    assert job["configuration"]["dryRun"] is True
    assert "rows" not in ex.outputs["query"]
    assert not [r for r in standin.requests if "/queries/" in r.path]


def test_a_timeout_cancels_the_running_job(standin):
    standin.hold_jobs = True
    ex = run_flow("""
        tasks:
          - id: query
            type: io.kestra.plugin.gcp.bigquery.Query
            sql: SELECT 1
            timeout: PT2S
    """)
    assert ex.state == "FAILED" and ex.taskrun("query").state == "FAILED"
    [job] = standin.bodies("POST", r"/jobs$")
    deadline = time.monotonic() + 5  # the task body notices the timeout within a second, after the run ended
    while not (cancels := [r.path for r in standin.requests if r.path.endswith("/cancel")]):
        assert time.monotonic() < deadline, "the job was not cancelled"
        time.sleep(0.1)
    assert cancels == [f"/bigquery/v2/projects/local-project/jobs/{job['jobReference']['jobId']}/cancel"]
    assert standin.jobs["local-project", job["jobReference"]["jobId"]]["status"]["errorResult"]["reason"] == "stopped"


# -- datasets and tables ------------------------------------------------------------------------------

def test_create_dataset_if_exists_skip_update_error_and_delete(standin):
    ex = run_fixture("valid/gcp_bigquery/datasets.yaml")
    assert ex.state == "WARNING", messages(ex)
    [created] = standin.bodies("POST", r"/projects/kestra-test/datasets$")[:1]
    assert created == {
        "datasetReference": {"projectId": PROJECT, "datasetId": "trips"}, "location": "EU",
        "description": "NYC trips", "friendlyName": "Trips", "defaultTableExpirationMs": "86400000",
        "labels": {"course": "zoomcamp"}, "access": [{"role": "READER", "userByEmail": "alice@example.com"}]}
    assert ex.outputs["create"] == {"dataset": "trips", "project": PROJECT, "friendlyName": "Trips",
                                    "description": "NYC trips", "location": "EU"}
    assert ex.outputs["again_skip"]["friendlyName"] == "Trips"  # SKIP: kept as it is
    [patch] = standin.bodies("PATCH", r"/datasets/trips$")
    assert patch == {"friendlyName": "Renamed", "location": "EU"}
    assert ex.outputs["again_update"]["friendlyName"] == "Renamed"
    assert failure(ex, "again_error") == "BigQuery: Already Exists: Dataset kestra-test:trips"
    assert ex.outputs["delete"] == {"dataset": "trips"} and not standin.datasets
    assert failure(ex, "delete_missing") == "BigQuery: Not found: Dataset kestra-test:trips"


def test_tables_created_described_and_deleted(standin):
    ex = run_fixture("valid/gcp_bigquery/tables.yaml")
    assert ex.state == "WARNING", messages(ex)
    [body] = standin.bodies("POST", r"/datasets/trips/tables$")
    expires = int(body.pop("expirationTime"))
    assert abs(expires / 1000 - datetime.now(timezone.utc).timestamp() - 86400) < 120
    assert body == {
        "tableReference": {"projectId": PROJECT, "datasetId": "trips", "tableId": "green"},
        "schema": {"fields": [
            {"name": "vendor", "type": "INTEGER", "mode": "REQUIRED"},
            {"name": "pickup", "type": "TIMESTAMP", "description": "When the meter was engaged"},
            {"name": "fare", "type": "RECORD", "fields": [{"name": "amount", "type": "NUMERIC"},
                                                          {"name": "tip", "type": "FLOAT"}]}]},
        "clustering": {"fields": ["vendor"]},
        "timePartitioning": {"type": "DAY", "expirationMs": "2592000000", "field": "pickup"},
        "friendlyName": "Green trips", "labels": {"color": "green"}}
    metadata = ex.outputs["metadata"]
    assert (metadata["projectId"], metadata["datasetId"], metadata["table"]) == (PROJECT, "trips", "green")
    assert metadata["generatedId"] == "kestra-test:trips.green" and metadata["numRows"] == 0
    assert metadata["friendlyName"] == "Green trips" and metadata["labels"] == {"color": "green"}
    assert metadata["expirationTime"].timestamp() == expires / 1000
    definition = metadata["definition"]
    assert definition["type"] == "TABLE"
    assert definition["schema"]["fields"][0] == {"name": "vendor", "type": "INT64", "subFields": None,
                                                 "mode": "REQUIRED", "description": None, "policyTags": None}
    assert [sub["name"] for sub in definition["schema"]["fields"][2]["subFields"]] == ["amount", "tip"]
    assert definition["standardTableDefinition"]["clustering"] == ["vendor"]
    assert definition["standardTableDefinition"]["timePartitioning"]["field"] == "pickup"
    assert failure(ex, "delete_dataset_in_use") == "BigQuery: Dataset kestra-test:trips is still in use"
    assert ex.outputs["delete"] == {"projectId": PROJECT, "datasetId": "trips", "table": "green"}
    assert ex.outputs.get("metadata_skip", {}) == {}
    assert failure(ex, "metadata_missing") == "Unable to find table 'kestra-test:trips.green'"
    assert ex.taskrun("delete_all").state == "SUCCESS" and not standin.datasets
    assert [r.query.get("deleteContents") for r in standin.requests if r.method == "DELETE"
            and r.path.endswith("/datasets/trips")] == [None, "true"]


# -- loads, extracts and copies -----------------------------------------------------------------------

def test_load_uploads_a_kestra_file_with_its_configuration(standin, isolated_home):
    standin.add_dataset(PROJECT, "trips")
    uri = put_text(isolated_home, "zones.csv", "id;zone\n1;Harlem\n2;SoHo\n3;Astoria\n")
    ex = run_fixture("valid/gcp_bigquery/load.yaml", inputs={"file": uri})
    assert ex.state == "SUCCESS", messages(ex)
    [upload] = [r for r in standin.requests if r.path.startswith("/upload/")]
    assert upload.query["uploadType"] == "multipart"
    assert upload.data == b"id;zone\n1;Harlem\n2;SoHo\n3;Astoria\n"
    assert upload.body["configuration"] == {"load": {
        "destinationTable": {"projectId": PROJECT, "datasetId": "trips", "tableId": "zones"},
        "writeDisposition": "WRITE_APPEND", "sourceFormat": "CSV", "fieldDelimiter": ";",
        "skipLeadingRows": 1, "allowQuotedNewlines": True,
        "schema": {"fields": [{"name": "id", "type": "INTEGER"}, {"name": "zone", "type": "STRING"}]}}}
    assert ex.outputs["load"] == {"jobId": upload.body["jobReference"]["jobId"],
                                  "destinationTable": "kestra-test.trips.zones", "rows": 3}


def test_a_file_of_more_than_5_mib_goes_as_a_resumable_upload(standin, isolated_home):
    standin.add_dataset(PROJECT, "trips")
    text = "id;zone\n" + "".join(f"{number};zone number {number}\n" for number in range(400_000))
    assert len(text) > 5 * 1024 * 1024
    ex = run_fixture("valid/gcp_bigquery/load.yaml", inputs={"file": put_text(isolated_home, "big.csv", text)})
    assert ex.state == "SUCCESS", messages(ex)
    uploads = [r for r in standin.requests if r.path.startswith("/upload/")]
    assert [(r.method, r.query["uploadType"]) for r in uploads][:2] == [("POST", "resumable"), ("PUT", "resumable")]
    assert uploads[0].body["configuration"]["load"]["skipLeadingRows"] == 1
    assert b"".join(r.data for r in uploads[1:]) == text.encode()
    assert ex.outputs["load"]["rows"] == 400_000


def test_load_of_an_empty_file_fails_unless_asked_not_to(standin, isolated_home):
    uri = put_text(isolated_home, "empty.csv", "")
    flow = """
        inputs:
          - id: file
            type: FILE
        tasks:
          - id: load
            type: io.kestra.plugin.gcp.bigquery.Load
            from: "{{ inputs.file }}"
            destinationTable: trips.zones
            format: CSV
            csvOptions: {}
            failedOnEmpty: %s
    """
    ex = run_flow(flow % "true", inputs={"file": uri})
    assert failure(ex, "load") == "Can't load an empty file and this one doesn't contain any data"
    skipped = run_flow(flow % "false", inputs={"file": uri})
    assert skipped.outputs["load"] == {"rows": 0} and not standin.requests


def test_load_from_gcs_copy_and_extract_send_their_jobs(standin):
    standin.add_dataset(PROJECT, "trips")
    standin.gcs_load_rows = 1234
    ex = run_fixture("valid/gcp_bigquery/gcs_jobs.yaml")
    assert ex.state == "SUCCESS", messages(ex)
    [load] = standin.job_configurations("load")
    assert load == {
        "destinationTable": {"projectId": PROJECT, "datasetId": "trips", "tableId": "green"},
        "sourceUris": ["gs://zoomcamp/green_tripdata_2019-01.csv", "gs://zoomcamp/green_tripdata_2019-02.csv"],
        "timePartitioning": {"type": "MONTH", "field": "pickup"}, "autodetect": True,
        "ignoreUnknownValues": True, "sourceFormat": "CSV", "skipLeadingRows": 1}
    assert ex.outputs["load"]["rows"] == 1234 and ex.outputs["load"]["destinationTable"] == "kestra-test.trips.green"
    [copy] = standin.job_configurations("copy")
    assert copy == {"sourceTables": [{"projectId": PROJECT, "datasetId": "trips", "tableId": "green"}],
                    "destinationTable": {"projectId": PROJECT, "datasetId": "trips", "tableId": "green_backup"},
                    "writeDisposition": "WRITE_EMPTY", "operationType": "SNAPSHOT"}
    [extract] = standin.job_configurations("extract")
    assert extract == {"sourceTable": {"projectId": PROJECT, "datasetId": "trips", "tableId": "green_backup"},
                       "destinationUris": ["gs://zoomcamp/export/green-*.csv"], "compression": "GZIP",
                       "fieldDelimiter": ";", "destinationFormat": "CSV", "printHeader": True}
    assert ex.outputs["extract"] == {"jobId": ex.outputs["extract"]["jobId"], "sourceTable": "green_backup",
                                     "destinationUris": ["gs://zoomcamp/export/green-*.csv"], "fileCounts": [1]}
    jobs = standin.bodies("POST", r"/jobs$")
    assert [job["configuration"].get("labels", {}).get("kestra_task_id") for job in jobs] == [None, "copy", "extract"]
    assert ex.outputs["copy"]["jobId"] == jobs[1]["jobReference"]["jobId"]


def test_a_job_on_a_missing_table_fails_with_bigquerys_message(standin):
    standin.add_dataset(PROJECT, "trips")
    ex = run_flow("""
        tasks:
          - id: extract
            type: io.kestra.plugin.gcp.bigquery.ExtractToGcs
            projectId: kestra-test
            sourceTable: trips.nowhere
            destinationUris: [gs://zoomcamp/out.csv]
    """)
    assert failure(ex, "extract") == "BigQuery: Not found: Table kestra-test:trips.nowhere"


@pytest.mark.parametrize("task, where, message", [
    ("type: io.kestra.plugin.gcp.bigquery.Query\n    sql: SELECT 1\n    fetch: true\n    store: true", "store",
     "Invalid store with fetch or fetchOne properties, you can't have both defined."),
    ("type: io.kestra.plugin.gcp.bigquery.Query\n    sql: SELECT 1\n    fetchOne: true\n    destinationTable: d.t",
     "destinationTable", "you can't fetch data when destinationTable is defined"),
    ("type: io.kestra.plugin.gcp.bigquery.LoadFromGcs\n    from: [gs://b/f.csv]\n    destinationTable: d.t\n"
     "    format: CSV", "csvOptions", "missing csv option with CSV fileType"),
])
def test_kestras_save_time_checks(task, where, message):
    with pytest.raises(FlowValidationError) as caught:
        nb_orchestra.load_flow(flow_text(f"tasks:\n  - id: job\n    {task}\n"))
    assert where in str(caught.value) and message in str(caught.value)


# -- the stand-in itself ----------------------------------------------------------------------------

def test_the_standin_rejects_fields_and_types_the_rest_schema_does_not_have(standin):
    with pytest.raises(ApiError, match="Unknown name \"destinationTabel\" at 'job.configuration.query'"):
        check({"configuration": {"query": {"query": "SELECT 1", "destinationTabel": {}}}}, {"$ref": "Job"}, "job")
    with pytest.raises(ApiError, match=r"Invalid value at 'job.configuration.query.maximumBytesBilled'"):
        check({"configuration": {"query": {"maximumBytesBilled": 1000}}}, {"$ref": "Job"}, "job")
    with pytest.raises(ApiError, match=r"Invalid value at 'job.configuration.load.skipLeadingRows' \(int32\)"):
        check({"configuration": {"load": {"skipLeadingRows": "1"}}}, {"$ref": "Job"}, "job")
    answer = httpx.post(f"{standin.url}/bigquery/v2/projects/p/datasets",
                        json={"datasetReference": {"projectId": "p", "datasetId": "d"}, "colour": "red"})
    assert answer.status_code == 400 and "Unknown name \"colour\"" in answer.json()["error"]["message"]
    assert not standin.datasets


# -- the course's flows -----------------------------------------------------------------------------

COURSE_KV = {"GCP_PROJECT_ID": "kestra-sandbox", "GCP_DATASET": "zoomcamp_dataset",
             "GCP_BUCKET_NAME": "zoomcamp-bucket", "GCP_LOCATION": "europe-west2"}


@pytest.fixture
def course(standin, monkeypatch):
    """The course's KV values and GCP_CREDS secret, BigQuery's stand-in and the GCS emulator."""
    from nb_orchestra.teaching.gcs_emulator import GcsEmulator

    for key, value in COURSE_KV.items():
        StoreKV().set("zoomcamp", key, value)
    key = service_account_key()
    set_secret("GCP_CREDS", key)
    with GcsEmulator() as gcs:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
        yield key
    set_secret("GCP_CREDS", None)


def test_the_course_setup_creates_its_bucket_and_dataset(standin, course):
    ex = run_fixture("valid/course_gcp/07_gcp_setup.yaml")
    assert ex.state == "SUCCESS", messages(ex)
    assert standin.bodies("POST", r"/projects/kestra-sandbox/datasets$") == [{
        "datasetReference": {"projectId": "kestra-sandbox", "datasetId": "zoomcamp_dataset"},
        "location": "europe-west2"}]
    assert ex.outputs["create_bq_dataset"] == {"dataset": "zoomcamp_dataset", "project": "kestra-sandbox",
                                               "friendlyName": None, "description": None,
                                               "location": "europe-west2"}
    assert ex.outputs["create_gcs_bucket"]["bucket"]["name"] == "zoomcamp-bucket"
    again = run_fixture("valid/course_gcp/07_gcp_setup.yaml")  # ifExists: SKIP on both
    assert again.state == "SUCCESS", messages(again)
    assert leaks(ex, json.loads(course)["private_key"].splitlines()[1]) == []


def test_the_course_taxi_flow_sends_its_green_queries(standin, course, tmp_path, monkeypatch):
    # No internet: the extract step's `wget` is a local program giving the course's file layout.
    data = taxi_data.write_month(tmp_path / "releases", "green", 2019, 1, rows=60)
    fake = tmp_path / "bin" / "wget"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ncat '{data}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    setup = run_fixture("valid/course_gcp/07_gcp_setup.yaml")
    assert setup.state == "SUCCESS", messages(setup)

    ex = run_fixture("valid/course_gcp/08_gcp_taxi.yaml", inputs={"taxi": "green", "year": "2019", "month": "01"})
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs["upload_to_gcs"]["uri"] == "gs://zoomcamp-bucket/green_tripdata_2019-01.csv"
    create, external, table, merge = query_texts(standin)
    assert create.startswith("CREATE TABLE IF NOT EXISTS `kestra-sandbox.zoomcamp_dataset.green_tripdata`\n(\n")
    assert create.rstrip().endswith("PARTITION BY DATE(lpep_pickup_datetime);")
    assert external.startswith(
        "CREATE OR REPLACE EXTERNAL TABLE `kestra-sandbox.zoomcamp_dataset.green_tripdata_2019_01_ext`\n")
    assert "    uris = ['gs://zoomcamp-bucket/green_tripdata_2019-01.csv'],\n" in external
    assert table.startswith("CREATE OR REPLACE TABLE `kestra-sandbox.zoomcamp_dataset.green_tripdata_2019_01`\n")
    assert '  "green_tripdata_2019-01.csv" AS filename,\n' in table
    assert table.rstrip().endswith("FROM `kestra-sandbox.zoomcamp_dataset.green_tripdata_2019_01_ext`;")
    assert merge.startswith("MERGE INTO `kestra-sandbox.zoomcamp_dataset.green_tripdata` T\n"
                            "USING `kestra-sandbox.zoomcamp_dataset.green_tripdata_2019_01` S\n")
    assert not any("{{" in text or "}}" in text for text in (create, external, table, merge))
    jobs = standin.bodies("POST", r"/projects/kestra-sandbox/jobs$")
    assert [job["configuration"]["labels"]["kestra_task_id"] for job in jobs] == [
        "bq_green_tripdata", "bq_green_table_ext", "bq_green_table_tmp", "bq_green_merge"]
    assert {job["jobReference"]["location"] for job in jobs} == {"europe-west2"}
    assert all(job["configuration"]["labels"]["kestra_flow_id"] == "08_gcp_taxi" for job in jobs)
    assert leaks(ex, json.loads(course)["private_key"].splitlines()[1]) == []


def test_the_course_taxi_flows_load_unchanged():
    for name in ("08_gcp_taxi", "09_gcp_taxi_scheduled"):
        flow = nb_orchestra.load_flow(load_fixture(f"valid/course_gcp/{name}.yaml"))
        assert flow.id == name


@pytest.mark.parametrize("task, where, message", [
    ("{type: io.kestra.plugin.gcp.bigquery.CreateTable, dataset: trips, table: t,"
     " tableDefinition: {type: TABLE, schema: {fields: [vendor]}}}",
     "tableDefinition.schema.fields[0]", "expected a map, got 'vendor'"),
    ("{type: io.kestra.plugin.gcp.bigquery.CreateTable, dataset: trips, table: t,"
     " tableDefinition: {type: TABLE, schema: {fields: {name: vendor}}}}",
     "tableDefinition.schema.fields", "expected a list, got {'name': 'vendor'}"),
    ("{type: io.kestra.plugin.gcp.bigquery.CreateTable, dataset: trips, table: t,"
     " tableDefinition: {type: TABLE, standardTableDefinition: {timePartitioning: DAY}}}",
     "timePartitioning", "expected a map, got 'DAY'"),
    ("{type: io.kestra.plugin.gcp.bigquery.CreateTable, dataset: trips, table: t,"
     " tableDefinition: {type: EXTERNAL, externalTableDefinition: {sourceUris: [gs://b/x.csv], maxBadRecords: many}}}",
     "externalTableDefinition.maxBadRecords", "expected a whole number, got 'many'"),
    ("{type: io.kestra.plugin.gcp.bigquery.Load, from: 'kestra:///x.csv', destinationTable: trips.zones,"
     " format: CSV, csvOptions: {skipLeadingRows: one}}",
     "csvOptions.skipLeadingRows", "expected a whole number, got 'one'"),
])
def test_a_malformed_nested_spec_fails_in_one_line_naming_it(standin, isolated_home, task, where, message):
    standin.add_dataset(PROJECT, "trips")
    uri = put_text(isolated_home, "x.csv", "id\n1\n")
    ex = run_flow(f"tasks:\n  - {{id: bad, {task[1:].replace('kestra:///x.csv', uri)}\n")
    assert ex.state == "FAILED"
    assert failure(ex, "bad") == f"property '{where}': {message}"
    assert not any("Traceback" in log.message for log in ex.logs)
