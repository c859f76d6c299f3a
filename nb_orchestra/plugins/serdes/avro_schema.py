"""Avro schemas for IonToAvro and IonToParquet, as Kestra's AbstractAvroConverter handles them.

Kestra writes Parquet through Avro too, so both tasks share this: the properties of the
conversion, the schema inferred from the first rows when none is given (InferAvroSchema), and
the conversion of an Ion record into the values of the schema (AvroConverter: text read as
numbers, booleans, dates... with the configured patterns and null/true/false values).
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Callable, Generator, Iterable
from contextlib import closing
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from ...expressions.dates import get_zone, parse_with_format
from ..base import Prop, TaskContext, TaskFailure
from ..ion import is_instant, plain_datetime
from .common import BAD_LINES, TIME_ZONE, bad_record, character, choice, java_text, zone_name

NAMESPACE = "io.kestra.plugin.serdes.avro"
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

CONVERTER_PROPS: dict[str, Prop] = {
    "schema": Prop("string", description="The Avro schema (JSON) of the records; when absent it is inferred "
                                         "from the first `numberOfRowsToScan` records."),
    "numberOfRowsToScan": Prop("int", default=100, description="Records scanned to infer the schema."),
    "inferAllFields": Prop("bool", default=False,
                           description="Scan every record to infer the schema (not only numberOfRowsToScan)."),
    "trueValues": Prop("list", default=["t", "true", "enabled", "1", "on", "yes"],
                       description="Text read as true (case-insensitive)."),
    "falseValues": Prop("list", default=["f", "false", "disabled", "0", "off", "no", ""],
                        description="Text read as false (case-insensitive)."),
    "nullValues": Prop("list", default=["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "1.#IND",
                                        "1.#QNAN", "NA", "n/a", "nan", "null"],
                       description="Text read as null (case-insensitive)."),
    "dateFormat": Prop("string", default="yyyy-MM-dd[XXX]", description="Java pattern to read dates."),
    "timeFormat": Prop("string", default="HH:mm[:ss][.SSSSSS][XXX]", description="Java pattern to read times."),
    "datetimeFormat": Prop("string", default="yyyy-MM-dd'T'HH:mm[:ss][.SSSSSS][XXX]",
                           description="Java pattern to read date-times."),
    "decimalSeparator": Prop("string", default=".", description="The decimal point of numbers in text (e.g. `,`)."),
    "strictSchema": Prop("bool", default=False, description="A record with more fields than the schema is an error."),
    "timeZoneId": TIME_ZONE,
    "onBadLines": Prop("enum", default="ERROR", choices=BAD_LINES,
                       description="A value that does not fit the schema: ERROR fails (naming the record and "
                                   "field), WARN logs it and writes null (skips the record if the field "
                                   "cannot be null), SKIP does so silently."),
}


class CellError(ValueError):
    """A value that does not fit its Avro type."""


# -- schemas ----------------------------------------------------------------------------------

def parse_schema(text: str) -> Any:
    """The JSON of the ``schema`` property; a task failure when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFailure(f"property 'schema': not a JSON Avro schema: {exc}") from None


def resolve(schema: Any) -> Any:
    """The schema with every type as a dict (``{"type": "int"}``) or a list (a union), and every
    reference to a named type replaced by its definition."""
    names: dict[str, dict[str, Any]] = {}

    def walk(node: Any, namespace: str) -> Any:
        if isinstance(node, list):
            return [walk(member, namespace) for member in node]
        if isinstance(node, str):
            if node in PRIMITIVES:
                return {"type": node}
            named = names.get(node) or names.get(f"{namespace}.{node}")
            if named is None:
                raise TaskFailure(f"property 'schema': unknown Avro type '{node}'")
            return named
        if not isinstance(node, dict) or "type" not in node:
            raise TaskFailure(f"property 'schema': not an Avro type: {json.dumps(node)[:100]}")
        kind = node["type"]
        if not isinstance(kind, str) or kind in PRIMITIVES and len(node) == 1:
            return walk(kind, namespace)
        out = dict(node)
        if kind in ("record", "error", "enum", "fixed"):
            name = str(node.get("name", ""))
            space = str(node.get("namespace", namespace)) if "." not in name else name.rpartition(".")[0]
            names[name if "." in name else f"{space}.{name}" if space else name] = out
            names.setdefault(name.rpartition(".")[2], out)
            if kind in ("record", "error"):
                out["fields"] = [{**field, "type": walk(field["type"], space)} for field in node.get("fields", [])]
            return out
        if kind == "array":
            out["items"] = walk(node["items"], namespace)
        elif kind == "map":
            out["values"] = walk(node["values"], namespace)
        elif kind not in PRIMITIVES:
            return walk(kind, namespace)
        return out

    return walk(schema, "")


def nullable(node: Any) -> bool:
    if isinstance(node, list):
        return any(member.get("type") == "null" for member in node)
    return bool(node.get("type") == "null")


def describe(node: Any) -> str:
    """A type in a message: ``int``, ``date``, ``null | string``, ``record Foo``."""
    if isinstance(node, list):
        return " | ".join(describe(member) for member in node)
    kind = node["type"]
    return node.get("logicalType") or (f"{kind} {node.get('name')}" if kind in ("record", "enum", "fixed") else kind)


def schema_for(ctx: TaskContext, rows: Callable[[], Generator[Any, None, None]]) -> Any:
    """The ``schema`` property, else the schema inferred from the first rows of ``rows()``."""
    text = ctx.get("schema")
    if text:
        return parse_schema(str(text))
    limit = None if ctx.get("inferAllFields") else int(ctx.get("numberOfRowsToScan"))
    if limit is not None and limit < 1:
        raise TaskFailure("property 'numberOfRowsToScan': the number of rows to scan must be greater than 0")
    with closing(rows()) as scanned:  # closes the file at once
        return infer_schema(itertools.islice(scanned, limit))


# -- inference (Kestra's InferAvroSchema) -----------------------------------------------------

def infer_schema(rows: Iterable[Any]) -> Any:
    """The Avro schema of ``rows`` (the root is a record named ``root``), merged over all rows."""
    merged: Any = None
    for row in rows:
        inferred = _infer("root", row)
        merged = inferred if merged is None else _merge(merged, inferred)
    if merged is None:
        raise TaskFailure("Cannot infer an Avro schema: the file has no record; give `schema`")
    return merged


def _nullable(kind: Any) -> list[Any]:
    return ["null", kind]


def _infer(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        fields = [_field(key, _infer(key, item)) for key, item in value.items()]
        record = {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields}
        return record if name == "root" else [record, "null"]
    if isinstance(value, list):
        items: Any = "string"
        for position, item in enumerate(value):
            inferred = _infer(f"{name}_items", item)
            items = inferred if position == 0 else _merge(inferred, items)
        array = {"type": "array", "items": items}
        if name == "root":  # Avro files hold records: a root list is the field "value" of one
            return {"type": "record", "name": "root", "namespace": NAMESPACE,
                    "fields": [{"name": "value", "type": array, "doc": ""}]}
        return [array, "null"]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _nullable("boolean")
    if isinstance(value, int):
        return _nullable("int" if -2**31 <= value < 2**31 else "long")
    if isinstance(value, float):
        return _nullable("double")
    if isinstance(value, (str, Decimal)):
        return _nullable("string")
    if isinstance(value, bytes):
        return _nullable("bytes")
    if isinstance(value, datetime):
        return _nullable({"type": "long", "logicalType": "local-timestamp-millis"})
    if isinstance(value, date):
        return _nullable({"type": "int", "logicalType": "date"})
    if isinstance(value, time):
        return _nullable({"type": "int", "logicalType": "time-millis"})
    raise TaskFailure(f"Cannot infer an Avro type for field '{name}' ({type(value).__name__}); give `schema`")


def _field(name: str, kind: Any) -> dict[str, Any]:
    field = {"name": name, "type": kind}
    if isinstance(kind, list) and kind[0] == "null":
        field["default"] = None
    return field


def _base(kind: Any) -> Any:
    return kind if isinstance(kind, str) else kind["type"]


def _merge(a: Any, b: Any) -> Any:
    """Kestra's mergeTypes: unions joined (two records or two arrays in one union merged), records
    merged field by field, different types made a union; types of one base type are the first."""
    if isinstance(a, list) or isinstance(b, list):
        members: list[Any] = []
        for member in (a if isinstance(a, list) else [a]) + (b if isinstance(b, list) else [b]):
            if member not in members:
                members.append(member)
        for base in ("record", "array"):
            same = [m for m in members if isinstance(m, dict) and m["type"] == base]
            if len(same) > 1:
                merged = _merge(same[0], same[1])
                return [m for m in members if not (isinstance(m, dict) and m["type"] == base)] + [merged]
        return members
    if _base(a) == "record" or _base(b) == "record":
        if _base(a) != _base(b):
            raise TaskFailure(f"Cannot infer an Avro schema: a field is a record in one row and a {_base(b)} "
                              "in another; give `schema`")
        fields = {field["name"]: field for field in a["fields"]}
        for field in b["fields"]:
            known = fields.get(field["name"])
            fields[field["name"]] = field if known is None else _field(field["name"], _merge(known["type"],
                                                                                               field["type"]))
        return {**a, "fields": list(fields.values())}
    return a if _base(a) == _base(b) else [a, b]


# -- conversion (Kestra's AvroConverter) ------------------------------------------------------

_INT = re.compile(r"[+-]?\d+")
_LOGICAL_BASES = {"decimal": ("bytes", "fixed"), "uuid": ("string", "fixed"), "date": ("int",),
                  "time-millis": ("int",), "time-micros": ("long",), "timestamp-millis": ("long",),
                  "timestamp-micros": ("long",), "local-timestamp-millis": ("long",),
                  "local-timestamp-micros": ("long",)}
_COLUMN = re.compile(r"col\d+")


class AvroConverter:
    """Ion records as the values of an Avro schema, with the task's conversion properties."""

    def __init__(self, ctx: TaskContext):
        self.ctx = ctx
        self.nulls = {str(v).lower() for v in ctx.get("nullValues")}
        self.trues = {str(v).lower() for v in ctx.get("trueValues")}
        self.falses = {str(v).lower() for v in ctx.get("falseValues")}
        self.date_format, self.time_format = str(ctx.get("dateFormat")), str(ctx.get("timeFormat"))
        self.datetime_format = str(ctx.get("datetimeFormat"))
        self.separator = character(ctx, "decimalSeparator")
        self.strict = bool(ctx.get("strictSchema"))
        self.zone = get_zone(zone_name(ctx))
        self.policy = choice(ctx, "onBadLines")

    def record(self, schema: dict[str, Any], row: Any, number: int) -> dict[str, Any] | None:
        """Record ``number`` as a dict for the record ``schema``; None when it is skipped (onBadLines)."""
        fields = schema["fields"]
        width = len(row) if isinstance(row, (list, dict)) else 0
        if isinstance(row, list):
            if len(fields) == 1 and isinstance(fields[0]["type"], dict) and fields[0]["type"]["type"] == "array":
                row, width = {fields[0]["name"]: row}, 1  # a root list (see _infer)
            else:
                row = {field["name"]: row[i] if i < len(row) else None for i, field in enumerate(fields)}
        elif isinstance(row, dict) and row and all(_COLUMN.fullmatch(str(key)) for key in row):
            row = {field["name"]: row.get(f"col{i}") for i, field in enumerate(fields)}  # col0, col1... by position
        elif not isinstance(row, dict):
            bad_record(self.ctx, self.policy, f"Record {number}: cannot convert a {type(row).__name__} to an "
                                              f"Avro record: {_shown(row)}")
            return None
        if self.strict and width > len(fields):
            bad_record(self.ctx, self.policy, f"Record {number}: it has more fields than the schema "
                                              f"({width} > {len(fields)}) and strictSchema is true")
        out: dict[str, Any] = {}
        for field in fields:
            name, value = field["name"], _lookup(field, row)
            try:
                out[name] = self.convert(field["type"], value, name)
            except _ERRORS as exc:
                bad_record(self.ctx, self.policy, f"Record {number}, field '{name}': cannot convert "
                                                  f"{_shown(value)} to {describe(field['type'])}: {exc}")
                if not nullable(field["type"]):
                    if self.policy == "WARN":
                        self.ctx.log("WARN", f"Record {number} skipped: field '{name}' cannot be null")
                    return None
                out[name] = None
        return out

    def convert(self, node: Any, data: Any, path: str) -> Any:
        if isinstance(node, list):
            return self._union(node, data, path)
        kind, logical = node["type"], node.get("logicalType")
        if logical and kind in _LOGICAL_BASES.get(logical, ()):
            return self._logical(node, logical, data)
        if kind in ("record", "error"):
            if not isinstance(data, dict):
                raise CellError("not a map")
            return {field["name"]: self._nested(field, data, path) for field in node["fields"]}
        if kind == "array":
            if not isinstance(data, list):
                raise CellError("not a list")
            return [self.convert(node["items"], item, f"{path}[{i}]") for i, item in enumerate(data)]
        if kind == "map":
            if not isinstance(data, dict):
                raise CellError("not a map")
            return {java_text(k): self.convert(node["values"], v, f"{path}[{k}]") for k, v in data.items()}
        if kind == "enum":
            text = java_text(data)
            if text not in node["symbols"]:
                raise CellError(f"not one of {node['symbols']}")
            return text
        if kind == "fixed":
            raw = data if isinstance(data, bytes) else java_text(data).encode()
            if len(raw) != node["size"]:
                raise CellError(f"{len(raw)} bytes, the fixed size is {node['size']}")
            return raw
        return self._primitive(kind, data)

    def _nested(self, field: dict[str, Any], data: dict[str, Any], path: str) -> Any:
        where = f"{path}.{field['name']}"
        try:
            return self.convert(field["type"], _lookup(field, data), where)
        except _ERRORS as exc:
            raise CellError(f"field '{where}': {exc}") from None

    def _union(self, members: list[Any], data: Any, path: str) -> Any:
        for member in members:
            try:
                return self.convert(member, data, path)
            except _ERRORS:
                continue
        raise CellError("it fits none of the union's types")

    def _primitive(self, kind: str, data: Any) -> Any:
        if kind == "null":
            if data is None or isinstance(data, str) and data.lower() in self.nulls:
                return None
            raise CellError("not null")
        if kind == "string":
            return java_text(data)
        if kind == "bytes":
            return data if isinstance(data, bytes) else java_text(data).encode()
        if kind == "boolean":
            if isinstance(data, str):
                if data.lower() in self.trues:
                    return True
                if data.lower() in self.falses:
                    return False
            elif isinstance(data, bool):
                return data
            elif isinstance(data, int) and data in (0, 1):
                return bool(data)
            raise CellError("not a boolean (see trueValues/falseValues)")
        if kind in ("int", "long"):
            if isinstance(data, str) and _INT.fullmatch(data):
                data = int(data)
            bits = 31 if kind == "int" else 63
            if isinstance(data, int) and not isinstance(data, bool) and -2**bits <= data < 2**bits:
                return data
            raise CellError(f"not a{'n' if kind == 'int' else ''} {kind}")
        if kind in ("float", "double"):
            if isinstance(data, str):
                return float(data.replace(self.separator, ".", 1))
            if isinstance(data, (int, float, Decimal)) and not isinstance(data, bool):
                return float(data)
            raise CellError("not a number")
        raise CellError(f"unknown Avro type '{kind}'")

    def _logical(self, node: dict[str, Any], logical: str, data: Any) -> Any:
        if logical == "decimal":
            scale = int(node.get("scale", 0))
            if isinstance(data, str):
                number = Decimal(data.replace(self.separator, ".", 1))
            elif isinstance(data, float):
                number = Context(prec=int(node["precision"])).create_decimal_from_float(data)
            elif isinstance(data, (int, Decimal)) and not isinstance(data, bool):
                number = Decimal(data)
            else:
                raise CellError("not a decimal")
            return number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN)
        if logical == "uuid":
            return str(data if isinstance(data, uuid.UUID) else uuid.UUID(str(data)))
        if logical == "date":
            if isinstance(data, str):
                return self._parse(data, self.date_format, "date").date()
            if isinstance(data, datetime):
                return (data.astimezone(self.zone) if is_instant(data) else data).date()
            if isinstance(data, date):
                return data
            raise CellError("not a date")
        if logical.startswith("time-"):
            if isinstance(data, str):
                return self._parse(f"1970-01-01 {data}", f"yyyy-MM-dd {self.time_format}", "time").time()
            if isinstance(data, time):
                return data.replace(tzinfo=None)
            raise CellError("not a time")
        moment = self._instant(data, logical.endswith("micros"))
        if logical.startswith("local-"):
            return moment.astimezone(self.zone).replace(tzinfo=None)
        return moment

    def _instant(self, data: Any, micros: bool) -> datetime:
        """Kestra's logicalTimestamp*: epoch numbers (ms, or µs), text, date-times (local ones in the zone)."""
        if isinstance(data, str) and _INT.fullmatch(data):
            data = int(data)
        if isinstance(data, int) and not isinstance(data, bool):
            return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(**{"microseconds" if micros else
                                                                            "milliseconds": data})
        if isinstance(data, str):
            return self._parse(data, self.datetime_format, "date-time")
        if isinstance(data, datetime):
            moment = plain_datetime(data)
            return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)
        if isinstance(data, date):  # Kestra reads a UTC midnight as a date: its start in the zone
            return datetime.combine(data, time(), tzinfo=self.zone)
        raise CellError("not a date-time")

    def _parse(self, text: str, pattern: str, what: str) -> datetime:
        try:
            return parse_with_format(text, pattern, self.zone)
        except ValueError:
            raise CellError(f"not a {what} of the pattern '{pattern}'") from None


_ERRORS = (CellError, ValueError, TypeError, ArithmeticError)  # Decimal's InvalidOperation is arithmetic


def _lookup(field: dict[str, Any], data: dict[str, Any]) -> Any:
    """The field's value by name, else by its first alias that has one."""
    value = data.get(field["name"])
    if value is None:
        value = next((data[alias] for alias in field.get("aliases", ()) if data.get(alias) is not None), None)
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value, default=java_text, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
