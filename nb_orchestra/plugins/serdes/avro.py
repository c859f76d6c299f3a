"""io.kestra.plugin.serdes.avro: IonToAvro and AvroToIon (the 0.x names AvroWriter/AvroReader too).

fastavro reads and writes the Avro container files, block by block; the schema and the
conversion of Ion records are Kestra's (``avro_schema.py``, shared with Parquet).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure
from ..ion import instant, output_path, plain_datetime
from .avro_schema import CONVERTER_PROPS, AvroConverter, describe, resolve, schema_for
from .common import BAD_LINES, FROM, SerdesTask, bad_record, choice, ion_rows, library, store_ion


def root_record(raw_schema: Any) -> dict[str, Any]:
    """The resolved schema, which must be a record (Avro files and Parquet rows are records)."""
    root = resolve(raw_schema)
    if not isinstance(root, dict) or root["type"] not in ("record", "error"):
        raise TaskFailure(f"property 'schema': the root type must be a record, not {describe(root)}")
    return root


class IonToAvro(SerdesTask):
    """Convert a Kestra Ion file to an Avro file, with a given or an inferred Avro schema."""

    type = "io.kestra.plugin.serdes.avro.IonToAvro"
    aliases = ("io.kestra.plugin.serdes.avro.AvroWriter",)
    properties = {"from": FROM, **CONVERTER_PROPS}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        fastavro = library("fastavro", "Avro")
        source = self.source(ctx)
        raw_schema = schema_for(ctx, lambda: ion_rows(ctx, source))
        try:
            parsed = fastavro.parse_schema(raw_schema)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # SchemaParseException is a ValueError
            raise TaskFailure(f"property 'schema': invalid Avro schema: {exc}") from None
        root, converter = root_record(raw_schema), AvroConverter(ctx)
        read = [0]

        def records() -> Iterator[dict[str, Any]]:
            for number, row in enumerate(ion_rows(ctx, source), 1):
                read[0] = number
                record = converter.record(root, row, number)
                if record is not None:
                    yield record

        path = output_path(ctx, ".avro")
        try:
            with path.open("wb") as out:
                fastavro.writer(out, parsed, records())
        except (ValueError, TypeError, OverflowError, AttributeError) as exc:
            path.unlink(missing_ok=True)
            raise TaskFailure(f"Record {read[0]}: cannot write it to Avro: {exc}") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return {"uri": to_uri(path), "size": read[0]}


class AvroToIon(SerdesTask):
    """Convert an Avro file to Kestra's Ion format, record by record."""

    type = "io.kestra.plugin.serdes.avro.AvroToIon"
    aliases = ("io.kestra.plugin.serdes.avro.AvroReader",)
    properties = {
        "from": FROM,
        "onBadLines": Prop("enum", default="ERROR", choices=BAD_LINES,
                           description="A record that cannot be read: ERROR fails, WARN logs it and stops "
                                       "reading, SKIP stops reading silently."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        fastavro = library("fastavro", "Avro")
        source, policy = self.source(ctx), choice(ctx, "onBadLines")
        with source.open("rb") as stream:
            try:
                reader = fastavro.reader(stream)
            except Exception as exc:  # fastavro raises many kinds for a file that is not Avro
                raise TaskFailure(f"'{source.name}' is not an Avro file: {exc}") from None
            unwrap = _root_list(reader.writer_schema)

            def records() -> Iterator[Any]:
                number, values = 0, iter(reader)
                while True:
                    try:
                        record = next(values)
                    except StopIteration:
                        return
                    except Exception as exc:  # a corrupt block: fastavro cannot go on after it
                        bad_record(ctx, policy, f"Bad Avro record after record {number}: {exc}")
                        return
                    number += 1
                    yield avro_value(record["value"] if unwrap else record)

            return store_ion(ctx, records())


def _root_list(schema: Any) -> bool:
    """Kestra's wrapper of a root list: a record ``root`` with one array field ``value``."""
    if not isinstance(schema, dict) or str(schema.get("name", "")).rpartition(".")[2] != "root":
        return False
    fields = schema.get("fields") or []
    if len(fields) != 1 or fields[0].get("name") != "value":
        return False
    kind = fields[0].get("type")
    return isinstance(kind, dict) and kind.get("type") == "array"


def avro_value(value: Any) -> Any:
    """A value read by fastavro as Kestra's AvroDeserializer gives it: UTC date-times as Instants,
    UUIDs as text (dates, times, decimals and local date-times are already Python's)."""
    if isinstance(value, dict):
        return {key: avro_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [avro_value(item) for item in value]
    if isinstance(value, datetime):
        return instant(value) if value.tzinfo is not None else plain_datetime(value)
    if isinstance(value, UUID):
        return str(value)
    return value
