"""A local stand-in for the BigQuery v2 REST API, for the tests of io.kestra.plugin.gcp.bigquery.* and
the offline path of the cloud notebook.

Not an emulator: it runs no SQL. It speaks the part of the API the official Python client uses
(datasets insert/get/patch/delete, tables insert/get/delete, jobs insert/get/cancel,
getQueryResults, jobs.query, tabledata.list, multipart and resumable uploads), keeps datasets and tables in memory
(so 404 and 409 answers come as BigQuery gives them), answers every query job with the result a
test configured, and records every request. Each request body is checked against BigQuery's
published REST schema (google-api-python-client's discovery document ``bigquery.v2.json``): a field
the schema does not know, or a value of the wrong JSON type, is answered 400 as BigQuery answers
an invalid payload. Without google-api-python-client (a development dependency) nothing is checked.

Point the client at it with ``BIGQUERY_EMULATOR_HOST=<standin.url>``.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@functools.cache
def _schemas() -> dict[str, Any] | None:
    """BigQuery's published schemas (the discovery document), or None without google-api-python-client."""
    try:
        import googleapiclient  # type: ignore[import-untyped]
    except ImportError:
        return None
    documents = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    return json.loads((documents / "bigquery.v2.json").read_text(encoding="utf-8"))["schemas"]


class ApiError(Exception):
    """An answer with an error: BigQuery's error shape."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def body(self) -> dict[str, Any]:
        status = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status,
                          "errors": [{"message": self.message, "domain": "global", "reason": self.reason}]}}


# -- the schema check ------------------------------------------------------------------------------

def check(value: Any, schema: dict[str, Any], where: str) -> None:
    """Raise ApiError(400) when ``value`` does not fit ``schema`` (a discovery document schema)."""
    schemas = _schemas()
    if schemas is None:
        return
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            raise _invalid(where, "object")
        known = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in known:
                check(item, known[key], f"{where}.{key}")
            elif extra is not None:
                check(item, extra, f"{where}[{key!r}]")
            else:
                raise ApiError(400, "invalid", f"Invalid JSON payload received. Unknown name \"{key}\" at "
                                               f"'{where}': Cannot find field.")
        return
    if kind == "array":
        if not isinstance(value, list):
            raise _invalid(where, "list")
        for number, item in enumerate(value):
            check(item, schema["items"], f"{where}[{number}]")
        return
    if kind == "boolean" and not isinstance(value, bool):
        raise _invalid(where, "bool")
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise _invalid(where, "int32")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise _invalid(where, "number")
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(where, "string")
        if schema.get("format") in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
            raise _invalid(where, "int64 (a decimal string)")


def _invalid(where: str, expected: str) -> ApiError:
    return ApiError(400, "invalid", f"Invalid JSON payload received. Invalid value at '{where}' ({expected})")


# -- the stand-in ----------------------------------------------------------------------------------

@dataclass
class Request:
    """One request as the stand-in received it."""

    method: str
    path: str                    # without the query string, e.g. /bigquery/v2/projects/p/jobs
    query: dict[str, str]
    body: Any = None             # the parsed JSON body (an upload's metadata part)
    data: bytes = b""            # an upload's data


@dataclass
class QueryResult:
    """What every query job answers: a schema (fields as the API gives them) and rows in the
    API's ``{"f": [{"v": ...}]}`` shape; ``statement_type`` as BigQuery reports it."""

    fields: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    statement_type: str = "SELECT"


_DATASETS = re.compile(r"/bigquery/v2/projects/([^/]+)/datasets(?:/([^/]+))?$")
_TABLES = re.compile(r"/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables(?:/([^/]+))?(/data)?$")
_JOBS = re.compile(r"/bigquery/v2/projects/([^/]+)/(jobs|queries)(?:/([^/]+))?(/cancel)?$")
_UPLOAD = re.compile(r"/upload/bigquery/v2/projects/([^/]+)/jobs$")


class BigQueryStandin:
    """The server's state: datasets, tables, jobs, the configured query result, the requests."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.datasets: dict[tuple[str, str], dict[str, Any]] = {}
        self.tables: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.result = QueryResult()
        self.query_error: tuple[str, str] | None = None  # (reason, message) of every query job
        self.gcs_load_rows = 0                            # outputRows of a load from gs:// URIs
        self.hold_jobs = False                            # jobs stay RUNNING until cancelled
        self._uploads: dict[str, tuple[str, dict[str, Any], bytearray]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_dataset(self, project: str, name: str) -> None:
        """A dataset made beforehand (as if created in the console)."""
        self._route(Request("POST", f"/bigquery/v2/projects/{project}/datasets", {},
                            {"datasetReference": {"projectId": project, "datasetId": name}}))

    def bodies(self, method: str, pattern: str) -> list[Any]:
        """The bodies of the recorded requests of ``method`` whose path matches ``pattern``."""
        return [r.body for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def job_configurations(self, kind: str) -> list[dict[str, Any]]:
        """The ``configuration.<kind>`` of every job created (inserted or uploaded), in order."""
        jobs = [r.body for r in self.requests if r.method == "POST" and r.body and "configuration" in r.body
                and re.search(r"/projects/[^/]+/jobs$", r.path)]
        return [job["configuration"][kind] for job in jobs if kind in job["configuration"]]

    # -- the API ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body or None, headers) for one request."""
        with self._lock:
            self.requests.append(request)
            try:
                return self._route(request)
            except ApiError as error:
                return error.code, error.body(), {}

    def _route(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        if match := _UPLOAD.fullmatch(r.path):
            return self._upload(match[1], r)
        if match := _TABLES.fullmatch(r.path):
            project, dataset, table, data = match.groups()
            if data:
                return 200, self._table_data(project, dataset, table), {}
            return self._table(r, project, dataset, table)
        if match := _DATASETS.fullmatch(r.path):
            return self._dataset(r, match[1], match[2])
        if match := _JOBS.fullmatch(r.path):
            project, collection, job_id, cancel = match.groups()
            if cancel and r.method == "POST":
                return 200, self._cancel(project, str(job_id)), {}
            if collection == "jobs" and r.method == "POST" and job_id is None:
                check(r.body, {"$ref": "Job"}, "job")
                return 200, self._run_job(project, r.body), {}
            if collection == "jobs" and r.method == "GET" and job_id:
                return 200, self._job(project, job_id), {}
            if collection == "queries" and r.method == "GET" and job_id:
                return 200, self._query_results(project, job_id, r.query), {}
            if collection == "queries" and r.method == "POST" and job_id is None:
                check(r.body, {"$ref": "QueryRequest"}, "query_request")
                return 200, self._jobs_query(project, r.body), {}
        raise ApiError(404, "notFound", f"Not found: URL {r.method} {r.path}")

    # datasets

    def _dataset(self, r: Request, project: str, name: str | None) -> tuple[int, Any, dict[str, str]]:
        if r.method == "POST" and name is None:
            check(r.body, {"$ref": "Dataset"}, "dataset")
            name = r.body["datasetReference"]["datasetId"]
            if (project, name) in self.datasets:
                raise ApiError(409, "duplicate", f"Already Exists: Dataset {project}:{name}")
            now = _millis()
            self.datasets[project, name] = {
                **r.body, "kind": "bigquery#dataset", "id": f"{project}:{name}", "etag": uuid.uuid4().hex,
                "datasetReference": {"projectId": project, "datasetId": name},
                "location": r.body.get("location", "US"), "creationTime": now, "lastModifiedTime": now,
                "selfLink": f"{self.url}/bigquery/v2/projects/{project}/datasets/{name}"}
            return 200, self.datasets[project, name], {}
        resource = self._existing_dataset(project, str(name))
        if r.method == "GET":
            return 200, resource, {}
        if r.method == "PATCH":
            check(r.body, {"$ref": "Dataset"}, "dataset")
            resource.update({key: value for key, value in r.body.items() if key != "datasetReference"})
            resource["lastModifiedTime"] = _millis()
            return 200, resource, {}
        if r.method == "DELETE":
            tables = [key for key in self.tables if key[:2] == (project, name)]
            if tables and r.query.get("deleteContents") != "true":
                raise ApiError(400, "resourceInUse", f"Dataset {project}:{name} is still in use")
            for key in tables:
                del self.tables[key]
            del self.datasets[project, str(name)]
            return 204, None, {}
        raise ApiError(405, "invalid", f"{r.method} is not allowed on a dataset")

    def _existing_dataset(self, project: str, name: str) -> dict[str, Any]:
        if (project, name) not in self.datasets:
            raise ApiError(404, "notFound", f"Not found: Dataset {project}:{name}")
        return self.datasets[project, name]

    # tables

    def _table(self, r: Request, project: str, dataset: str, name: str | None) -> tuple[int, Any, dict[str, str]]:
        self._existing_dataset(project, dataset)
        if r.method == "POST" and name is None:
            check(r.body, {"$ref": "Table"}, "table")
            return 200, self._create_table(project, dataset, r.body["tableReference"]["tableId"], r.body), {}
        resource = self._existing_table(project, dataset, str(name))
        if r.method == "GET":
            return 200, resource, {}
        if r.method == "DELETE":
            del self.tables[project, dataset, str(name)]
            return 204, None, {}
        raise ApiError(405, "invalid", f"{r.method} is not allowed on a table")

    def _create_table(self, project: str, dataset: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if (project, dataset, name) in self.tables:
            raise ApiError(409, "duplicate", f"Already Exists: Table {project}:{dataset}.{name}")
        now = _millis()
        kind = "VIEW" if "view" in body else "EXTERNAL" if "externalDataConfiguration" in body else "TABLE"
        self.tables[project, dataset, name] = {
            **body, "kind": "bigquery#table", "id": f"{project}:{dataset}.{name}", "etag": uuid.uuid4().hex,
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": name}, "type": kind,
            "creationTime": now, "lastModifiedTime": now, "numBytes": "0", "numLongTermBytes": "0",
            "numRows": "0", "location": self.datasets[project, dataset]["location"],
            "selfLink": f"{self.url}/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{name}"}
        return self.tables[project, dataset, name]

    def _existing_table(self, project: str, dataset: str, name: str) -> dict[str, Any]:
        if (project, dataset, name) not in self.tables:
            raise ApiError(404, "notFound", f"Not found: Table {project}:{dataset}.{name}")
        return self.tables[project, dataset, name]

    def _table_data(self, project: str, dataset: str, name: str) -> dict[str, Any]:
        self._existing_table(project, dataset, name)
        return {"kind": "bigquery#tableDataList", "totalRows": str(len(self.result.rows)), "rows": self.result.rows}

    # jobs

    def _run_job(self, project: str, body: dict[str, Any], data: bytes | None = None) -> dict[str, Any]:
        """Create a job and finish it at once: DONE, with statistics (or the error it ends with)."""
        reference = body.get("jobReference") or {}
        job_id = reference.get("jobId") or uuid.uuid4().hex
        if (project, job_id) in self.jobs:
            raise ApiError(409, "duplicate", f"Already Exists: Job {project}:{job_id}")
        now = _millis()
        configuration = json.loads(json.dumps(body["configuration"]))
        statistics: dict[str, Any] = {"creationTime": now, "startTime": now, "endTime": now}
        status: dict[str, Any] = {"state": "RUNNING" if self.hold_jobs else "DONE"}
        try:
            statistics.update(self._work(project, configuration, data))
        except ApiError as failure:
            status["errorResult"] = {"reason": failure.reason, "message": failure.message}
            status["errors"] = [status["errorResult"]]
        job = {"kind": "bigquery#job", "id": f"{project}:{job_id}", "etag": uuid.uuid4().hex,
               "jobReference": {"projectId": project, "jobId": job_id, "location": reference.get("location", "US")},
               "configuration": configuration, "status": status, "statistics": statistics,
               "selfLink": f"{self.url}/bigquery/v2/projects/{project}/jobs/{job_id}", "user_email": "standin@local"}
        self.jobs[project, job_id] = job
        return job

    def _work(self, project: str, configuration: dict[str, Any], data: bytes | None) -> dict[str, Any]:
        """What a job does here, as statistics; an ApiError is the job's errorResult."""
        if "query" in configuration:
            if self.query_error:
                raise ApiError(400, *self.query_error)
            query = configuration["query"]
            if "destinationTable" not in query and not configuration.get("dryRun"):
                query["destinationTable"] = {"projectId": project, "datasetId": "_standin_anonymous",
                                             "tableId": "anon" + uuid.uuid4().hex[:12]}
            return {"query": {"statementType": self.result.statement_type, "totalBytesProcessed": "0",
                              "cacheHit": False}, "totalBytesProcessed": "0"}
        if "load" in configuration:
            load = configuration["load"]
            target = load["destinationTable"]
            self._existing_dataset(target["projectId"], target["datasetId"])
            key = (target["projectId"], target["datasetId"], target["tableId"])
            if key not in self.tables:
                self._create_table(*key, {"tableReference": target, **({"schema": load["schema"]} if "schema" in load
                                                                       else {})})
            if data is None:
                rows = self.gcs_load_rows
            else:
                rows = len(data.splitlines()) - int(load.get("skipLeadingRows", 0) if load.get(
                    "sourceFormat", "CSV") == "CSV" else 0)
            return {"load": {"outputRows": str(rows), "inputFiles": str(len(load.get("sourceUris", [1]))),
                             "inputFileBytes": str(len(data or b"")), "outputBytes": str(len(data or b"")),
                             "badRecords": "0"}}
        if "extract" in configuration:
            source = configuration["extract"]["sourceTable"]
            self._existing_table(source["projectId"], source["datasetId"], source["tableId"])
            return {"extract": {"destinationUriFileCounts": ["1" for _ in configuration["extract"]["destinationUris"]]}}
        if "copy" in configuration:
            for source in configuration["copy"].get("sourceTables", []):
                self._existing_table(source["projectId"], source["datasetId"], source["tableId"])
            target = configuration["copy"]["destinationTable"]
            key = (target["projectId"], target["datasetId"], target["tableId"])
            if key not in self.tables:
                self._create_table(*key, {"tableReference": target})
            return {"copy": {"copiedRows": "0", "copiedLogicalBytes": "0"}}
        raise ApiError(400, "invalid", "Job configuration has no query, load, extract or copy")

    def _cancel(self, project: str, job_id: str) -> dict[str, Any]:
        job = self._job(project, job_id)
        if job["status"]["state"] != "DONE":
            error = {"reason": "stopped", "message": "Job execution was cancelled: User requested cancellation"}
            job["status"] = {"state": "DONE", "errorResult": error, "errors": [error]}
        return {"kind": "bigquery#jobCancelResponse", "job": job}

    def _job(self, project: str, job_id: str) -> dict[str, Any]:
        if (project, job_id) not in self.jobs:
            raise ApiError(404, "notFound", f"Not found: Job {project}:{job_id}")
        return self.jobs[project, job_id]

    def _query_results(self, project: str, job_id: str, params: dict[str, str]) -> dict[str, Any]:
        job = self._job(project, job_id)
        if "errorResult" in job["status"]:
            error = job["status"]["errorResult"]
            raise ApiError(400, error["reason"], error["message"])
        if job["status"]["state"] != "DONE":
            return {"kind": "bigquery#getQueryResultsResponse", "jobComplete": False,
                    "jobReference": job["jobReference"]}
        answer: dict[str, Any] = {"kind": "bigquery#getQueryResultsResponse", "jobComplete": True,
                                  "jobReference": job["jobReference"], "totalRows": str(len(self.result.rows)),
                                  "cacheHit": False, "totalBytesProcessed": "0"}
        if self.result.fields:
            answer["schema"] = {"fields": self.result.fields}
            if params.get("maxResults") != "0":
                answer["rows"] = self.result.rows
        return answer

    def _jobs_query(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        job = self._run_job(project, {"configuration": {"query": {"query": body["query"]}}})
        return self._query_results(project, job["jobReference"]["jobId"], {})

    # uploads

    def _upload(self, project: str, r: Request) -> tuple[int, Any, dict[str, str]]:
        kind = r.query.get("uploadType")
        if kind == "multipart" and r.method == "POST":
            check(r.body, {"$ref": "Job"}, "job")
            return 200, self._run_job(project, r.body, r.data), {}
        if kind == "resumable" and r.method == "POST":
            check(r.body, {"$ref": "Job"}, "job")
            upload_id = uuid.uuid4().hex
            self._uploads[upload_id] = (project, r.body, bytearray())
            location = f"{self.url}{r.path}?uploadType=resumable&upload_id={upload_id}"
            return 200, None, {"Location": location}
        if kind == "resumable" and r.method == "PUT" and r.query.get("upload_id") in self._uploads:
            project, body, received = self._uploads[r.query["upload_id"]]
            received.extend(r.data)
            total = (r.query.get("content-range") or "").rpartition("/")[2]
            if total in ("*", ""):
                return 308, None, {"Range": f"bytes=0-{len(received) - 1}"}
            del self._uploads[r.query["upload_id"]]
            return 200, self._run_job(project, body, bytes(received)), {}
        raise ApiError(400, "invalid", f"Unsupported upload: {r.method} uploadType={kind}")


def _millis() -> str:
    return str(int(time.time() * 1000))


def _handler(standin: BigQueryStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Request(self.command, url.path, query)
            try:
                self._read_body(request, raw)
            except ValueError as exc:
                status, body = 400, ApiError(400, "parseError", f"Parse Error: {exc}").body()
                headers: dict[str, str] = {}
            else:
                if "Content-Range" in self.headers:  # resumable chunks say where they are in the file
                    request.query["content-range"] = self.headers["Content-Range"]
                status, body, headers = standin.handle(request)
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _read_body(self, request: Request, raw: bytes) -> None:
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/related"):
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
                metadata, data = list(message.iter_parts())[:2]
                request.body = json.loads(bytes(metadata.get_payload(decode=True)))
                request.data = bytes(data.get_payload(decode=True) or b"")
            elif request.method == "PUT":
                request.data = raw
            elif raw:
                request.body = json.loads(raw)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler
