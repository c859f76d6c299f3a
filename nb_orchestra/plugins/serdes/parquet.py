"""io.kestra.plugin.serdes.parquet: IonToParquet and ParquetToIon (the 0.x names ParquetWriter/ParquetReader).

pyarrow writes and reads. As in Kestra, the columns come from an Avro schema, given or inferred
(``avro_schema.py``); records are converted and written in record batches, one row group per
``rowGroupSize`` bytes of data, and read back batch by batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure
from ..ion import instant, output_path, plain_datetime
from .avro import root_record
from .avro_schema import CONVERTER_PROPS, AvroConverter, describe, nullable, schema_for
from .common import FROM, SerdesTask, choice, ion_rows, library, store_ion

BATCH_ROWS = 10_000
_CODECS = {"UNCOMPRESSED": "none", "SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd"}


class IonToParquet(SerdesTask):
    """Convert a Kestra Ion file to a Parquet file, with a given or an inferred Avro schema."""

    type = "io.kestra.plugin.serdes.parquet.IonToParquet"
    aliases = ("io.kestra.plugin.serdes.parquet.ParquetWriter",)
    properties = {
        "from": FROM,
        "compressionCodec": Prop("enum", default="GZIP", choices=tuple(_CODECS), description="Compression codec."),
        "parquetVersion": Prop("enum", default="V2", choices=("V1", "V2"), description="Parquet data page version."),
        "rowGroupSize": Prop("int", default=128 * 1024 * 1024,
                             description="Target row group size, in bytes of (uncompressed) data."),
        "pageSize": Prop("int", default=1024 * 1024, description="Target page size, in bytes."),
        "dictionaryPageSize": Prop("int", default=1024 * 1024, description="Largest dictionary page, in bytes."),
        **CONVERTER_PROPS,
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        pa = library("pyarrow", "Parquet")
        pq = library("pyarrow.parquet", "Parquet")
        source = self.source(ctx)
        root = root_record(schema_for(ctx, lambda: ion_rows(ctx, source)))
        schema = pa.schema([_field(pa, field, field["name"], set()) for field in root["fields"]])
        converter, group_bytes = AvroConverter(ctx), int(ctx.get("rowGroupSize"))
        path = output_path(ctx, ".parquet")
        read = 0
        try:
            with pq.ParquetWriter(path, schema, compression=_CODECS[choice(ctx, "compressionCodec")],
                                  data_page_version="2.0" if choice(ctx, "parquetVersion") == "V2" else "1.0",
                                  data_page_size=int(ctx.get("pageSize")),
                                  dictionary_pagesize_limit=int(ctx.get("dictionaryPageSize"))) as writer:
                group: list[Any] = []  # record batches of the row group being filled
                rows: list[dict[str, Any]] = []
                for read, row in enumerate(ion_rows(ctx, source), 1):
                    record = converter.record(root, row, read)
                    if record is not None:
                        rows.append(record)
                    if len(rows) == BATCH_ROWS:
                        group.append(_batch(pa, rows, schema, read))
                        rows = []
                        if sum(batch.nbytes for batch in group) >= group_bytes:
                            _write_group(pa, writer, group)
                            group = []
                if rows:
                    group.append(_batch(pa, rows, schema, read))
                _write_group(pa, writer, group)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return {"uri": to_uri(path), "size": read}


def _batch(pa: Any, rows: list[dict[str, Any]], schema: Any, last: int) -> Any:
    try:
        return pa.RecordBatch.from_pylist(rows, schema=schema)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        raise TaskFailure(f"Records {last - len(rows) + 1}-{last}: cannot write them to Parquet: {exc}") from None


def _write_group(pa: Any, writer: Any, group: list[Any]) -> None:
    if group:
        table = pa.Table.from_batches(group)
        writer.write_table(table, row_group_size=table.num_rows)


def _field(pa: Any, field: dict[str, Any], path: str, seen: set[int]) -> Any:
    return pa.field(field["name"], _arrow_type(pa, field["type"], path, seen), nullable=nullable(field["type"]))


def _arrow_type(pa: Any, node: Any, path: str, seen: set[int]) -> Any:
    """The Arrow type of an Avro type, as parquet-avro lays it out (logical types kept)."""
    if isinstance(node, list):
        members = [member for member in node if member["type"] != "null"]
        if len(members) > 1:
            raise TaskFailure(f"Field '{path}' is one of {describe(members)}: a Parquet column has one type; "
                              "give a `schema` with one type (and null) for it")
        return _arrow_type(pa, members[0], path, seen) if members else pa.null()
    kind, logical = node["type"], node.get("logicalType")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        precision, scale = int(node["precision"]), int(node.get("scale", 0))
        return (pa.decimal128 if precision <= 38 else pa.decimal256)(precision, scale)
    logical_types = {
        ("date", "int"): pa.date32(), ("time-millis", "int"): pa.time32("ms"), ("time-micros", "long"): pa.time64("us"),
        ("timestamp-millis", "long"): pa.timestamp("ms", tz="UTC"),
        ("timestamp-micros", "long"): pa.timestamp("us", tz="UTC"),
        ("local-timestamp-millis", "long"): pa.timestamp("ms"), ("local-timestamp-micros", "long"): pa.timestamp("us"),
        ("uuid", "string"): pa.string(),
    }
    if (logical, kind) in logical_types:
        return logical_types[(logical, kind)]
    primitives = {"null": pa.null(), "boolean": pa.bool_(), "int": pa.int32(), "long": pa.int64(),
                  "float": pa.float32(), "double": pa.float64(), "bytes": pa.binary(), "string": pa.string(),
                  "enum": pa.string()}
    if kind in primitives:
        return primitives[kind]
    if kind == "fixed":
        return pa.binary(int(node["size"]))
    if kind == "array":
        items = node["items"]
        return pa.list_(pa.field("element", _arrow_type(pa, items, f"{path}[]", seen), nullable=nullable(items)))
    if kind == "map":
        values = node["values"]
        return pa.map_(pa.string(), pa.field("value", _arrow_type(pa, values, f"{path}{{}}", seen),
                                             nullable=nullable(values)))
    if id(node) in seen:
        raise TaskFailure(f"Field '{path}': a recursive Avro type cannot be a Parquet column")
    inner = seen | {id(node)}
    return pa.struct([_field(pa, field, f"{path}.{field['name']}", inner) for field in node["fields"]])


class ParquetToIon(SerdesTask):
    """Convert a Parquet file to Kestra's Ion format, batch by batch."""

    type = "io.kestra.plugin.serdes.parquet.ParquetToIon"
    aliases = ("io.kestra.plugin.serdes.parquet.ParquetReader",)
    properties = {"from": FROM}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        pa = library("pyarrow", "Parquet")
        pq = library("pyarrow.parquet", "Parquet")
        source = self.source(ctx)
        try:
            parquet = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as exc:
            raise TaskFailure(f"'{source.name}' is not a Parquet file: {exc}") from None
        with parquet:
            return store_ion(ctx, _rows(parquet))


def _rows(parquet: Any) -> Iterator[Any]:
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            yield {key: _value(value) for key, value in row.items()}


def _value(value: Any) -> Any:
    """A value pyarrow read as Kestra's Avro reader gives it: UTC timestamps as Instants, maps as maps."""
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) for item in value):  # pyarrow reads a map as (key, value) pairs
            return {str(key): _value(item) for key, item in value}
        return [_value(item) for item in value]
    if isinstance(value, datetime):
        return instant(value) if value.tzinfo is not None else plain_datetime(value)
    return value
