"""io.kestra.plugin.serdes.json: JsonToIon and IonToJson (the 0.x names JsonReader/JsonWriter too).

JSON lines (``newLine: true``, the default) or one JSON document: an array gives one record per
element. Arrays are read element by element with the ``json`` module's ``raw_decode`` (Kestra
loads the whole document), so a large array converts in bounded memory too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from ...expressions.dates import format_instant, get_zone, offset_id
from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure
from ..ion import is_instant, output_path, plain_datetime, read_ion
from .common import (
    CHARSET,
    FROM,
    ION_MISSING,
    TIME_ZONE,
    SerdesTask,
    cancellable,
    charset,
    ion_rows,
    java_text,
    store_ion,
    text_chunks,
    text_lines,
    zone_name,
)

_NEW_LINE = Prop("bool", default=True, description="Newline-delimited JSON (one value per line); when false, one "
                                                   "JSON document (an array gives one record per element).")


class JsonToIon(SerdesTask):
    """Convert a JSON file (JSON lines, or one document such as an array) to Kestra's Ion format."""

    type = "io.kestra.plugin.serdes.json.JsonToIon"
    aliases = ("io.kestra.plugin.serdes.json.JsonReader",)
    properties = {"from": FROM, "charset": CHARSET, "newLine": _NEW_LINE}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source, codec = self.source(ctx), charset(ctx)
        if ctx.get("newLine"):
            return store_ion(ctx, _json_lines(text_lines(source, codec)))
        return store_ion(ctx, _JsonStream(text_chunks(source, codec)).records())


def _json_lines(lines: Iterator[str]) -> Iterator[Any]:
    for number, line in enumerate(lines, 1):
        if line.strip():  # Kestra fails on a blank line; here it is skipped
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskFailure(f"Invalid JSON at line {number}, column {exc.colno}: {exc.msg}") from None


class _JsonStream:
    """The records of one JSON document read in pieces: the elements of a top-level array, else
    the document itself. Only the unparsed rest of the text is held (and one element)."""

    def __init__(self, chunks: Iterator[str]):
        self.chunks, self.text, self.pos = chunks, "", 0
        self.lines_before = self.column_before = 0  # where the text kept starts
        self.eof = False
        self.decoder = json.JSONDecoder()

    def records(self) -> Iterator[Any]:
        if self.skip_blank() != "[":
            if self.skip_blank() is not None:
                yield self.value()
            return
        self.pos += 1
        if self.skip_blank() == "]":
            return
        while True:
            yield self.value()
            char = self.skip_blank()
            if char == "]":
                return
            if char is None:
                raise self.error(self.pos, "the array is never closed (']' missing)")
            if char != ",":
                raise self.error(self.pos, "expecting ',' or ']' after an array element")
            self.pos += 1
            self.skip_blank()

    def more(self) -> bool:
        """Read at least as much again as the unparsed text (so a long element is re-parsed only a
        logarithmic number of times); False at the end of the file."""
        dropped = self.text[:self.pos]
        newline = dropped.rfind("\n")
        self.lines_before += dropped.count("\n")
        self.column_before = len(dropped) - newline - 1 if newline >= 0 else self.column_before + len(dropped)
        self.text, self.pos = self.text[self.pos:], 0
        wanted = max(len(self.text), 1)
        got = 0
        while got < wanted:
            piece = next(self.chunks, None)
            if piece is None:
                self.eof = True
                return got > 0
            self.text += piece
            got += len(piece)
        return True

    def skip_blank(self) -> str | None:
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return None

    def value(self) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise self.error(exc.pos, exc.msg) from None
                self.more()  # the element may go on in the next piece: parse it again with more text
                continue
            if end < len(self.text) or self.eof:
                self.pos = end
                return value
            self.more()  # a number at the very end may go on in the next piece

    def error(self, pos: int, message: str) -> TaskFailure:
        line = self.lines_before + self.text.count("\n", 0, pos) + 1
        newline = self.text.rfind("\n", 0, pos)
        column = pos - newline if newline >= 0 else self.column_before + pos + 1
        return TaskFailure(f"Invalid JSON at line {line}, column {column}: {message}")


class IonToJson(SerdesTask):
    """Convert a Kestra Ion file to JSON lines (or to one JSON document when ``newLine`` is false)."""

    type = "io.kestra.plugin.serdes.json.IonToJson"
    aliases = ("io.kestra.plugin.serdes.json.JsonWriter",)
    properties = {
        "from": FROM,
        "charset": CHARSET,
        "newLine": Prop("bool", default=True, description="One JSON line per record; when false, one JSON document "
                                                          "(an array when there are several records)."),
        "timeZoneId": TIME_ZONE,
        "shouldKeepAnnotations": Prop("bool", default=False,
                                      description="Write annotated Ion strings as "
                                                  "`{\"ion_annotations\": [...], \"value\": ...}`."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source, zone = self.source(ctx), get_zone(zone_name(ctx))
        lines = bool(ctx.get("newLine"))
        records: Iterator[Any]
        if ctx.get("shouldKeepAnnotations"):
            records = (_annotated(value, zone) for value in cancellable(ctx, read_ion(source, ION_MISSING, raw=True)))
        else:
            records = ion_rows(ctx, source)
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default(zone)).encode
        path = output_path(ctx, ".jsonl" if lines else ".json")
        size = 0
        try:
            with path.open("w", encoding=charset(ctx), errors="replace", newline="") as out:
                if lines:
                    for record in records:
                        out.write(encode(record) + "\n")
                        size += 1
                else:
                    size = _write_document(out.write, records, encode)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return {"uri": to_uri(path), "size": size}


_NONE = object()


def _write_document(write: Callable[[str], Any], records: Iterator[Any], encode: Callable[[Any], str]) -> int:
    """Kestra's document: nothing for no record, the record for one, an array for more."""
    first = next(records, _NONE)
    if first is _NONE:
        return 0
    second = next(records, _NONE)
    if second is _NONE:
        write(encode(first))
        return 1
    write("[" + encode(first) + "," + encode(second))
    size = 2
    for record in records:
        write("," + encode(record))
        size += 1
    write("]")
    return size


def _local(value: datetime | time) -> str:
    """ISO local time as Jackson writes it: seconds always, the fraction as short as it can be."""
    text = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")


def _json_default(zone: Any) -> Callable[[Any], Any]:
    """What JSON cannot hold, as Kestra's Jackson mapper writes it (zoned values in ``zone``)."""
    def default(value: Any) -> Any:
        if is_instant(value):
            return format_instant(plain_datetime(value))
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return f"{value.date().isoformat()}T{_local(value)}"
            moment = value.astimezone(zone)
            return f"{moment.date().isoformat()}T{_local(moment)}{offset_id(moment)}"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, time):
            offset = "" if value.tzinfo is None else offset_id(datetime.combine(date(1970, 1, 1), value))
            return _local(value) + offset
        if isinstance(value, Decimal):  # json has no exact decimals: an int when whole, else a float
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"cannot write {type(value).__name__} as JSON")
    return default


def _annotated(value: Any, zone: Any) -> Any:
    """A raw Ion value for ``shouldKeepAnnotations``: annotated text as an object, timestamps in ``zone``."""
    from amazon.ion.core import IonType
    from amazon.ion.simple_types import IonPyNull

    if isinstance(value, IonPyNull):
        return None
    ion_type = getattr(value, "ion_type", None)
    annotations = [getattr(a, "text", a) for a in getattr(value, "ion_annotations", ())]
    if ion_type in (IonType.STRING, IonType.SYMBOL):
        text = str(getattr(value, "text", value))
        return {"ion_annotations": annotations, "value": text} if annotations else text
    if ion_type is IonType.STRUCT:
        return {key: _annotated(item, zone) for key, item in value.items()}
    if ion_type in (IonType.LIST, IonType.SEXP):
        return [_annotated(item, zone) for item in value]
    if ion_type is IonType.TIMESTAMP:
        moment = plain_datetime(value)
        return java_text((moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(zone))
    if ion_type is IonType.BOOL:
        return bool(value)
    if ion_type is IonType.INT:
        return int(value)
    if ion_type is IonType.FLOAT:
        return float(value)
    if ion_type is IonType.DECIMAL:
        return Decimal(value)
    return bytes(value)  # BLOB, CLOB: base64 in the JSON
