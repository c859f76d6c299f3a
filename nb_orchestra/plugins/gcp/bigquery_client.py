"""What the BigQuery tasks share (Kestra's AbstractBigquery, AbstractJob and BigQueryService): the
client, table names read as Kestra reads them, the labels Kestra puts on every job, running a job
to its end (cancelled with the task run), and BigQuery's errors as one-line failures.

Google's client (google-cloud-bigquery, extra ``gcp``) is imported when a task runs; it sends every
call to ``BIGQUERY_EMULATOR_HOST`` when that variable is set (a local server: no credentials).
Job configurations are written as the REST API's resources (``{"query": {...}, "labels": ...}``),
the shape Kestra's Java client sends, and handed to ``Client.create_job``.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from ...durations import parse_duration
from ..base import Prop, TaskCancelled, TaskContext, TaskFailure, TaskPlugin
from ..extras import require
from .credentials import GCP_PROPS, connect
from .gcs_common import choice

EMULATOR_VARIABLE = "BIGQUERY_EMULATOR_HOST"

WRITE_DISPOSITIONS = ("WRITE_TRUNCATE", "WRITE_TRUNCATE_DATA", "WRITE_APPEND", "WRITE_EMPTY")
CREATE_DISPOSITIONS = ("CREATE_IF_NEEDED", "CREATE_NEVER")
SCHEMA_UPDATE_OPTIONS = ("ALLOW_FIELD_ADDITION", "ALLOW_FIELD_RELAXATION")
PARTITION_TYPES = ("DAY", "HOUR", "MONTH", "YEAR")

BIGQUERY_PROPS: dict[str, Prop] = {
    **GCP_PROPS,
    "location": Prop("string", description="The BigQuery location of the jobs and datasets, e.g. `EU`, "
                     "`us-central1` (the course sets it in pluginDefaults from kv('GCP_LOCATION'))."),
    "retryAuto": Prop("map", description="How failed jobs are retried: {type: constant|exponential, interval, "
                      "maxInterval, maxAttempts, maxDuration}; by default exponential from PT5S, 10 attempts "
                      "within PT15M."),
    "retryReasons": Prop("list", default=["rateLimitExceeded", "jobBackendError", "backendError", "internalError",
                                          "jobInternalError"],
                         description="BigQuery error reasons that make a job be created again."),
    "retryMessages": Prop("list", default=["due to concurrent update", "Retrying the job may solve the problem",
                                           "Retrying may solve the problem"],
                          description="Case-insensitive parts of error messages that are retried."),
}

DISPOSITION_PROPS: dict[str, Prop] = {
    "writeDisposition": Prop("enum", choices=WRITE_DISPOSITIONS,
                             description="What happens when the destination table exists."),
    "createDisposition": Prop("enum", choices=CREATE_DISPOSITIONS,
                              description="Whether the job may create the destination table."),
}

# What Query and the loads may say of the destination table (read by destination_options).
DESTINATION_PROPS: dict[str, Prop] = {
    **DISPOSITION_PROPS,
    "clusteringFields": Prop("list", description="The clustering fields of the destination table."),
    "schemaUpdateOptions": Prop("list", description="ALLOW_FIELD_ADDITION, ALLOW_FIELD_RELAXATION: schema "
                                "changes of the destination table the job may make."),
    "timePartitioningField": Prop("string", description="The time partitioning field of the destination table."),
    "timePartitioningType": Prop("enum", default="DAY", choices=PARTITION_TYPES,
                                 description="The time partitioning granularity."),
}

# Kestra's AbstractJob: the properties of every task that runs a BigQuery job.
JOB_PROPS: dict[str, Prop] = {
    **BIGQUERY_PROPS,
    **DISPOSITION_PROPS,
    "destinationTable": Prop("string", description="The table the job writes: `dataset.table` or "
                             "`project.dataset.table`."),
    "jobTimeout": Prop("duration", description="BigQuery may end the job when it runs longer (ISO-8601)."),
    "labels": Prop("map", description="Labels of the job, added to Kestra's own (`kestra_namespace`, "
                   "`kestra_flow_id`, `kestra_execution_id`, `kestra_task_id`)."),
    "dryRun": Prop("bool", default=False, description="Only validate the job and estimate its cost."),
}


class BigQueryTask(TaskPlugin):
    """A task calling BigQuery (network I/O on a worker thread): ``call`` does the work with a client
    of the task's project, closed afterwards."""

    blocking = True
    properties: ClassVar[dict[str, Prop]] = BIGQUERY_PROPS

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        client = bigquery_client(ctx)
        try:
            return self.call(ctx, client)
        finally:
            client.close()

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        raise NotImplementedError


def bigquery_client(ctx: TaskContext) -> Any:
    """A ``google.cloud.bigquery.Client`` with the task's project, credentials and location."""
    bigquery = require("google.cloud.bigquery", "gcp", "BigQuery")
    connection = connect(ctx, EMULATOR_VARIABLE)
    return bigquery.Client(project=connection.project, credentials=connection.credentials,
                           location=ctx.get("location") or None)


def table_reference(name: Any, project: str, prop: str) -> dict[str, str]:
    """``dataset.table`` or ``project.dataset.table`` (Kestra's BigQueryService.tableId) as a REST
    TableReference; a table name may carry a partition decorator (``table$20240101``)."""
    parts = str(name or "").split(".")
    if len(parts) == 2:
        parts.insert(0, project)
    if len(parts) != 3 or not all(parts):
        raise TaskFailure(f"property '{prop}': invalid table name '{name}' (expected dataset.table or "
                          "project.dataset.table)")
    return {"projectId": parts[0], "datasetId": parts[1], "tableId": parts[2]}


def enum_value(ctx: TaskContext, name: str) -> str | None:
    """An optional enum property, checked once rendered; None when absent."""
    return None if ctx.get(name) in (None, "") else choice(ctx, name)


def _list_choices(ctx: TaskContext, name: str, allowed: tuple[str, ...]) -> list[str]:
    """A list property whose items are each one of ``allowed``."""
    values = [str(value) for value in ctx.get(name)]
    wrong = [value for value in values if value not in allowed]
    if wrong:
        raise TaskFailure(f"property '{name}': '{wrong[0]}' is not one of {', '.join(allowed)}")
    return values


def kestra_labels(ctx: TaskContext) -> dict[str, str]:
    """The labels Kestra puts on every job it starts, then the task's own ``labels``."""
    flow = ctx.variables.get("flow") or {}
    labels = {"kestra_namespace": flow.get("namespace"), "kestra_flow_id": flow.get("id"),
              "kestra_execution_id": (ctx.variables.get("execution") or {}).get("id"),
              "kestra_task_id": ctx.task.id,
              "kestra_trigger_id": (ctx.variables.get("trigger") or {}).get("id")}
    # BigQuery's rule: lowercase letters, digits, '_' and '-', at most 63 characters.
    kept = {key: str(value).replace(".", "_").lower()[:63] for key, value in labels.items() if value}
    kept.update({str(key): str(value) for key, value in (ctx.get("labels") or {}).items()})
    return kept


def job_configuration(ctx: TaskContext, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A REST JobConfiguration: ``{kind: settings}``, and Kestra's labels, the job timeout and the dry
    run for the tasks that declare them."""
    configuration: dict[str, Any] = {kind: settings}
    declared = ctx.task.plugin.all_properties()
    if "labels" in declared:
        configuration["labels"] = kestra_labels(ctx)
    if "jobTimeoutMs" in declared and ctx.get("jobTimeoutMs") is not None:
        configuration["jobTimeoutMs"] = str(ctx.get("jobTimeoutMs"))
    if "dryRun" in declared and ctx.get("dryRun"):
        configuration["dryRun"] = True
    if "jobTimeout" in declared and ctx.get("jobTimeout") is not None:
        configuration["jobTimeoutMs"] = str(int(ctx.get("jobTimeout").total_seconds() * 1000))
    return configuration


def dispositions(ctx: TaskContext) -> dict[str, str]:
    """``writeDisposition`` and ``createDisposition``, as set."""
    out = {}
    for name in ("writeDisposition", "createDisposition"):
        value = enum_value(ctx, name)
        if value:
            out[name] = value
    return out


def destination_options(ctx: TaskContext) -> dict[str, Any]:
    """What Query and the loads say of their destination table: its clustering, schema updates, time
    partitioning and dispositions (REST fields of both JobConfigurationQuery and JobConfigurationLoad)."""
    options: dict[str, Any] = dispositions(ctx)
    if ctx.get("clusteringFields"):
        options["clustering"] = {"fields": [str(name) for name in ctx.get("clusteringFields")]}
    if ctx.get("schemaUpdateOptions"):
        options["schemaUpdateOptions"] = _list_choices(ctx, "schemaUpdateOptions", SCHEMA_UPDATE_OPTIONS)
    if ctx.get("timePartitioningField"):
        options["timePartitioning"] = {"type": ctx.get("timePartitioningType"),
                                       "field": ctx.get("timePartitioningField")}
    return options


def run_job(ctx: TaskContext, create: Callable[[], Any], wait: bool = True) -> Any:
    """Create a job with ``create`` and wait for its end (unless not ``wait``: a dry run); a job
    failing for a reason in ``retryReasons`` (or a message containing one of ``retryMessages``) is
    created again, as ``retryAuto`` says. Use inside :func:`bigquery_errors`."""
    from google.api_core import exceptions as api

    policy = _RetryPolicy.of(ctx.get("retryAuto") or {})
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            job = create()
            return wait_for(ctx, job) if wait else job
        except api.GoogleAPICallError as exc:
            delay = policy.delay(attempt)
            if (not _retryable(ctx, exc) or attempt >= policy.attempts
                    or time.monotonic() - started + delay > policy.max_duration):
                raise
            ctx.log("WARN", f"BigQuery: {_message(exc)}; retrying in {delay:g}s (attempt {attempt + 1})")
            ctx.wait(delay)
            attempt += 1


@dataclass(frozen=True)
class _RetryPolicy:
    """Kestra's retry policy of BigQuery jobs (AbstractBigquery.retryAuto)."""

    interval: float = 5.0
    max_interval: float = 3600.0
    attempts: int = 10
    max_duration: float = 900.0
    exponential: bool = True

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> _RetryPolicy:
        def seconds(name: str, default: float) -> float:
            value = spec.get(name)
            if value in (None, ""):
                return default
            try:
                return parse_duration(str(value)).total_seconds()
            except ValueError:
                raise TaskFailure(f"property 'retryAuto.{name}': '{value}' is not an ISO-8601 duration") from None

        return cls(seconds("interval", cls.interval), seconds("maxInterval", cls.max_interval),
                   int(spec.get("maxAttempts") or cls.attempts), seconds("maxDuration", cls.max_duration),
                   str(spec.get("type", "exponential")).lower() != "constant")

    def delay(self, attempt: int) -> float:
        return min(self.interval * (2 ** (attempt - 1) if self.exponential else 1), self.max_interval)


def _retryable(ctx: TaskContext, exc: Any) -> bool:
    reasons = {str(reason) for reason in ctx.get("retryReasons") or ()}
    parts = [str(part).lower() for part in ctx.get("retryMessages") or ()]
    for error in getattr(exc, "errors", None) or ():
        if not isinstance(error, Mapping):
            continue
        message = str(error.get("message", "")).lower()
        if error.get("reason") in reasons or any(part in message for part in parts):
            return True
    return False


def wait_for(ctx: TaskContext, job: Any) -> Any:
    """Wait for ``job`` to end and return it; a kill or timeout of the task run cancels the job."""
    # A query job's result() would create the job again on some errors: retries are run_job's.
    options = {"job_retry": None} if job.job_type == "query" else {}
    while True:
        try:
            job.result(timeout=1, **options)
            return job
        except concurrent.futures.TimeoutError:
            if ctx.cancel.is_set():
                job.cancel()
                raise TaskCancelled() from None


@contextmanager
def bigquery_errors() -> Iterator[None]:
    """BigQuery's failures as one-line TaskFailures carrying its own message."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from requests import RequestException

    try:
        yield
    except api.GoogleAPICallError as exc:
        raise TaskFailure(f"BigQuery: {_message(exc)}") from None
    except api.GoogleAPIError as exc:  # the client's retries gave up (RetryError...)
        raise TaskFailure(f"BigQuery: {_first_line(exc)}") from None
    except auth.GoogleAuthError as exc:
        raise TaskFailure(f"BigQuery: credentials refused: {_first_line(exc)}") from None
    except RequestException as exc:
        raise TaskFailure(f"BigQuery unreachable: {type(exc).__name__}: {_first_line(exc)}") from None


def _message(exc: Any) -> str:
    """The messages BigQuery gave (its ``errors``), else the exception's, without the URL the
    client puts in front."""
    messages = []
    for error in getattr(exc, "errors", None) or ():
        if isinstance(error, Mapping) and error.get("message") and error["message"] not in messages:
            messages.append(str(error["message"]))
    if messages:
        return _first_line("; ".join(messages))
    text = str(getattr(exc, "message", "") or exc)
    method, _, rest = text.partition(" ")
    if method in ("GET", "POST", "PUT", "PATCH", "DELETE") and ": " in rest:
        text = rest.split(": ", 1)[1]
    return _first_line(text)


def _first_line(value: Any) -> str:
    lines = str(value).strip().splitlines()
    return lines[0][:300] if lines else ""
