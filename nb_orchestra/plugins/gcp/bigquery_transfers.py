"""io.kestra.plugin.gcp.bigquery.Load, LoadFromGcs, ExtractToGcs and Copy: jobs that move data
into, out of, or between BigQuery tables (Kestra's AbstractLoad and its subclasses, ExtractToGcs, Copy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ..base import Prop, TaskContext, TaskFailure
from ..files import stored_file
from .bigquery_client import (
    BIGQUERY_PROPS,
    DESTINATION_PROPS,
    JOB_PROPS,
    BigQueryTask,
    bigquery_errors,
    destination_options,
    dispositions,
    enum_value,
    job_configuration,
    run_job,
    table_reference,
)
from .bigquery_tables import schema_fields, spec_int, spec_map

# Kestra's Format -> the REST sourceFormat.
_FORMATS = {"CSV": "CSV", "JSON": "NEWLINE_DELIMITED_JSON", "AVRO": "AVRO", "PARQUET": "PARQUET", "ORC": "ORC"}
# Kestra's csvOptions -> the REST JobConfigurationLoad fields.
_CSV_OPTIONS = {"allowJaggedRows": "allowJaggedRows", "allowQuotedNewLines": "allowQuotedNewlines",
                "encoding": "encoding", "fieldDelimiter": "fieldDelimiter", "quote": "quote",
                "skipLeadingRows": "skipLeadingRows"}

LOAD_PROPS: dict[str, Prop] = {
    **BIGQUERY_PROPS,
    **DESTINATION_PROPS,
    "destinationTable": Prop("string", description="The table loaded: `dataset.table` or `project.dataset.table`."),
    "format": Prop("enum", choices=tuple(_FORMATS), description="The format of the data: CSV, JSON "
                   "(newline-delimited), AVRO, PARQUET, ORC."),
    "csvOptions": Prop("map", description="{allowJaggedRows, allowQuotedNewLines, encoding, fieldDelimiter, quote, "
                       "skipLeadingRows} (format CSV)."),
    "avroOptions": Prop("map", description="{useAvroLogicalTypes} (format AVRO)."),
    "schema": Prop("map", description="The table's schema: {fields: [{name, type, mode, description, fields}]}."),
    "autodetect": Prop("bool", description="Infer the schema and options from the data."),
    "ignoreUnknownValues": Prop("bool", description="Ignore values that the schema does not have."),
    "maxBadRecords": Prop("int", description="The number of bad records allowed before the job fails."),
}

LOAD_OUTPUTS: dict[str, str] = {
    "jobId": "The job's id.",
    "destinationTable": "The table loaded, as `project.dataset.table`.",
    "rows": "The number of rows loaded.",
}


class LoadTask(BigQueryTask):
    """Kestra's AbstractLoad: a CSV load must say its csvOptions (LoadCsvValidation)."""

    def check(self, task: Any) -> list[tuple[str, str]]:
        if task.props.get("format") == "CSV" and task.props.get("csvOptions") is None:
            return [("csvOptions", "missing csv option with CSV fileType")]
        return []


def _load_settings(ctx: TaskContext, project: str) -> dict[str, Any]:
    """The REST JobConfigurationLoad of the task (Kestra's AbstractLoad.setOptions)."""
    settings: dict[str, Any] = {
        "destinationTable": table_reference(ctx.get("destinationTable"), project, "destinationTable"),
        **destination_options(ctx)}
    for name in ("autodetect", "ignoreUnknownValues", "maxBadRecords"):
        if ctx.get(name) is not None:
            settings[name] = ctx.get(name)
    schema = ctx.get("schema")
    if schema is not None:
        if not isinstance(schema, dict) or "fields" not in schema:
            raise TaskFailure(f"property 'schema': no 'fields' in {schema!r}")
        settings["schema"] = {"fields": schema_fields(schema["fields"], "schema", nested="fields")}
    kind = enum_value(ctx, "format")
    if kind is None:
        raise TaskFailure("property 'format' is required: CSV, JSON, AVRO, PARQUET or ORC")
    settings["sourceFormat"] = _FORMATS[kind]
    if kind == "CSV":
        options = spec_map(ctx.get("csvOptions"), "csvOptions")
        for name, key in _CSV_OPTIONS.items():
            if options.get(name) is not None:
                value = options[name]
                settings[key] = spec_int(value, f"csvOptions.{name}") if name == "skipLeadingRows" else value
    avro = spec_map(ctx.get("avroOptions"), "avroOptions")
    if kind == "AVRO" and avro.get("useAvroLogicalTypes") is not None:
        settings["useAvroLogicalTypes"] = bool(avro["useAvroLogicalTypes"])
    return settings


def _load_outputs(job: Any) -> dict[str, Any]:
    table = job.destination
    return {"jobId": job.job_id, "destinationTable": f"{table.project}.{table.dataset_id}.{table.table_id}",
            "rows": job.output_rows}


class Load(LoadTask):
    """Load a file of the internal storage (kestra://) into a BigQuery table."""

    type = "io.kestra.plugin.gcp.bigquery.Load"
    properties: ClassVar[dict[str, Prop]] = {
        **LOAD_PROPS,
        "from": Prop("string", description="The kestra:// URI of the file to load."),
        "failedOnEmpty": Prop("bool", default=True, description="Fail when the file is empty (else load nothing)."),
    }
    outputs: ClassVar[dict[str, str]] = LOAD_OUTPUTS

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        from google.cloud.bigquery import LoadJobConfig

        source = stored_file(ctx.get("from"), "from", ctx.execution.namespace)
        configuration = job_configuration(ctx, "load", _load_settings(ctx, client.project))
        size = source.stat().st_size
        if size == 0:
            if ctx.get("failedOnEmpty"):
                raise TaskFailure("Can't load an empty file and this one doesn't contain any data")
            return {"rows": 0}
        destination = ".".join(configuration["load"]["destinationTable"].values())

        def upload() -> Any:
            return _upload(client, source, size, destination, LoadJobConfig.from_api_repr(configuration))

        with bigquery_errors():
            job = run_job(ctx, upload)
        ctx.info(f"Loaded {job.output_rows} rows into {destination}")
        return _load_outputs(job)


def _upload(client: Any, source: Path, size: int, destination: str, configuration: Any) -> Any:
    with source.open("rb") as data:
        return client.load_table_from_file(data, destination, size=size, job_config=configuration)


class LoadFromGcs(LoadTask):
    """Load files of Google Cloud Storage (gs:// URIs) into a BigQuery table."""

    type = "io.kestra.plugin.gcp.bigquery.LoadFromGcs"
    properties: ClassVar[dict[str, Prop]] = {
        **LOAD_PROPS,
        "from": Prop("list", description="The gs:// URIs of the files to load (wildcards allowed)."),
    }
    outputs: ClassVar[dict[str, str]] = LOAD_OUTPUTS

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        settings = _load_settings(ctx, client.project)
        settings["sourceUris"] = [str(uri) for uri in ctx.get("from") or ()]
        configuration = job_configuration(ctx, "load", settings)
        with bigquery_errors():
            job = run_job(ctx, lambda: client.create_job(job_config=configuration))
        ctx.info(f"Loaded {job.output_rows} rows from {len(settings['sourceUris'])} URIs")
        return _load_outputs(job)


class ExtractToGcs(BigQueryTask):
    """Export a BigQuery table to files of Google Cloud Storage."""

    type = "io.kestra.plugin.gcp.bigquery.ExtractToGcs"
    properties: ClassVar[dict[str, Prop]] = {
        **BIGQUERY_PROPS,
        "sourceTable": Prop("string", description="The table exported: `dataset.table` or `project.dataset.table`."),
        "destinationUris": Prop("list", description="The gs:// URIs of the files written (a `*` makes several)."),
        "compression": Prop("string", description="GZIP, DEFLATE, SNAPPY, ZSTD or NONE."),
        "fieldDelimiter": Prop("string", description="The field delimiter (CSV)."),
        "format": Prop("string", description="CSV, NEWLINE_DELIMITED_JSON, AVRO or PARQUET."),
        "useAvroLogicalTypes": Prop("bool", description="Write Avro logical types (format AVRO)."),
        "jobTimeoutMs": Prop("int", description="BigQuery may end the job when it runs longer (milliseconds)."),
        "labels": Prop("map", description="Labels of the job, added to Kestra's own."),
        "printHeader": Prop("bool", description="Write a header row (CSV)."),
    }
    outputs: ClassVar[dict[str, str]] = {
        "jobId": "The job's id.",
        "sourceTable": "The name of the table exported.",
        "destinationUris": "The gs:// URIs written.",
        "fileCounts": "The number of files written for each destination URI.",
    }

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "sourceTable": table_reference(ctx.get("sourceTable"), client.project, "sourceTable"),
            "destinationUris": [str(uri) for uri in ctx.get("destinationUris") or ()]}
        for name, key in (("compression", "compression"), ("fieldDelimiter", "fieldDelimiter"),
                          ("format", "destinationFormat"), ("useAvroLogicalTypes", "useAvroLogicalTypes"),
                          ("printHeader", "printHeader")):
            if ctx.get(name) is not None:
                settings[key] = ctx.get(name)
        configuration = job_configuration(ctx, "extract", settings)
        with bigquery_errors():
            job = run_job(ctx, lambda: client.create_job(job_config=configuration))
        return {"jobId": job.job_id, "sourceTable": settings["sourceTable"]["tableId"],
                "destinationUris": settings["destinationUris"], "fileCounts": job.destination_uri_file_counts}


class Copy(BigQueryTask):
    """Copy BigQuery tables (or snapshot, restore, clone them) into a destination table."""

    type = "io.kestra.plugin.gcp.bigquery.Copy"
    properties: ClassVar[dict[str, Prop]] = {
        **JOB_PROPS,
        "sourceTables": Prop("list", required=True, description="The tables copied: `dataset.table` or "
                             "`project.dataset.table` (a partition: `table$20240101`)."),
        "destinationTable": Prop("string", required=True, description="The destination table."),
        "operationType": Prop("enum", choices=("COPY", "SNAPSHOT", "RESTORE", "CLONE"),
                              description="COPY (default), SNAPSHOT, RESTORE or CLONE."),
    }
    outputs: ClassVar[dict[str, str]] = {"jobId": "The job's id."}

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        project = client.project
        settings: dict[str, Any] = {
            "sourceTables": [table_reference(name, project, "sourceTables") for name in ctx.get("sourceTables")],
            "destinationTable": table_reference(ctx.get("destinationTable"), project, "destinationTable"),
            **dispositions(ctx)}
        operation = enum_value(ctx, "operationType")
        if operation:
            settings["operationType"] = operation
        configuration = job_configuration(ctx, "copy", settings)
        dry_run = bool(ctx.get("dryRun"))
        with bigquery_errors():
            job = run_job(ctx, lambda: client.create_job(job_config=configuration), wait=not dry_run)
        return {"jobId": job.job_id}
