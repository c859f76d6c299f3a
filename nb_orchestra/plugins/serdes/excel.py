"""io.kestra.plugin.serdes.excel: ExcelToIon and IonToExcel (.xlsx, with openpyxl).

Both stream: sheets are read in openpyxl's read-only mode and written in its write-only mode.
Values follow Kestra's: numbers are read as doubles, date cells as ISO dates (or Excel serial
numbers), and written dates get the ``dateFormat`` pattern as their number format.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from ...expressions.dates import get_zone
from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure
from ..files import stored_file
from ..ion import is_instant, output_path, plain_datetime
from .common import (
    CHARSET,
    FROM,
    TEXT_WRITER_PROPS,
    SerdesTask,
    choice,
    ion_rows,
    java_double,
    java_text,
    library,
    store_ion,
    zone_name,
)

_FORMULA = "Formula:"  # Kestra writes such text as the formula after the prefix


class ExcelToIon(SerdesTask):
    """Convert the sheets of an Excel (.xlsx) file to Kestra's Ion format: one Ion file per sheet."""

    type = "io.kestra.plugin.serdes.excel.ExcelToIon"
    outputs = {"uris": "The Ion file of each sheet, by sheet title: `{{ outputs.task_id.uris.Sheet1 }}`.",
               "size": "The number of rows read, all sheets together."}
    properties = {
        "from": FROM,
        "sheetsTitle": Prop("list", description="The titles of the sheets to convert (default: every sheet)."),
        "charset": Prop("string", default="UTF-8", description="Accepted; an .xlsx file carries its encoding."),
        "valueRender": Prop("enum", default="UNFORMATTED_VALUE",
                            choices=("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"),
                            description="UNFORMATTED_VALUE: cell values (formulas as their last computed value); "
                                        "FORMULA is the same here; FORMATTED_VALUE (Excel's display text) is not "
                                        "supported."),
        "dateTimeRender": Prop("enum", default="UNFORMATTED_VALUE",
                               choices=("SERIAL_NUMBER", "FORMATTED_STRING", "UNFORMATTED_VALUE"),
                               description="Date cells: UNFORMATTED_VALUE as ISO dates (`2024-01-31`), SERIAL_NUMBER "
                                           "as Excel serial numbers; FORMATTED_STRING is not supported."),
        "header": Prop("bool", default=True, description="Whether the first row is the header (records are maps)."),
        "skipEmptyRows": Prop("bool", default=False,
                              description="Skip rows whose cells are all empty (absent rows are always skipped)."),
        "skipRows": Prop("int", default=0, description="Number of rows to skip at the start of each sheet "
                                                       "(before the header)."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        openpyxl = library("openpyxl", "Excel")
        source = self.source(ctx)
        if choice(ctx, "valueRender") == "FORMATTED_VALUE" or choice(ctx, "dateTimeRender") == "FORMATTED_STRING":
            raise TaskFailure("FORMATTED_VALUE and FORMATTED_STRING are not supported: openpyxl does not render "
                              "Excel number formats; use UNFORMATTED_VALUE (or SERIAL_NUMBER for dates)")
        try:
            workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise TaskFailure(f"'{source.name}' is not an Excel (.xlsx) file: {exc}") from None
        titles = [str(title) for title in ctx.get("sheetsTitle") or []]
        uris: dict[str, str] = {}
        size = 0
        try:
            for sheet in workbook.worksheets:
                if titles and sheet.title not in titles:
                    continue
                stored = store_ion(ctx, self._records(ctx, sheet))
                uris[sheet.title] = stored["uri"]
                size += stored["size"]
        finally:
            workbook.close()
        return {"uris": uris, "size": size}

    def _records(self, ctx: TaskContext, sheet: Any) -> Iterator[Any]:
        serial = choice(ctx, "dateTimeRender") == "SERIAL_NUMBER"
        header, skip_empty, skip = bool(ctx.get("header")), bool(ctx.get("skipEmptyRows")), int(ctx.get("skipRows"))
        from openpyxl.cell.read_only import EmptyCell

        names: list[str] | None = None
        first = last = -1
        for cells in sheet.iter_rows():
            values = [_cell_value(cell, serial) for cell in cells]
            if all(isinstance(cell, EmptyCell) for cell in cells):
                continue  # a row absent from the file: Kestra's streaming reader never sees one
            if skip_empty and all(value is None for value in values):
                continue
            if skip > 0:
                skip -= 1
                continue
            if last < 0:  # the columns: those of the header, else of the first row
                filled = [i for i, value in enumerate(values) if value is not None] or [0]
                first, last = (filled[0], filled[-1] + 1) if header else (0, filled[-1] + 1)
                if header:
                    names = [f"Column{i}" if value is None else _header_text(value)
                             for i, value in zip(range(first, last), values[first:last], strict=False)]
                    continue
            row = values[first:last] + [None] * (last - first - len(values[first:last]))
            yield row if names is None else dict(zip(names, row, strict=True))


def _cell_value(cell: Any, serial: bool) -> Any:
    """Kestra's unformatted value: numbers as doubles, dates as ISO dates or serial numbers, errors as null."""
    value = cell.value
    if value is None or cell.data_type == "e":
        return None
    if isinstance(value, (datetime, date, time)):
        if serial:
            from openpyxl.utils.datetime import to_excel

            return float(to_excel(value))
        return value.isoformat() if isinstance(value, time) else (
            value.date() if isinstance(value, datetime) else value).isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


def _header_text(value: Any) -> str:
    return java_double(value) if isinstance(value, float) else java_text(value)


class IonToExcel(SerdesTask):
    """Convert Kestra Ion files to an Excel (.xlsx) file: one file, or a map of sheet titles to files."""

    type = "io.kestra.plugin.serdes.excel.IonToExcel"
    properties = {
        "from": Prop("any", required=True,
                     description="A kestra:// URI of an Ion file, or a map of sheet titles to such URIs."),
        "charset": CHARSET,
        "sheetsTitle": Prop("string", default="Sheet", description="The sheet title when `from` is one file."),
        "header": Prop("bool", default=True, description="Write the first record's keys as a header row."),
        "styles": Prop("bool", default=True,
                       description="Give date cells the `dateFormat` number format (else they are serial numbers)."),
        **TEXT_WRITER_PROPS,
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        openpyxl = library("openpyxl", "Excel")
        source = ctx.get("from")
        if isinstance(source, dict):
            sheets = [(str(title), uri, f"from.{title}") for title, uri in source.items()]
        elif isinstance(source, str):
            sheets = [(str(ctx.get("sheetsTitle")), source, "from")]
        else:
            raise TaskFailure("property 'from': expected a kestra:// URI or a map of sheet titles to URIs")
        cell = _CellWriter(ctx)
        workbook = openpyxl.Workbook(write_only=True)
        size = 0
        for title, uri, prop in sheets:
            path = stored_file(uri, prop, ctx.execution.namespace)
            try:
                sheet = workbook.create_sheet(title)
            except ValueError as exc:
                raise TaskFailure(f"Invalid sheet title {title!r}: {exc}") from None
            first = True
            for row in ion_rows(ctx, path):
                size += 1
                if isinstance(row, list):
                    if cell.header:
                        raise TaskFailure(f"Record {size} is a list, not a map: set `header: false` to write lists "
                                          "(Kestra: Invalid data of type List with header)")
                    sheet.append([cell(sheet, value) for value in row])
                elif isinstance(row, dict):
                    if first and cell.header:
                        sheet.append([cell(sheet, key) for key in row])
                    first = False
                    sheet.append([cell(sheet, value) for value in row.values()])
        out = output_path(ctx, ".xlsx")
        try:
            workbook.save(out)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return {"uri": to_uri(out), "size": size}


class _CellWriter:
    """An Ion value as an Excel cell, as Kestra's IonToExcel writes it (nulls are left empty)."""

    def __init__(self, ctx: TaskContext):
        self.header, self.styles = bool(ctx.get("header")), bool(ctx.get("styles"))
        self.date_format, self.zone = str(ctx.get("dateFormat")), get_zone(zone_name(ctx))

    def __call__(self, sheet: Any, value: Any) -> Any:
        if value is None or isinstance(value, (bool, float)):
            return value
        if isinstance(value, int):
            return value if -2**63 <= value < 2**63 else str(value)  # a BigInteger is written as text
        if isinstance(value, Decimal):
            return float(value)
        if is_instant(value):  # Kestra keeps the date of an Instant, in timeZoneId
            return self._date(sheet, plain_datetime(value).astimezone(self.zone).date())
        if isinstance(value, datetime) and value.tzinfo is None or type(value) is date:
            return self._date(sheet, value)
        text = java_text(value)
        if text.startswith(_FORMULA):
            return "=" + text[len(_FORMULA):]
        if text.startswith("="):  # text, not a formula
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"
            return cell
        return text

    def _date(self, sheet: Any, value: date) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils.datetime import to_excel

        if not self.styles:
            return float(to_excel(value))
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = self.date_format
        return cell
