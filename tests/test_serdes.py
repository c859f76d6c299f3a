"""io.kestra.plugin.serdes: CSV, JSON, Parquet, Avro, Excel and YAML to and from Kestra's Ion files.

Every test writes real files, runs flows through ``nb_orchestra.run`` and reads the outputs back
with the format's own library (amazon.ion, csv, json, pyarrow, fastavro, openpyxl, PyYAML).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import fastavro
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from amazon.ion import simpleion
from amazon.ion.simple_types import IonPyNull

from nb_orchestra import internal_storage

from .conftest import messages, run_flow

CSV_READ = "io.kestra.plugin.serdes.csv.CsvToIon"


def put_bytes(home, name: str, data: bytes) -> str:
    """``data`` stored as an uploaded file of the internal storage; its kestra:// URI."""
    source = home / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return internal_storage.put_file(source, home / "storage" / "uploads")


def path_of(uri: str):
    return internal_storage.to_path(uri)


def plain(value):
    """An Ion value as Python: typed nulls None, day timestamps dates, annotated text (annotation, text)."""
    if isinstance(value, IonPyNull):
        return None
    if isinstance(value, Mapping):  # an IonPyDict is a mapping, not a dict
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    annotations = [a.text for a in getattr(value, "ion_annotations", ())]
    if annotations:
        return annotations[0], str(value)
    if isinstance(value, datetime):
        if value.precision.name == "DAY":
            return value.date()
        return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                        value.microsecond, tzinfo=value.tzinfo)
    for kind in (bool, int, float, str, bytes):
        if isinstance(value, kind):
            return kind(value)
    return value


def ion_records(uri: str) -> list:
    """Every value of an Ion file (Kestra writes one per line)."""
    with path_of(uri).open("rb") as source:
        return [plain(value) for value in simpleion.load(source, single_value=False)]


def run(body: str, expect: str = "SUCCESS", **inputs):
    """Run a flow whose ``inputs`` are the STRING inputs given (file URIs); it must end ``expect``."""
    declared = "".join(f"  - id: {name}\n    type: STRING\n" for name in inputs)
    ex = run_flow("inputs:\n" + declared + body, inputs=inputs)
    assert ex.state == expect, [(t.task_id, t.message) for t in ex.taskruns]
    return ex


def run_failing(body: str, **inputs):
    return run(body, "FAILED", **inputs)


# Ion written the way Kestra writes it: dates as day timestamps, Instants as UTC timestamps,
# other java.time values as annotated strings.
ION_TYPED = (
    '{id:1,name:"apple",price:1.5e0,day:2024-01-02T,at:2024-01-02T03:04:05.123Z,'
    'local:LocalDateTime::"2024-01-02T03:04:05",note:null,tags:["a","b"],dims:{w:2,h:3}}\n'
    '{id:2,name:"pear",price:null,day:null,at:2024-03-04T05:06:07.000Z,local:null,'
    'note:"ripe",tags:[],dims:{w:5,h:null}}\n'
)


# -- CSV ----------------------------------------------------------------------------------------

CSV_TEXT = 'id,name,comment,price\n1,"Smith, Jane","says ""hi""",1.50\n2,Zoë,"two\nlines",\\N\n3,,plain,0\n'


def test_csv_to_ion_to_csv_round_trip_with_the_1x_names(isolated_home):
    uri = put_bytes(isolated_home, "in.csv", CSV_TEXT.encode())
    ex = run("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvReader
    from: "{{ inputs.file }}"
  - id: write
    type: io.kestra.plugin.serdes.csv.CsvWriter
    from: "{{ outputs.read.uri }}"
""", file=uri)
    expected = list(csv.DictReader(io.StringIO(CSV_TEXT)))
    for row in expected:
        row.update({key: None for key, value in row.items() if value == "\\N"})
    assert ion_records(ex.outputs.read.uri) == expected
    assert ex.outputs.read.size == len(expected) and ex.outputs.read.uri.endswith(".ion")
    written = path_of(ex.outputs.write.uri).read_text(encoding="utf-8")
    back = list(csv.DictReader(io.StringIO(written)))
    assert back == [{key: value or "" for key, value in row.items()} for row in expected]  # null: empty field
    assert ex.outputs.write.size == len(expected) and ex.outputs.write.uri.endswith(".csv")


def test_csv_options_separator_quote_no_header_skip_rows_and_charset(isolated_home):
    text = "a;b;c\n'x;1';é;\\N\nskip;me;too\n"
    uri = put_bytes(isolated_home, "in.csv", text.encode("iso-8859-1"))
    ex = run("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
    header: false
    fieldSeparator: ";"
    textDelimiter: "'"
    charset: ISO-8859-1
  - id: skipping
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
    fieldSeparator: ";"
    textDelimiter: "'"
    charset: ISO-8859-1
    skipRows: 1
""", file=uri)
    rows = list(csv.reader(io.StringIO(text), delimiter=";", quotechar="'"))
    assert ion_records(ex.outputs.read.uri) == [[None if v == "\\N" else v for v in row] for row in rows]
    assert ion_records(ex.outputs.skipping.uri) == [dict(zip(rows[0], rows[2], strict=True))]


def test_csv_unnamed_header_columns_dropped_or_renamed(isolated_home):
    uri = put_bytes(isolated_home, "in.csv", b"a,,b,\n1,2,3,4\n")
    ex = run("""
tasks:
  - id: dropped
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
  - id: renamed
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
    onEmptyHeader: RENAME
""", file=uri)
    assert ion_records(ex.outputs.dropped.uri) == [{"a": "1", "": "2", "b": "3"}]
    assert ion_records(ex.outputs.renamed.uri) == [{"a": "1", "col_1": "2", "b": "3", "col_3": "4"}]
    assert any("Dropped 1 trailing unnamed header column" in m for m in messages(ex, "dropped", "WARN"))


def test_csv_not_utf8_fails_with_a_clear_located_message(isolated_home):
    uri = put_bytes(isolated_home, "latin.csv", "id,name\n1,ok\n2,Zoë\n".encode("iso-8859-1"))
    ex = run_failing("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
""", file=uri)
    message = ex.taskrun("read").message
    assert message.startswith("The file is not valid UTF-8 text (line 3: byte 0xeb)")
    assert "set `charset`" in message and "Traceback" not in message and "\n" not in message


@pytest.mark.parametrize("bad_line, reason", [
    ('4,"oops"x,1\n', "Malformed CSV at line 5: ',' expected after '\"'"),
    ("4,too,many,fields\n", "Bad line at line 5 (field count mismatch): expected 3, got 4 fields"),
    ('4,"never closed,1\n', "Malformed CSV at line 5: unexpected end of data (a quoted field is never closed)"),
])
def test_csv_bad_line_fails_naming_its_line(isolated_home, bad_line, reason):
    text = 'id,name,qty\n1,a,1\n2,"two\nlines",2\n' + bad_line + "5,e,5\n"  # the bad record is on line 5
    uri = put_bytes(isolated_home, "bad.csv", text.encode())
    ex = run_failing("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
""", file=uri)
    assert ex.taskrun("read").message == reason


def test_csv_bad_lines_warn_skips_them_and_a_quoted_newline_keeps_line_numbers(isolated_home):
    text = 'id,name,qty\n1,"two\nlines",1\n2,b\n3,c,3\n'
    uri = put_bytes(isolated_home, "bad.csv", text.encode())
    ex = run("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
    onBadLines: WARN
""", file=uri)
    assert ion_records(ex.outputs.read.uri) == [{"id": "1", "name": "two\nlines", "qty": "1"},
                                                {"id": "3", "name": "c", "qty": "3"}]
    assert messages(ex, "read", "WARN") == ["Bad line at line 4 (field count mismatch): expected 3, got 2 fields"]


def test_ion_to_csv_formats_dates_and_quotes_as_kestra(isolated_home):
    ion = ('{day:2024-01-02T,at:2024-01-02T03:04:05.123Z,local:LocalDateTime::"2024-01-02T03:04:05",'
           'zoned:ZonedDateTime::"2024-01-02T03:04:05+01:00[Europe/Paris]",t:LocalTime::"03:04:05",'
           'n:null,x:1.5e0,big:1.0e10,dec:1.50,flag:true,text:"a,b"}\n')
    uri = put_bytes(isolated_home, "in.ion", ion.encode())
    ex = run("""
tasks:
  - id: default
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ inputs.file }}"
    timeZoneId: America/New_York
  - id: patterns
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ inputs.file }}"
    header: false
    dateFormat: dd/MM/yyyy
    dateTimeFormat: "yyyy-MM-dd HH:mm"
    quoteMode: NON_NUMERIC
  - id: always
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ inputs.file }}"
    header: false
    quoteMode: ALWAYS
    lineDelimiter: "\\r\\n"
""", file=uri)
    header, row = path_of(ex.outputs.default.uri).read_text().splitlines()
    assert header == "day,at,local,zoned,t,n,x,big,dec,flag,text"
    # the Instant prints in UTC, the zoned date-time in timeZoneId (02:04:05Z is 21:04:05 in New York)
    assert row == ("2024-01-02,2024-01-02T03:04:05.123Z,2024-01-02T03:04:05.000,2024-01-01T21:04:05.000-05:00,"
                   '03:04:05,,1.5,1.0E10,1.50,true,"a,b"')
    assert path_of(ex.outputs.patterns.uri).read_text() == (
        '"02/01/2024","2024-01-02 03:04","2024-01-02 03:04","2024-01-02 02:04","03:04:05",,1.5,"1.0E10",1.50,'
        '"true","a,b"\n')
    always = path_of(ex.outputs.always.uri).read_bytes()
    assert always.endswith(b'"true","a,b"\r\n') and b',,"1.5",' in always


# -- JSON ---------------------------------------------------------------------------------------

JSON_RECORDS = [
    {"id": 1, "name": "Zoë", "price": 1.5, "tags": ["a", "b"], "dims": {"w": 2, "inner": {"deep": [1, {"x": None}]}},
     "note": None, "ok": True},
    {"id": 2, "name": "pear", "price": None, "tags": [], "dims": {}, "note": "ripe", "ok": False},
    {"id": 12345678901234567890, "name": "big", "price": -0.25, "tags": [None], "dims": {"w": 1}, "note": "",
     "ok": None},
]


def test_json_lines_and_array_to_ion_and_back(isolated_home):
    lines = put_bytes(isolated_home, "in.jsonl", "".join(json.dumps(r) + "\n" for r in JSON_RECORDS).encode())
    array = put_bytes(isolated_home, "in.json", json.dumps(JSON_RECORDS, indent=2, ensure_ascii=False).encode())
    ex = run("""
tasks:
  - id: from_lines
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{ inputs.lines }}"
  - id: from_array
    type: io.kestra.plugin.serdes.json.JsonReader
    from: "{{ inputs.array }}"
    newLine: false
  - id: to_lines
    type: io.kestra.plugin.serdes.json.IonToJson
    from: "{{ outputs.from_array.uri }}"
  - id: to_array
    type: io.kestra.plugin.serdes.json.JsonWriter
    from: "{{ outputs.from_lines.uri }}"
    newLine: false
""", lines=lines, array=array)
    assert ion_records(ex.outputs.from_lines.uri) == JSON_RECORDS
    assert ion_records(ex.outputs.from_array.uri) == JSON_RECORDS
    assert ex.outputs.from_array.size == ex.outputs.to_array.size == len(JSON_RECORDS)
    written = path_of(ex.outputs.to_lines.uri).read_text(encoding="utf-8")
    assert [json.loads(line) for line in written.splitlines()] == JSON_RECORDS
    assert ex.outputs.to_lines.uri.endswith(".jsonl") and ex.outputs.to_array.uri.endswith(".json")
    assert json.loads(path_of(ex.outputs.to_array.uri).read_text(encoding="utf-8")) == JSON_RECORDS


def test_json_document_of_one_record_and_a_large_array_read_in_pieces(isolated_home):
    records = [{"n": i, "text": "x" * (i % 97), "nested": {"list": list(range(i % 7))}} for i in range(6000)]
    big = put_bytes(isolated_home, "big.json", json.dumps(records).encode())  # one line of ~500 kB
    one = put_bytes(isolated_home, "one.json", b'{"only": {"one": [1, 2.5, "three"]}}')
    ex = run("""
tasks:
  - id: big
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{ inputs.big }}"
    newLine: false
  - id: one
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{ inputs.one }}"
    newLine: false
  - id: one_back
    type: io.kestra.plugin.serdes.json.IonToJson
    from: "{{ outputs.one.uri }}"
    newLine: false
""", big=big, one=one)
    assert ex.outputs.big.size == len(records) and ion_records(ex.outputs.big.uri) == records
    assert ion_records(ex.outputs.one.uri) == [{"only": {"one": [1, 2.5, "three"]}}]
    # one record: an object, not an array of one
    assert json.loads(path_of(ex.outputs.one_back.uri).read_text()) == {"only": {"one": [1, 2.5, "three"]}}


@pytest.mark.parametrize("text, new_line, where", [
    ('{"a": 1}\n{"a": 2,}\n', "true", "line 2, column 9"),
    ('[\n  {"a": 1},\n  {"a": 2}\n  {"a": 3}\n]', "false", "line 4, column 3"),
    ('[\n  {"a": 1},\n  {"a": tru}\n]', "false", "line 3, column 9"),
])
def test_invalid_json_fails_naming_line_and_column(isolated_home, text, new_line, where):
    uri = put_bytes(isolated_home, "bad.json", text.encode())
    ex = run_failing(f"""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{{{ inputs.file }}}}"
    newLine: {new_line}
""", file=uri)
    message = ex.taskrun("read").message
    assert message.startswith(f"Invalid JSON at {where}:") and "Traceback" not in message


def test_json_not_utf8_fails_clearly(isolated_home):
    data = '[{"a": "ok"},\n {"a": "Zoë"}]'.encode("iso-8859-1")
    uri = put_bytes(isolated_home, "latin.json", data)
    ex = run_failing("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{ inputs.file }}"
    newLine: false
""", file=uri)
    offset = data.index("ë".encode("iso-8859-1"))
    assert ex.taskrun("read").message.startswith(
        f"The file is not valid UTF-8 text (line 2, byte offset {offset}: byte 0xeb)")


def test_ion_to_json_writes_dates_as_kestra_and_keeps_annotations(isolated_home):
    uri = put_bytes(isolated_home, "typed.ion", ION_TYPED.encode())
    ex = run("""
tasks:
  - id: json
    type: io.kestra.plugin.serdes.json.IonToJson
    from: "{{ inputs.file }}"
  - id: annotated
    type: io.kestra.plugin.serdes.json.IonToJson
    from: "{{ inputs.file }}"
    shouldKeepAnnotations: true
""", file=uri)
    first, second = (json.loads(line) for line in path_of(ex.outputs.json.uri).read_text().splitlines())
    assert first == {"id": 1, "name": "apple", "price": 1.5, "day": "2024-01-02", "at": "2024-01-02T03:04:05.123Z",
                     "local": "2024-01-02T03:04:05", "note": None, "tags": ["a", "b"], "dims": {"w": 2, "h": 3}}
    assert second["at"] == "2024-03-04T05:06:07Z" and second["day"] is None and second["tags"] == []
    annotated = json.loads(path_of(ex.outputs.annotated.uri).read_text().splitlines()[0])
    assert annotated["local"] == {"ion_annotations": ["LocalDateTime"], "value": "2024-01-02T03:04:05"}
    assert annotated["name"] == "apple" and annotated["dims"] == {"w": 2, "h": 3}


# -- Parquet ------------------------------------------------------------------------------------

def test_ion_to_parquet_to_ion_with_an_inferred_schema(isolated_home):
    uri = put_bytes(isolated_home, "typed.ion", ION_TYPED.encode())
    ex = run("""
tasks:
  - id: parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{ inputs.file }}"
  - id: back
    type: io.kestra.plugin.serdes.parquet.ParquetReader
    from: "{{ outputs.parquet.uri }}"
""", file=uri)
    table = pq.read_table(path_of(ex.outputs.parquet.uri))
    types = {field.name: field.type for field in table.schema}
    assert types["id"] == pa.int32() and types["price"] == pa.float64() and types["day"] == pa.date32()
    assert types["at"] == pa.timestamp("ms") and types["local"] == pa.timestamp("ms")  # Kestra infers local times
    assert types["tags"].value_type == pa.string()
    assert types["dims"] == pa.struct([("w", pa.int32()), ("h", pa.int32())])
    assert table.column("day").to_pylist() == [date(2024, 1, 2), None]
    assert table.column("at").to_pylist() == [datetime(2024, 1, 2, 3, 4, 5, 123000), datetime(2024, 3, 4, 5, 6, 7)]
    assert table.column("dims").to_pylist() == [{"w": 2, "h": 3}, {"w": 5, "h": None}]
    assert ex.outputs.parquet.size == ex.outputs.back.size == 2
    first, second = ion_records(ex.outputs.back.uri)
    assert first == {"id": 1, "name": "apple", "price": 1.5, "day": date(2024, 1, 2),
                     "at": ("LocalDateTime", "2024-01-02T03:04:05.123000"),
                     "local": ("LocalDateTime", "2024-01-02T03:04:05"), "note": None, "tags": ["a", "b"],
                     "dims": {"w": 2, "h": 3}}
    assert second["price"] is None and second["local"] is None and second["tags"] == [] and second["note"] == "ripe"


def test_csv_text_to_typed_parquet_with_a_schema(isolated_home):
    text = "id,price,active,day,at,note\n1,\"1,50\",yes,2024-01-02,2024-01-02T03:04:05Z,\n2,3,0,,1704164645000,NA\n"
    uri = put_bytes(isolated_home, "in.csv", text.encode())
    schema = {"type": "record", "name": "Row", "fields": [
        {"name": "id", "type": "long"}, {"name": "price", "type": {"type": "bytes", "logicalType": "decimal",
                                                                 "precision": 6, "scale": 2}},
        {"name": "active", "type": "boolean"},
        {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "note", "type": ["null", "string"]}]}
    ex = run("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
  - id: parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{ outputs.read.uri }}"
    decimalSeparator: ","
    compressionCodec: ZSTD
    schema: "{{ inputs.schema }}"
  - id: back
    type: io.kestra.plugin.serdes.parquet.ParquetToIon
    from: "{{ outputs.parquet.uri }}"
""", file=uri, schema=json.dumps(schema))
    table = pq.read_table(path_of(ex.outputs.parquet.uri))
    assert pq.ParquetFile(path_of(ex.outputs.parquet.uri)).metadata.row_group(0).column(0).compression == "ZSTD"
    assert table.schema.field("at").type == pa.timestamp("ms", tz="UTC")
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert table.to_pylist() == [
        {"id": 1, "price": Decimal("1.50"), "active": True, "day": date(2024, 1, 2), "at": at, "note": None},
        {"id": 2, "price": Decimal("3.00"), "active": False, "day": None, "at": at, "note": None},
    ]
    # timestamp-millis is an Instant: an Ion timestamp again
    assert [row["at"] for row in ion_records(ex.outputs.back.uri)] == [at, at]


def test_a_value_that_does_not_fit_the_schema_fails_naming_record_and_field(isolated_home):
    uri = put_bytes(isolated_home, "in.ion", b'{id:"1",price:"2.5"}\n{id:"x",price:"3"}\n')
    schema = json.dumps({"type": "record", "name": "Row",
                         "fields": [{"name": "id", "type": "int"}, {"name": "price", "type": "double"}]})
    ex = run_failing("""
tasks:
  - id: parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{ inputs.file }}"
    schema: "{{ inputs.schema }}"
""", file=uri, schema=schema)
    message = ex.taskrun("parquet").message
    assert message.startswith("Record 2, field 'id': cannot convert \"x\" to int") and "Traceback" not in message
    assert not list(path_of(uri).parent.parent.rglob("*.parquet"))  # no half-written file left


# -- Avro ---------------------------------------------------------------------------------------

def test_ion_to_avro_to_ion_with_an_inferred_schema(isolated_home):
    uri = put_bytes(isolated_home, "typed.ion", ION_TYPED.encode())
    ex = run("""
tasks:
  - id: avro
    type: io.kestra.plugin.serdes.avro.AvroWriter
    from: "{{ inputs.file }}"
  - id: back
    type: io.kestra.plugin.serdes.avro.AvroToIon
    from: "{{ outputs.avro.uri }}"
""", file=uri)
    with path_of(ex.outputs.avro.uri).open("rb") as source:
        reader = fastavro.reader(source)
        fields = {field["name"]: field["type"] for field in reader.writer_schema["fields"]}
        records = list(reader)
    assert fields["day"] == ["null", {"type": "int", "logicalType": "date"}]
    assert fields["id"] == ["null", "int"] and fields["note"] == ["null", "string"]
    assert records[0]["day"] == date(2024, 1, 2) and records[1]["day"] is None
    assert records[0]["at"] == datetime(2024, 1, 2, 3, 4, 5, 123000)  # local-timestamp-millis, in timeZoneId
    assert records[0]["dims"] == {"w": 2, "h": 3} and records[1]["tags"] == []
    first, second = ion_records(ex.outputs.back.uri)
    assert first["day"] == date(2024, 1, 2) and first["tags"] == ["a", "b"] and first["note"] is None
    assert first["local"] == ("LocalDateTime", "2024-01-02T03:04:05")
    assert second == {"id": 2, "name": "pear", "price": None, "day": None,
                      "at": ("LocalDateTime", "2024-03-04T05:06:07"), "local": None, "note": "ripe", "tags": [],
                      "dims": {"w": 5, "h": None}}


def test_csv_text_to_avro_with_a_schema_and_bad_values_warned(isolated_home):
    text = "id,amount,when,ok\n1,1.25,2024-01-02T10:00:00+01:00,on\n2,oops,2024-01-03T10:00:00,off\n"
    uri = put_bytes(isolated_home, "in.csv", text.encode())
    schema = {"type": "record", "name": "Payment", "namespace": "com.example", "fields": [
        {"name": "id", "type": "int"}, {"name": "amount", "type": ["null", "double"], "default": None},
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "ok", "type": "boolean"}]}
    ex = run("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
  - id: avro
    type: io.kestra.plugin.serdes.avro.IonToAvro
    from: "{{ outputs.read.uri }}"
    schema: "{{ inputs.schema }}"
    timeZoneId: Europe/Paris
    onBadLines: WARN
  - id: back
    type: io.kestra.plugin.serdes.avro.AvroReader
    from: "{{ outputs.avro.uri }}"
""", file=uri, schema=json.dumps(schema))
    with path_of(ex.outputs.avro.uri).open("rb") as source:
        records = list(fastavro.reader(source))
    paris = timezone(timedelta(hours=1))
    assert records == [
        {"id": 1, "amount": 1.25, "when": datetime(2024, 1, 2, 10, tzinfo=paris).astimezone(timezone.utc), "ok": True},
        {"id": 2, "amount": None, "when": datetime(2024, 1, 3, 10, tzinfo=paris).astimezone(timezone.utc), "ok": False},
    ]
    assert any("Record 2, field 'amount': cannot convert \"oops\"" in m for m in messages(ex, "avro", "WARN"))
    assert [row["when"] for row in ion_records(ex.outputs.back.uri)] == [r["when"] for r in records]


# -- Excel --------------------------------------------------------------------------------------

def test_ion_to_excel_to_ion(isolated_home):
    uri = put_bytes(isolated_home, "typed.ion", ION_TYPED.encode())
    second = put_bytes(isolated_home, "second.ion", b'{k:"=not a formula",f:"Formula:1+1"}\n')
    ex = run("""
tasks:
  - id: excel
    type: io.kestra.plugin.serdes.excel.IonToExcel
    from:
      Fruits: "{{ inputs.file }}"
      Other: "{{ inputs.second }}"
  - id: back
    type: io.kestra.plugin.serdes.excel.ExcelToIon
    from: "{{ outputs.excel.uri }}"
  - id: serial
    type: io.kestra.plugin.serdes.excel.ExcelToIon
    from: "{{ outputs.excel.uri }}"
    sheetsTitle: [Fruits]
    dateTimeRender: SERIAL_NUMBER
""", file=uri, second=second)
    workbook = openpyxl.load_workbook(path_of(ex.outputs.excel.uri))
    fruits = workbook["Fruits"]
    assert [c.value for c in fruits[1]] == ["id", "name", "price", "day", "at", "local", "note", "tags", "dims"]
    assert fruits["D2"].value == datetime(2024, 1, 2) and fruits["D2"].number_format == "yyyy-MM-dd"
    assert fruits["G2"].value is None and fruits["H2"].value == "[a, b]" and fruits["I3"].value == "{w=5, h=null}"
    assert workbook["Other"]["A2"].value == "=not a formula" and workbook["Other"]["A2"].data_type == "s"
    assert workbook["Other"]["B2"].value == "=1+1" and workbook["Other"]["B2"].data_type == "f"
    assert ex.outputs.excel.size == 3
    assert set(ex.outputs.back.uris) == {"Fruits", "Other"} and ex.outputs.back.size == 3
    first, last = ion_records(ex.outputs.back.uris["Fruits"])
    # Kestra reads numbers as doubles and date cells as ISO dates (an Instant is written as its date)
    assert first == {"id": 1.0, "name": "apple", "price": 1.5, "day": "2024-01-02", "at": "2024-01-02",
                     "local": "2024-01-02", "note": None, "tags": "[a, b]", "dims": "{w=2, h=3}"}
    assert last["price"] is None and last["day"] is None and last["at"] == "2024-03-04" and last["note"] == "ripe"
    assert list(ex.outputs.serial.uris) == ["Fruits"]
    serial = ion_records(ex.outputs.serial.uris["Fruits"])[0]
    assert serial["day"] == (date(2024, 1, 2) - date(1899, 12, 30)).days
    assert serial["local"] == pytest.approx(serial["day"] + (3 * 3600 + 4 * 60 + 5) / 86400)


def test_excel_without_header_skip_rows_and_a_file_that_is_not_excel(isolated_home):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    for row in (["Report title"], [], ["a", 1, True], ["b", 2.5, False]):
        sheet.append(row)
    isolated_home.mkdir(parents=True, exist_ok=True)
    workbook.save(isolated_home / "made.xlsx")
    uri = internal_storage.put_file(isolated_home / "made.xlsx", isolated_home / "storage" / "uploads")
    not_excel = put_bytes(isolated_home, "fake.xlsx", b"id,name\n1,a\n")
    ex = run("""
tasks:
  - id: lists
    type: io.kestra.plugin.serdes.excel.ExcelToIon
    from: "{{ inputs.file }}"
    header: false
    skipRows: 1
  - id: headed
    type: io.kestra.plugin.serdes.excel.ExcelToIon
    from: "{{ inputs.file }}"
    skipRows: 1
  - id: bad
    type: io.kestra.plugin.serdes.excel.ExcelToIon
    from: "{{ inputs.fake }}"
    allowFailure: true
""", "WARNING", file=uri, fake=not_excel)
    assert ion_records(ex.outputs.lists.uris["Data"]) == [["a", 1.0, True], ["b", 2.5, False]]
    assert ion_records(ex.outputs.headed.uris["Data"]) == [{"a": "b", "1.0": 2.5, "true": False}]
    assert ex.taskrun("bad").message.startswith("'fake.xlsx' is not an Excel (.xlsx) file")


# -- YAML ---------------------------------------------------------------------------------------

def test_yaml_documents_to_ion_and_back(isolated_home):
    text = "---\nid: 1\nname: Apple\nwhen: 2024-01-02\ntags: [a, b]\n---\nid: 2\nname: null\nprice: 0.9\n"
    uri = put_bytes(isolated_home, "in.yaml", text.encode())
    ex = run("""
tasks:
  - id: read
    type: io.kestra.plugin.serdes.yaml.YamlToIon
    from: "{{ inputs.file }}"
  - id: write
    type: io.kestra.plugin.serdes.yaml.IonToYaml
    from: "{{ outputs.read.uri }}"
  - id: one
    type: io.kestra.plugin.serdes.yaml.IonToYaml
    from: "{{ inputs.single }}"
""", file=uri, single=put_bytes(isolated_home, "one.ion", b'{a:2024-01-02T,b:[1,null]}\n'))
    documents = list(yaml.safe_load_all(text))
    for document in documents:  # Kestra's YAML reader keeps dates as text
        document.update({k: str(v) for k, v in document.items() if isinstance(v, date)})
    assert ion_records(ex.outputs.read.uri) == documents and ex.outputs.read.size == 2
    written = path_of(ex.outputs.write.uri).read_text()
    assert written.startswith("---\n") and written.count("---\n") == 2
    assert list(yaml.safe_load_all(written)) == documents
    single = path_of(ex.outputs.one.uri).read_text()
    assert not single.startswith("---") and yaml.safe_load(single) == {"a": "2024-01-02", "b": [1, None]}


# -- failures shared by the family -------------------------------------------------------------

def test_a_missing_library_fails_naming_the_extra(isolated_home, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastavro", None)  # import fastavro now raises ImportError
    uri = put_bytes(isolated_home, "in.ion", b'{a:1}\n')
    ex = run_failing("""
tasks:
  - id: avro
    type: io.kestra.plugin.serdes.avro.IonToAvro
    from: "{{ inputs.file }}"
""", file=uri)
    assert ex.taskrun("avro").message == "Avro tasks need the fastavro package: pip install 'nb-orchestra[serdes]'"


def test_a_missing_file_and_a_bad_property_fail_clearly(isolated_home):
    ex = run_failing("""
tasks:
  - id: missing
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "kestra:///nowhere/file.csv"
    allowFailure: true
  - id: separator
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ inputs.file }}"
    fieldSeparator: "{{ ';;' }}"
""", file=put_bytes(isolated_home, "in.csv", b"a\n1\n"))
    assert ex.taskrun("missing").message == "property 'from': Unable to find file 'kestra:///nowhere/file.csv'"
    assert ex.taskrun("separator").message == "property 'fieldSeparator': expected one character, got ';;'"
