"""io.kestra.plugin.gcp.bigquery.CreateTable, DeleteTable and TableMetadata (Kestra's AbstractTable,
AbstractTableCreateUpdate and models.TableDefinition).

A ``tableDefinition`` is Kestra's model: ``type`` (TABLE, VIEW, MATERIALIZED_VIEW, EXTERNAL),
``schema.fields`` (name, type, mode, description, subFields, policyTags), and one of
``standardTableDefinition`` (clustering, timePartitioning, rangePartitioning), ``viewDefinition``,
``materializedViewDefinition``, ``externalTableDefinition``. It becomes the REST Table resource
the Java client sends; the table's metadata comes back in Kestra's Output shape.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from ...durations import format_duration, parse_duration
from ..base import Prop, TaskContext, TaskFailure
from ..ion import instant
from .bigquery_client import BIGQUERY_PROPS, PARTITION_TYPES, BigQueryTask, bigquery_errors

_TABLE_TYPES = ("TABLE", "VIEW", "MATERIALIZED_VIEW", "EXTERNAL")
# Kestra's fields are StandardSQLTypeName; the Java client sends their legacy names.
_LEGACY_TYPES = {"INT64": "INTEGER", "BOOL": "BOOLEAN", "FLOAT64": "FLOAT", "STRUCT": "RECORD"}
_STANDARD_FIELD_TYPES = ("BOOL", "INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC", "STRING", "BYTES", "STRUCT",
                         "ARRAY", "TIMESTAMP", "DATE", "TIME", "DATETIME", "GEOGRAPHY", "JSON", "INTERVAL", "RANGE")
_FIELD_TYPES = (*_STANDARD_FIELD_TYPES, *_LEGACY_TYPES.values())
_STANDARD_TYPES = {legacy: standard for standard, legacy in _LEGACY_TYPES.items()}

TABLE_PROPS: dict[str, Prop] = {
    **BIGQUERY_PROPS,
    "dataset": Prop("string", required=True, description="The table's dataset."),
    "table": Prop("string", required=True, description="The table's name."),
}

TABLE_OUTPUTS: dict[str, str] = {
    "projectId": "The table's project.", "datasetId": "The table's dataset.", "table": "The table's name.",
    "etag": "Its ETag.", "generatedId": "Its service-generated id.", "selfLink": "Its URL.",
    "friendlyName": "Its friendly name.", "description": "Its description.",
    "creationTime": "When it was created.", "expirationTime": "When it expires.",
    "lastModifiedTime": "When it was last modified.", "numBytes": "Its size in bytes.",
    "numLongTermBytes": "Its bytes in long-term storage.", "numRows": "Its number of rows.",
    "definition": "{type, schema, standardTableDefinition | viewDefinition | materializedViewDefinition | "
                  "externalTableDefinition}.",
    "encryptionConfiguration": "{kmsKeyName}.", "labels": "Its labels.",
    "requirePartitionFilter": "Whether queries must filter on its partitions.",
}


def _project(ctx: TaskContext, client: Any) -> str:
    return str(ctx.get("projectId") or client.project)


class CreateTable(BigQueryTask):
    """Create a BigQuery table, view, materialized view or external table."""

    type = "io.kestra.plugin.gcp.bigquery.CreateTable"
    properties: ClassVar[dict[str, Prop]] = {
        **TABLE_PROPS,
        "tableDefinition": Prop("map", required=True, description="The table's definition: {type, schema: "
                                "{fields}, standardTableDefinition | viewDefinition | materializedViewDefinition | "
                                "externalTableDefinition}."),
        "friendlyName": Prop("string", description="The table's friendly name."),
        "description": Prop("string", description="The table's description."),
        "labels": Prop("map", description="The table's labels."),
        "requirePartitionFilter": Prop("bool", description="Queries must filter on its partitions."),
        "encryptionConfiguration": Prop("map", description="{kmsKeyName}: the table's Cloud KMS key."),
        "expirationDuration": Prop("duration", description="The table expires this long after its creation."),
    }
    outputs: ClassVar[dict[str, str]] = TABLE_OUTPUTS

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        from google.cloud.bigquery import Table

        reference = {"projectId": _project(ctx, client), "datasetId": str(ctx.get("dataset")),
                     "tableId": str(ctx.get("table"))}
        resource = {"tableReference": reference, **_definition(ctx.get("tableDefinition")), **_table_options(ctx)}
        with bigquery_errors():
            table = client.create_table(Table.from_api_repr(resource))
        ctx.info(f"Created table {table.full_table_id}")
        return table_output(table.to_api_repr())


def _table_options(ctx: TaskContext) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in ("friendlyName", "description"):
        if ctx.get(key):
            options[key] = str(ctx.get(key))
    if ctx.get("labels"):
        options["labels"] = {str(key): str(value) for key, value in ctx.get("labels").items()}
    if ctx.get("requirePartitionFilter") is not None:
        options["requirePartitionFilter"] = bool(ctx.get("requirePartitionFilter"))
    if ctx.get("encryptionConfiguration"):
        options["encryptionConfiguration"] = {"kmsKeyName": str(ctx.get("encryptionConfiguration").get("kmsKeyName"))}
    if ctx.get("expirationDuration") is not None:
        expires = datetime.now(timezone.utc) + ctx.get("expirationDuration")
        options["expirationTime"] = str(int(expires.timestamp() * 1000))
    return options


# -- Kestra's TableDefinition -> the REST Table resource ----------------------------------------------

def spec_map(value: Any, where: str) -> dict[str, Any]:
    """A nested part of a spec: a map (None: an empty one), else a one-line failure naming it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TaskFailure(f"property '{where}': expected a map, got {_shown(value)}")
    return value


def spec_list(value: Any, where: str) -> list[Any]:
    """A nested list of a spec (None: an empty one), else a one-line failure naming it."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TaskFailure(f"property '{where}': expected a list, got {_shown(value)}")
    return value


def spec_int(value: Any, where: str) -> int:
    """A whole number of a spec (text allowed, as rendered expressions give), else a one-line failure."""
    if not isinstance(value, bool):
        try:
            return int(str(value).strip())
        except ValueError:
            pass
    raise TaskFailure(f"property '{where}': expected a whole number, got {_shown(value)}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _definition(spec: Any) -> dict[str, Any]:
    spec = spec_map(spec, "tableDefinition")
    kind = str(spec.get("type", ""))
    if kind not in _TABLE_TYPES:
        raise TaskFailure(f"property 'tableDefinition.type': '{kind}' is not one of {', '.join(_TABLE_TYPES)}")
    resource: dict[str, Any] = {}
    if kind in ("TABLE", "EXTERNAL") and spec.get("schema"):
        schema = spec_map(spec["schema"], "tableDefinition.schema")
        resource["schema"] = {"fields": schema_fields(schema.get("fields"), "tableDefinition.schema")}
    if kind == "TABLE":
        resource.update(_standard(spec_map(spec.get("standardTableDefinition"),
                                           "tableDefinition.standardTableDefinition")))
    elif kind == "VIEW":
        view = _part(spec, "viewDefinition", "query")
        resource["view"] = {"query": str(view["query"]), "useLegacySql": False}
        where = "tableDefinition.viewDefinition.viewUserDefinedFunctions"
        udfs = [spec_map(udf, f"{where}[{number}]")
                for number, udf in enumerate(spec_list(view.get("viewUserDefinedFunctions"), where))]
        functions = [{"inlineCode" if str(udf.get("type", "INLINE")) == "INLINE" else "resourceUri":
                      str(udf.get("content", ""))} for udf in udfs]
        if functions:
            resource["view"]["userDefinedFunctionResources"] = functions
    elif kind == "MATERIALIZED_VIEW":
        view = _part(spec, "materializedViewDefinition", "query")
        resource["materializedView"] = {"query": str(view["query"])}
        if view.get("enableRefresh") is not None:
            resource["materializedView"]["enableRefresh"] = bool(view["enableRefresh"])
        if view.get("refreshInterval"):
            resource["materializedView"]["refreshIntervalMs"] = _millis(view["refreshInterval"],
                                                                        "materializedViewDefinition.refreshInterval")
    else:
        resource["externalDataConfiguration"] = _external(_part(spec, "externalTableDefinition", "sourceUris"))
    return resource


def _part(spec: dict[str, Any], name: str, required: str) -> dict[str, Any]:
    part = spec.get(name)
    if not isinstance(part, dict) or not part.get(required):
        raise TaskFailure(f"property 'tableDefinition.{name}.{required}' is required for type {spec.get('type')}")
    return part


def schema_fields(fields: Any, where: str, nested: str = "subFields") -> list[dict[str, Any]]:
    """Kestra's schema fields (``nested``: the key of a RECORD's fields) as REST TableFieldSchemas."""
    out = []
    for number, spec in enumerate(spec_list(fields, f"{where}.fields")):
        spec = spec_map(spec, f"{where}.fields[{number}]")
        kind = str(spec.get("type", "")).upper()
        if not spec.get("name") or kind not in _FIELD_TYPES:
            raise TaskFailure(f"property '{where}.fields[{number}]': needs a name and a type among "
                              f"{', '.join(_STANDARD_FIELD_TYPES)}")
        field: dict[str, Any] = {"name": str(spec["name"]), "type": _LEGACY_TYPES.get(kind, kind)}
        if spec.get("mode"):
            field["mode"] = str(spec["mode"])
        if spec.get("description"):
            field["description"] = str(spec["description"])
        if spec.get(nested):
            field["fields"] = schema_fields(spec[nested], f"{where}.fields[{number}].{nested}", nested)
        if spec.get("policyTags"):
            tags = spec_map(spec["policyTags"], f"{where}.fields[{number}].policyTags")
            field["policyTags"] = {"names": [str(name) for name in spec_list(tags.get("names"), "policyTags.names")]}
        out.append(field)
    return out


def _standard(spec: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {}
    if spec.get("clustering"):
        resource["clustering"] = {"fields": [str(name) for name in spec_list(spec["clustering"], "clustering")]}
    partitioning = spec_map(spec.get("timePartitioning"), "timePartitioning")
    if partitioning:
        kind = str(partitioning.get("type", "DAY"))
        if kind not in PARTITION_TYPES:
            raise TaskFailure(f"property 'timePartitioning.type': '{kind}' is not one of {', '.join(PARTITION_TYPES)}")
        resource["timePartitioning"] = {"type": kind}
        if partitioning.get("expiration"):
            resource["timePartitioning"]["expirationMs"] = _millis(partitioning["expiration"],
                                                                   "timePartitioning.expiration")
        if partitioning.get("field"):
            resource["timePartitioning"]["field"] = str(partitioning["field"])
        if partitioning.get("requirePartitionFilter") is not None:
            resource["timePartitioning"]["requirePartitionFilter"] = bool(partitioning["requirePartitionFilter"])
    ranges = spec_map(spec.get("rangePartitioning"), "rangePartitioning")
    if ranges:
        bounds = spec_map(ranges.get("range"), "rangePartitioning.range")
        resource["rangePartitioning"] = {"field": str(ranges.get("field", "")), "range": {
            key: str(bounds[key]) for key in ("start", "end", "interval") if bounds.get(key) is not None}}
    return resource


def _external(spec: dict[str, Any]) -> dict[str, Any]:
    uris = spec_list(spec["sourceUris"], "tableDefinition.externalTableDefinition.sourceUris")
    resource: dict[str, Any] = {"sourceUris": [str(uri) for uri in uris],
                                "sourceFormat": _EXTERNAL_FORMATS.get(str(spec.get("formatType", "CSV")), "CSV")}
    for key in ("autodetect", "ignoreUnknownValues"):
        if spec.get(key) is not None:
            resource[key] = bool(spec[key])
    if spec.get("compression"):
        resource["compression"] = str(spec["compression"])
    if spec.get("maxBadRecords") is not None:
        resource["maxBadRecords"] = spec_int(spec["maxBadRecords"], "externalTableDefinition.maxBadRecords")
    return resource


# Kestra's FormatType -> the REST sourceFormat.
_EXTERNAL_FORMATS = {"CSV": "CSV", "JSON": "NEWLINE_DELIMITED_JSON", "BIGTABLE": "BIGTABLE",
                     "DATASTORE_BACKUP": "DATASTORE_BACKUP", "AVRO": "AVRO", "GOOGLE_SHEETS": "GOOGLE_SHEETS",
                     "PARQUET": "PARQUET", "ORC": "ORC"}


def _millis(value: Any, prop: str) -> str:
    try:
        delta = value if isinstance(value, timedelta) else parse_duration(str(value))
    except ValueError:
        raise TaskFailure(f"property '{prop}': '{value}' is not an ISO-8601 duration") from None
    return str(int(delta.total_seconds() * 1000))


# -- a table's metadata as Kestra's AbstractTable.Output ------------------------------------------------

def table_output(resource: dict[str, Any]) -> dict[str, Any]:
    """A REST Table resource as Kestra outputs a table."""
    reference = resource.get("tableReference") or {}
    encryption = resource.get("encryptionConfiguration")
    return {
        "projectId": reference.get("projectId"), "datasetId": reference.get("datasetId"),
        "table": reference.get("tableId"), "etag": resource.get("etag"), "generatedId": resource.get("id"),
        "selfLink": resource.get("selfLink"), "friendlyName": resource.get("friendlyName"),
        "description": resource.get("description"),
        "creationTime": _instant(resource.get("creationTime")),
        "expirationTime": _instant(resource.get("expirationTime")),
        "lastModifiedTime": _instant(resource.get("lastModifiedTime")),
        "numBytes": _integer(resource.get("numBytes")), "numLongTermBytes": _integer(resource.get("numLongTermBytes")),
        "numRows": _integer(resource.get("numRows")), "definition": _definition_output(resource),
        "encryptionConfiguration": {"kmsKeyName": encryption.get("kmsKeyName")} if encryption else None,
        "labels": resource.get("labels") or {}, "requirePartitionFilter": resource.get("requirePartitionFilter"),
    }


def _definition_output(resource: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": resource.get("type", "TABLE")}
    if resource.get("schema"):
        out["schema"] = {"fields": [_field_output(field) for field in resource["schema"].get("fields") or ()]}
    if "view" in resource:
        out["viewDefinition"] = {"query": resource["view"].get("query"), "viewUserDefinedFunctions": [
            {"type": "INLINE" if "inlineCode" in udf else "FROM_URI",
             "content": udf.get("inlineCode", udf.get("resourceUri"))}
            for udf in resource["view"].get("userDefinedFunctionResources") or ()]}
    elif "materializedView" in resource:
        view = resource["materializedView"]
        out["materializedViewDefinition"] = {
            "query": view.get("query"), "enableRefresh": view.get("enableRefresh"),
            "lastRefreshDate": _instant(view.get("lastRefreshTime")),
            "refreshInterval": _duration(view.get("refreshIntervalMs"))}
    elif "externalDataConfiguration" in resource:
        external = resource["externalDataConfiguration"]
        formats = {value: key for key, value in _EXTERNAL_FORMATS.items()}
        out["externalTableDefinition"] = {
            "sourceUris": external.get("sourceUris"), "formatType": formats.get(external.get("sourceFormat")),
            "autodetect": external.get("autodetect"), "compression": external.get("compression"),
            "maxBadRecords": external.get("maxBadRecords"), "ignoreUnknownValues": external.get("ignoreUnknownValues")}
    else:
        partitioning = resource.get("timePartitioning")
        ranges = resource.get("rangePartitioning")
        out["standardTableDefinition"] = {
            "streamingBuffer": resource.get("streamingBuffer"),
            "clustering": (resource.get("clustering") or {}).get("fields"),
            "timePartitioning": None if not partitioning else {
                "type": partitioning.get("type"), "expiration": _duration(partitioning.get("expirationMs")),
                "field": partitioning.get("field"),
                "requirePartitionFilter": partitioning.get("requirePartitionFilter")},
            "rangePartitioning": None if not ranges else {
                "field": ranges.get("field"),
                "range": {key: _integer(value) for key, value in (ranges.get("range") or {}).items()}},
        }
    return out


def _field_output(field: dict[str, Any]) -> dict[str, Any]:
    kind = str(field.get("type", ""))
    return {"name": field.get("name"), "type": _STANDARD_TYPES.get(kind, kind),
            "subFields": [_field_output(sub) for sub in field["fields"]] if field.get("fields") else None,
            "mode": field.get("mode", "NULLABLE"), "description": field.get("description"),
            "policyTags": {"names": field["policyTags"].get("names")} if field.get("policyTags") else None}


def _instant(millis: Any) -> Any:
    if millis in (None, ""):
        return None
    return instant(datetime.fromtimestamp(int(millis) / 1000, timezone.utc))


def _integer(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _duration(millis: Any) -> str | None:
    return None if millis in (None, "") else format_duration(timedelta(milliseconds=int(millis)))


class DeleteTable(BigQueryTask):
    """Delete a BigQuery table (or a partition: `table$20240101`)."""

    type = "io.kestra.plugin.gcp.bigquery.DeleteTable"
    properties: ClassVar[dict[str, Prop]] = TABLE_PROPS
    outputs: ClassVar[dict[str, str]] = {"projectId": "The table's project.", "datasetId": "The table's dataset.",
                                         "table": "The table's name."}

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        project, dataset, table = _project(ctx, client), str(ctx.get("dataset")), str(ctx.get("table"))
        with bigquery_errors():
            client.delete_table(f"{project}.{dataset}.{table}")
        ctx.info(f"Deleted table {project}:{dataset}.{table}")
        return {"projectId": project, "datasetId": dataset, "table": table}


class TableMetadata(BigQueryTask):
    """Read a BigQuery table's metadata (schema, partitioning, size...)."""

    type = "io.kestra.plugin.gcp.bigquery.TableMetadata"
    properties: ClassVar[dict[str, Prop]] = {
        **TABLE_PROPS,
        "ifNotExists": Prop("enum", default="ERROR", choices=("ERROR", "SKIP"),
                            description="When the table does not exist: fail (ERROR) or output nothing (SKIP)."),
    }
    outputs: ClassVar[dict[str, str]] = TABLE_OUTPUTS

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        from google.api_core.exceptions import NotFound

        project, dataset, table = _project(ctx, client), str(ctx.get("dataset")), str(ctx.get("table"))
        with bigquery_errors():
            try:
                found = client.get_table(f"{project}.{dataset}.{table}")
            except NotFound:
                if str(ctx.get("ifNotExists")) == "SKIP":
                    return {}
                raise TaskFailure(f"Unable to find table '{project}:{dataset}.{table}'") from None
        return table_output(found.to_api_repr())
