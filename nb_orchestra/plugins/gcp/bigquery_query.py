"""io.kestra.plugin.gcp.bigquery.Query: a SQL job, its rows fetched or stored as Kestra gives them.

Row values are converted as Kestra's Query converts BigQuery's: INTEGER -> integer, FLOAT and
NUMERIC -> float (a double), BIGNUMERIC -> decimal, DATE -> date, TIME -> local time, TIMESTAMP ->
an Instant, DATETIME -> its text with a ``Z`` appended, GEOGRAPHY points -> ``[x, y]``, JSON -> its
value, RECORD -> a map, REPEATED -> a list, BYTES -> bytes, INTERVAL -> its canonical text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from ..base import Prop, TaskContext, TaskFailure
from ..ion import instant, store_values
from .bigquery_client import (
    DESTINATION_PROPS,
    JOB_PROPS,
    BigQueryTask,
    bigquery_errors,
    destination_options,
    job_configuration,
    run_job,
    table_reference,
)

FETCH_TYPES = ("FETCH", "FETCH_ONE", "STORE", "NONE")
_ION_MISSING = ("fetchType STORE writes Amazon Ion files and needs the amazon.ion package: "
                "pip install 'nb-orchestra[gcp]'")
_POINT = re.compile(r"^POINT\(([0-9.]+) ([0-9.]+)\)$")


class Query(BigQueryTask):
    """Run a BigQuery SQL job; its rows as outputs (`fetchType`), optionally into a destination table."""

    type = "io.kestra.plugin.gcp.bigquery.Query"
    properties: ClassVar[dict[str, Prop]] = {
        **JOB_PROPS,
        **DESTINATION_PROPS,
        "sql": Prop("string", description="The SQL to run (rendered); standard SQL unless `legacySql`."),
        "legacySql": Prop("bool", default=False, description="Use BigQuery's legacy SQL dialect."),
        "fetchType": Prop("enum", default="NONE", choices=FETCH_TYPES,
                          description="FETCH_ONE -> row, FETCH -> rows, STORE -> uri (an Ion file), NONE."),
        "fetch": Prop("bool", default=False, description="Deprecated: fetchType FETCH."),
        "store": Prop("bool", default=False, description="Deprecated: fetchType STORE."),
        "fetchOne": Prop("bool", default=False, description="Deprecated: fetchType FETCH_ONE."),
        "rangePartitioningField": Prop("string", description="The range partitioning field of the destination table."),
        "rangePartitioningStart": Prop("int", description="The start of range partitioning, inclusive."),
        "rangePartitioningEnd": Prop("int", description="The end of range partitioning, exclusive."),
        "rangePartitioningInterval": Prop("int", description="The width of each range partition."),
        "defaultDataset": Prop("string", description="The dataset of unqualified table names in the SQL."),
        "priority": Prop("enum", default="INTERACTIVE", choices=("INTERACTIVE", "BATCH"),
                         description="INTERACTIVE, or BATCH to queue the job until slots are free."),
        "allowLargeResults": Prop("bool", description="Allow large results (needs `destinationTable`)."),
        "useQueryCache": Prop("bool", description="Look for the result in the query cache."),
        "flattenResults": Prop("bool", default=True, description="Flatten nested and repeated fields (legacy SQL)."),
        "useLegacySql": Prop("bool", default=False, description="Use BigQuery's legacy SQL dialect."),
        "maximumBillingTier": Prop("int", description="Limits the billing tier of the job."),
        "maximumBytesBilled": Prop("int", description="The job fails (without charge) beyond these bytes billed."),
        "maxResults": Prop("int", description="The number of rows of each page fetched."),
    }
    outputs: ClassVar[dict[str, str]] = {
        "jobId": "The job's id.",
        "rows": "The rows (fetchType FETCH).",
        "row": "The first row (fetchType FETCH_ONE).",
        "size": "The number of rows fetched or stored.",
        "uri": "kestra:// URI of an Ion file of the rows (fetchType STORE).",
        "destinationTable": "The destination table (the one given, or the temporary one BigQuery made): "
                            "{project, dataset, table}.",
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        """Kestra's StoreFetchValidation and StoreFetchDestinationValidation."""
        flags = {name for name in ("fetch", "fetchOne", "store") if task.props.get(name) in (True, "true")}
        if "store" in flags and flags & {"fetch", "fetchOne"}:
            return [("store", "Invalid store with fetch or fetchOne properties, you can't have both defined.")]
        if flags and task.props.get("destinationTable") is not None:
            return [("destinationTable", "Invalid store & fetch or fetchOne properties with destinationTable, "
                                         "you can't fetch data when destinationTable is defined")]
        return []

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        configuration = job_configuration(ctx, "query", _query_settings(ctx, client.project))
        fetch_type = _fetch_type(ctx)
        dry_run = bool(ctx.get("dryRun"))
        with bigquery_errors():
            job = run_job(ctx, lambda: client.create_job(job_config=configuration), wait=not dry_run)
            ctx.log("DEBUG", f"BigQuery job '{job.job_id}' done")
            outputs: dict[str, Any] = {"jobId": job.job_id}
            if fetch_type != "NONE" and not dry_run:
                outputs.update(_results(ctx, job, fetch_type))
        destination = job.destination
        if destination is not None:
            outputs["destinationTable"] = {"project": destination.project, "dataset": destination.dataset_id,
                                           "table": destination.table_id}
        return outputs


def _fetch_type(ctx: TaskContext) -> str:
    """``fetchType``, unless a deprecated boolean says otherwise (fetch > store > fetchOne, Kestra's order)."""
    for flag, kind in (("fetch", "FETCH"), ("store", "STORE"), ("fetchOne", "FETCH_ONE")):
        if ctx.get(flag):
            return kind
    return str(ctx.get("fetchType"))


def _query_settings(ctx: TaskContext, project: str) -> dict[str, Any]:
    """The REST JobConfigurationQuery of the task, as Kestra's Query builds it."""
    # Kestra sets the dialect from legacySql, then overwrites it with useLegacySql (default false):
    # either one asks for legacy SQL here.
    settings: dict[str, Any] = {"query": ctx.get("sql"),
                                "useLegacySql": bool(ctx.get("legacySql") or ctx.get("useLegacySql")),
                                "flattenResults": bool(ctx.get("flattenResults")), "priority": ctx.get("priority")}
    if ctx.get("destinationTable"):
        settings["destinationTable"] = table_reference(ctx.get("destinationTable"), project, "destinationTable")
    settings.update(destination_options(ctx))
    if ctx.get("rangePartitioningField"):
        settings["rangePartitioning"] = {"field": ctx.get("rangePartitioningField"), "range": {
            key: str(ctx.get(f"rangePartitioning{key.title()}")) for key in ("start", "end", "interval")
            if ctx.get(f"rangePartitioning{key.title()}") is not None}}
    for name in ("allowLargeResults", "useQueryCache", "maximumBillingTier"):
        if ctx.get(name) is not None:
            settings[name] = ctx.get(name)
    if ctx.get("maximumBytesBilled") is not None:
        settings["maximumBytesBilled"] = str(ctx.get("maximumBytesBilled"))
    if ctx.get("defaultDataset"):
        dataset_project, _, dataset = str(ctx.get("defaultDataset")).rpartition(".")
        settings["defaultDataset"] = {"projectId": dataset_project or project, "datasetId": dataset}
    return settings


# -- results ---------------------------------------------------------------------------------------

def _results(ctx: TaskContext, job: Any, fetch_type: str) -> dict[str, Any]:
    result = job.result(page_size=ctx.get("maxResults"))
    rows = converted_rows(result.schema or [], result)
    if fetch_type == "STORE":
        return store_values(ctx, rows, _ION_MISSING)
    fetched = list(rows)
    if fetch_type == "FETCH":
        return {"rows": fetched, "size": len(fetched)}
    return {"row": fetched[0] if fetched else {}, "size": len(fetched)}


def converted_rows(schema: list[Any], rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """The client's rows as Kestra's Query gives them (maps in schema order, values converted)."""
    for row in rows:
        yield {field.name: _cell(field, row[field.name]) for field in schema}


def _cell(field: Any, value: Any, in_list: bool = False) -> Any:
    if field.mode == "REPEATED" and not in_list:
        return [_cell(field, item, True) for item in value or ()]
    if value is None:
        return None
    kind = field.field_type
    if kind in ("RECORD", "STRUCT"):
        return {sub.name: _cell(sub, value.get(sub.name)) for sub in field.fields}
    if kind == "NUMERIC":
        return float(value)  # Kestra reads NUMERIC as a double
    if kind == "TIMESTAMP":
        return instant(value)
    if kind == "DATETIME":
        return value.isoformat() + "Z"  # Kestra: the value's text, with Z appended
    if kind == "GEOGRAPHY":
        point = _POINT.match(value)
        if point is None:
            raise TaskFailure(f"column '{field.name}': GEOGRAPHY value '{value}' is not a POINT(x y), the only "
                              "geography Kestra's Query converts")
        return [float(point[1]), float(point[2])]
    if kind == "INTERVAL":
        return _interval_text(value)
    if kind == "RANGE" and isinstance(value, dict):
        return {key: instant(item) if isinstance(item, datetime) and item.tzinfo else item
                for key, item in value.items()}
    if kind == "BIGNUMERIC":
        return Decimal(value)
    return value


def _interval_text(value: Any) -> str:
    """A dateutil relativedelta (how the client reads an INTERVAL) back in BigQuery's canonical text
    ``Y-M D H:M:S[.F]``."""
    seconds = f"{value.seconds}" + (f".{abs(value.microseconds):06d}".rstrip("0") if value.microseconds else "")
    return f"{value.years}-{abs(value.months)} {value.days} {value.hours}:{abs(value.minutes)}:{seconds}"
