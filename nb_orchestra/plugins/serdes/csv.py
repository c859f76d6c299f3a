"""io.kestra.plugin.serdes.csv: CsvToIon and IonToCsv (the 0.x names CsvReader/CsvWriter too).

Python's ``csv`` module parses and writes; fields stay text (``\\N`` is null), as in Kestra.
A malformed line or a line with the wrong number of fields is reported with its line number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure
from ..ion import output_path
from .common import (
    BAD_LINES,
    CHARSET,
    FROM,
    TEXT_WRITER_PROPS,
    SerdesTask,
    TextFormats,
    bad_record,
    character,
    charset,
    choice,
    ion_rows,
    store_ion,
    text_lines,
)

_NULL = "\\N"  # Kestra reads this field value as null


class CsvToIon(SerdesTask):
    """Convert a CSV file to Kestra's Ion format (one record per line: a map by header, else a list)."""

    type = "io.kestra.plugin.serdes.csv.CsvToIon"
    aliases = ("io.kestra.plugin.serdes.csv.CsvReader",)
    properties = {
        "from": FROM,
        "header": Prop("bool", default=True, description="Whether the first line is the header (records are maps)."),
        "fieldSeparator": Prop("string", default=",", description="The field separator character."),
        "textDelimiter": Prop("string", default='"', description="The text delimiter (quote) character."),
        "skipEmptyRows": Prop("bool", default=False, description="Skip empty lines."),
        "skipRows": Prop("int", default=0, description="Number of records to skip after the header."),
        "charset": CHARSET,
        "onBadLines": Prop("enum", default="ERROR", choices=BAD_LINES,
                           description="A malformed line or one with another field count than the header: "
                                       "ERROR fails (naming the line), WARN logs and skips it, SKIP skips it."),
        "onEmptyHeader": Prop("enum", default="DROP", choices=("DROP", "RENAME"),
                              description="Unnamed header columns: DROP the trailing ones (a trailing separator), "
                                          "RENAME each to `col_<index>`."),
        "allowExtraCharsAfterClosingQuote": Prop("bool", default=False,
                                                 description="Accept text after a closing quote (`\"a\"b`)."),
        "maxFieldSize": Prop("int", default=16 * 1024 * 1024,
                             description="Largest field, in characters (raises Python's csv limit, never lowers it)."),
        "maxBufferSize": Prop("int", default=16 * 1024 * 1024,
                              description="Accepted; the parser reads line by line."),
        "errorOnDifferentFieldCount": Prop("bool", description="Deprecated and ignored: use onBadLines."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source = self.source(ctx)
        lines = text_lines(source, charset(ctx))
        strict = not ctx.get("allowExtraCharsAfterClosingQuote")
        csv.field_size_limit(max(csv.field_size_limit(), int(ctx.get("maxFieldSize"))))
        reader = csv.reader(lines, delimiter=character(ctx, "fieldSeparator"),
                            quotechar=character(ctx, "textDelimiter"), strict=strict)
        return store_ion(ctx, self._records(ctx, reader))

    def _records(self, ctx: TaskContext, reader: Any) -> Iterator[Any]:
        header, skip_empty = bool(ctx.get("header")), bool(ctx.get("skipEmptyRows"))
        skip_rows, policy = int(ctx.get("skipRows")), choice(ctx, "onBadLines")
        names: list[str] | None = None
        width = skipped = 0
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                hint = " (a quoted field is never closed)" if "end of data" in str(exc) else ""
                bad_record(ctx, policy, f"Malformed CSV at line {start}: {exc}{hint}")
                continue
            if not fields:  # an empty line is one empty field, as Kestra's parser reads it
                if skip_empty:
                    continue
                fields = [""]
            if header and names is None:
                width = len(fields)
                names = _header(ctx, fields, choice(ctx, "onEmptyHeader"))
                continue
            if skipped < skip_rows:
                skipped += 1
                continue
            if _NULL in fields:
                fields = [None if value == _NULL else value for value in fields]
            if names is None:
                yield fields
            elif len(fields) != width:
                bad_record(ctx, policy, f"Bad line at line {start} (field count mismatch): expected {width}, "
                                        f"got {len(fields)} fields")
            else:
                yield dict(zip(names, fields, strict=False))  # names may be fewer (DROP)


def _header(ctx: TaskContext, names: list[str], on_empty: str) -> list[str]:
    """The record keys: unnamed columns renamed, or the trailing unnamed ones dropped (Kestra's rules)."""
    if on_empty == "RENAME":
        taken, keys = set(names), []
        for index, name in enumerate(names):
            if not name:
                attempt, name = 1, f"col_{index}"
                while name in taken:
                    attempt += 1
                    name = f"col_{index}_{attempt}"
                taken.add(name)
            keys.append(name)
        return keys
    kept = max((i for i, name in enumerate(names) if name), default=len(names) - 1) + 1
    if kept < len(names):
        ctx.log("WARN", f"Dropped {len(names) - kept} trailing unnamed header column(s); their values are not "
                        "emitted. Set onEmptyHeader=RENAME to keep them.")
    if len(set(names[:kept])) < kept:
        ctx.log("WARN", f"Header has {kept - len(set(names[:kept]))} duplicate or empty column name(s): colliding "
                        "columns share one key and only the last value is kept. Set onEmptyHeader=RENAME to "
                        "keep every column.")
    return names[:kept]


class _Bare(str):
    """Text the csv writer leaves unquoted under QUOTE_NONNUMERIC (it passes for a number)."""

    def __float__(self) -> float:
        return 0.0


_NUMERIC = re.compile(r"[+-]?(?=.)[0-9]*\.?[0-9]*")  # Kestra's NON_NUMERIC test ("." counts)
_LINE_DELIMITERS = ("\n", "\r\n", "\r")


class IonToCsv(SerdesTask):
    """Convert a Kestra Ion file to CSV (maps: header from the first record's keys; lists: as they are)."""

    type = "io.kestra.plugin.serdes.csv.IonToCsv"
    aliases = ("io.kestra.plugin.serdes.csv.CsvWriter",)
    properties = {
        "from": FROM,
        "header": Prop("bool", default=True, description="Write the first record's keys as a header line."),
        "fieldSeparator": Prop("string", default=",", description="The field separator character."),
        "textDelimiter": Prop("string", default='"', description="The text delimiter (quote) character."),
        "lineDelimiter": Prop("string", default="\n", description="The line ending: \\n, \\r\\n or \\r."),
        "alwaysDelimitText": Prop("bool", default=False, description="Deprecated: quoteMode ALWAYS."),
        "quoteMode": Prop("enum", choices=("ALWAYS", "REQUIRED", "NON_NUMERIC"),
                          description="ALWAYS quotes every value, REQUIRED only those that need it, NON_NUMERIC "
                                      "all but numbers; takes precedence over alwaysDelimitText."),
        "charset": CHARSET,
        **TEXT_WRITER_PROPS,
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source = self.source(ctx)
        mode = choice(ctx, "quoteMode") if ctx.get("quoteMode") is not None else (
            "ALWAYS" if ctx.get("alwaysDelimitText") else "REQUIRED")
        line_end = str(ctx.get("lineDelimiter"))
        if line_end not in _LINE_DELIMITERS:
            raise TaskFailure(f"property 'lineDelimiter': {line_end!r} is not one of \\n, \\r\\n, \\r")
        formats, header = TextFormats(ctx), bool(ctx.get("header"))
        path = output_path(ctx, ".csv")
        size, first_map = 0, True
        try:
            with path.open("w", encoding=charset(ctx), errors="replace", newline="") as out:
                writer = csv.writer(out, delimiter=character(ctx, "fieldSeparator"),
                                    quotechar=character(ctx, "textDelimiter"), lineterminator=line_end,
                                    quoting=csv.QUOTE_MINIMAL if mode == "REQUIRED" else csv.QUOTE_NONNUMERIC)
                cells = _cell_writer(formats, mode)
                for row in ion_rows(ctx, source):
                    size += 1
                    if isinstance(row, list):
                        if header:
                            raise TaskFailure(f"Record {size} is a list, not a map: set `header: false` to write "
                                              "lists (Kestra: Invalid data of type List with header)")
                        writer.writerow([cells(value) for value in row])
                    elif isinstance(row, dict):
                        if header and first_map:
                            writer.writerow([cells(key) for key in row])
                        first_map = False
                        writer.writerow([cells(value) for value in row.values()])
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return {"uri": to_uri(path), "size": size}


def _cell_writer(formats: TextFormats, mode: str) -> Any:
    """value -> what the csv writer gets, quoted as ``mode`` asks (nulls are never quoted)."""
    def text(value: Any) -> str | None:
        return value if type(value) is str else formats.text(value)

    if mode == "REQUIRED":
        return text
    if mode == "ALWAYS":
        return lambda value: _Bare("") if value is None else text(value)

    def non_numeric(value: Any) -> str:
        cell = text(value)
        return _Bare(cell or "") if cell is None or _NUMERIC.fullmatch(cell) else cell
    return non_numeric
