"""What the serdes tasks share: their common properties, reading text in a charset with located
errors, Ion files in and out, and Java's way of printing values (Kestra's tasks print with
``toString`` and ``DateTimeFormatter`` patterns)."""

from __future__ import annotations

import base64
import codecs
import io
import re
from collections.abc import Generator, Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from ...expressions.dates import format_datetime, format_instant, get_zone, offset_id
from ..base import Prop, TaskCancelled, TaskContext, TaskFailure, TaskPlugin
from ..extras import require
from ..files import stored_file
from ..ion import is_instant, plain_datetime, read_ion, store_values

EXTRA = "pip install 'nb-orchestra[serdes]'"
ION_MISSING = f"Serdes tasks read and write Amazon Ion files and need the amazon.ion package: {EXTRA}"
BAD_LINES = ("ERROR", "WARN", "SKIP")

FROM = Prop("string", required=True,
            description="Source file URI: `kestra://` (a task's output) or `nsfile://` (a namespace file).")
CHARSET = Prop("string", default="UTF-8", description="The name of a supported charset.")
TIME_ZONE = Prop("string", default="UTC",
                 description="Zone for values that carry none (Kestra: the server's zone; UTC in its image).")
URI_SIZE = {"uri": "kestra:// URI of the converted file.", "size": "The number of records converted."}


def library(module: str, what: str) -> ModuleType:
    """The optional library ``module``; a task failure naming the extra when it is missing."""
    return require(module, "serdes", what)


class SerdesTask(TaskPlugin):
    """A conversion: reads its ``from`` file, writes a new one; runs on a worker thread."""

    blocking = True
    outputs: ClassVar[dict[str, str]] = URI_SIZE

    def source(self, ctx: TaskContext) -> Path:
        return stored_file(ctx.get("from"), "from", ctx.execution.namespace)


# -- properties -------------------------------------------------------------------------------

def choice(ctx: TaskContext, name: str) -> str:
    """An enum property, checked once rendered (an expression may give anything)."""
    value = str(ctx.get(name))
    choices = ctx.task.plugin.all_properties()[name].choices
    if value not in choices:
        raise TaskFailure(f"property '{name}': '{value}' is not one of {', '.join(choices)}")
    return value


def character(ctx: TaskContext, name: str) -> str:
    """A one-character property (Kestra's ``Character``)."""
    value = str(ctx.get(name))
    if len(value) != 1:
        raise TaskFailure(f"property '{name}': expected one character, got {value!r}")
    return value


def charset(ctx: TaskContext, name: str = "charset") -> str:
    """The Python codec of a charset property (Java names such as ISO-8859-1 are understood)."""
    value = str(ctx.get(name))
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise TaskFailure(f"property '{name}': unknown charset '{value}'") from None


def zone_name(ctx: TaskContext, name: str = "timeZoneId") -> str:
    value = str(ctx.get(name))
    try:
        get_zone(value)
    except ValueError as exc:
        raise TaskFailure(f"property '{name}': {exc}") from None
    return value


def bad_record(ctx: TaskContext, policy: str, message: str) -> None:
    """``onBadLines``: ERROR fails the task, WARN logs and skips, SKIP skips silently."""
    if policy == "ERROR":
        raise TaskFailure(message)
    if policy == "WARN":
        ctx.log("WARN", message)


def cancellable(ctx: TaskContext, items: Iterable[Any]) -> Generator[Any, None, None]:
    """``items``, stopping (TaskCancelled) soon after the run is killed or times out."""
    for count, item in enumerate(items):
        if not count & 0xFFF and ctx.cancel.is_set():
            raise TaskCancelled()
        yield item


# -- files ------------------------------------------------------------------------------------

def ion_rows(ctx: TaskContext, path: Path) -> Generator[Any, None, None]:
    """The records of an Ion file, as Kestra reads them."""
    return cancellable(ctx, read_ion(path, ION_MISSING))


def store_ion(ctx: TaskContext, values: Iterable[Any]) -> dict[str, Any]:
    """``values`` written as a new Ion file of the task run: ``{"uri", "size"}``."""
    return store_values(ctx, cancellable(ctx, values), ION_MISSING)


def _decoding_failure(codec: str, where: str, exc: UnicodeDecodeError) -> TaskFailure:
    byte = exc.object[exc.start:exc.start + 1].hex()
    return TaskFailure(f"The file is not valid {codec.upper()} text ({where}: byte 0x{byte}); "
                       "set `charset` to its encoding, e.g. ISO-8859-1 or windows-1252")


def text_lines(path: Path, codec: str) -> Iterator[str]:
    """The lines of a text file, line endings kept; a byte that is not ``codec`` fails the task
    naming its line. A UTF-8 byte-order mark is dropped, as Kestra does."""
    if "\n".encode(codec) != b"\n":  # UTF-16 and the like: lines cannot be cut in bytes
        yield from _wide_lines(path, codec)
        return
    decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)()
    number = 0
    with path.open("rb") as source:
        for number, raw in enumerate(source, 1):  # noqa: B007  (number is read after the loop)
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise _decoding_failure(codec, f"line {number}", exc) from None
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _decoding_failure(codec, f"end of line {number}", exc) from None
    if tail:
        yield tail


def _wide_lines(path: Path, codec: str) -> Iterator[str]:
    number = 0
    with io.TextIOWrapper(path.open("rb"), encoding=codec, newline="") as source:
        try:
            for number, line in enumerate(source, 1):  # noqa: B007
                yield line
        except UnicodeDecodeError as exc:
            raise _decoding_failure(codec, f"after line {number}", exc) from None


def text_chunks(path: Path, codec: str, size: int = 1 << 16) -> Iterator[str]:
    """A text file in pieces of about ``size`` bytes; undecodable bytes fail the task with their
    offset (and line, for charsets where a newline is one byte)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)()
    offset = lines = 0
    with path.open("rb") as source:
        while True:
            raw = source.read(size)
            pending = len(decoder.getstate()[0])  # bytes of the last piece not decoded yet
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                where = f"byte offset {offset - pending + exc.start}"
                if "\n".encode(codec) == b"\n":
                    before = exc.object[:exc.start].count(b"\n")
                    where = f"line {lines + before + 1}, {where}"
                raise _decoding_failure(codec, where, exc) from None
            if text:
                yield text
            if not raw:
                return
            offset += len(raw)
            lines += raw.count(b"\n")  # counted when decoded: a pending piece holds no newline


# -- Java's printing of values -------------------------------------------------------------

def java_double(number: float) -> str:
    """Java's ``Double.toString``: ``1.0``, ``0.001``, ``1.0E7``, ``1.5E-4``, ``NaN``."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0 or 1e-3 <= abs(number) < 1e7:
        text = repr(number)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = int(exponent) + len(digits) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{exponent}"


def _java_time(value: time | datetime) -> str:
    """``LocalTime.toString``: seconds only when not zero, fraction in groups of three digits."""
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}" if value.microsecond % 1000 == 0 else f".{value.microsecond:06d}"
    return text


def java_text(value: Any) -> str:
    """``String.valueOf`` of the Java value Kestra holds for ``value`` (see plugins/ion.py)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, (str, int, Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # Java prints an address; base64 is of use
    if is_instant(value):
        return format_instant(plain_datetime(value))
    if isinstance(value, datetime):
        text = f"{value.date().isoformat()}T{_java_time(value)}"
        if value.tzinfo is None:
            return text
        key = getattr(value.tzinfo, "key", None)
        return text + offset_id(value) + (f"[{key}]" if key else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        offset = value.utcoffset()
        return _java_time(value) + ("" if offset is None else offset_id(datetime.combine(date(1970, 1, 1), value)))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={java_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_text(item) for item in value) + "]"
    return str(value)


# Optional zone sections (``[XXX]``) are left out for local values, which have no offset to print.
_ZONE_SECTION = re.compile(r"\[[XxZzVO]+\]")


class TextFormats:
    """Kestra's AbstractTextWriter: dates, times and date-times printed with Java patterns."""

    def __init__(self, ctx: TaskContext):
        self.date = str(ctx.get("dateFormat"))
        self.time = str(ctx.get("timeFormat"))
        self.datetime = str(ctx.get("dateTimeFormat"))
        self.zone = zone_name(ctx)
        for name, pattern in (("dateFormat", self.date), ("timeFormat", self.time),
                              ("dateTimeFormat", self.datetime)):
            try:
                format_datetime(datetime(2000, 1, 1), pattern, "UTC")
            except ValueError as exc:
                raise TaskFailure(f"property '{name}': {exc}") from None

    def text(self, value: Any) -> str | None:
        """``convert``: None stays None; Instants print in UTC, zoned values in ``timeZoneId``."""
        if value is None:
            return None
        if isinstance(value, datetime):
            if is_instant(value):
                return format_datetime(plain_datetime(value), self.datetime, "UTC")
            if value.tzinfo is None:
                return format_datetime(value, _ZONE_SECTION.sub("", self.datetime), "UTC")
            return format_datetime(value, self.datetime, self.zone)
        if isinstance(value, date):
            return format_datetime(datetime.combine(value, time()), _ZONE_SECTION.sub("", self.date), "UTC")
        if isinstance(value, time):
            moment = datetime.combine(date(1970, 1, 1), value)
            if value.tzinfo is None:
                return format_datetime(moment, _ZONE_SECTION.sub("", self.time), "UTC")
            return format_datetime(moment, self.time, offset_id(moment))
        return java_text(value)


TEXT_WRITER_PROPS: dict[str, Prop] = {
    "dateFormat": Prop("string", default="yyyy-MM-dd", description="Java pattern for dates."),
    "timeFormat": Prop("string", default="HH:mm:ss[XXX]", description="Java pattern for times."),
    "dateTimeFormat": Prop("string", default="yyyy-MM-dd'T'HH:mm:ss.SSS[XXX]",
                           description="Java pattern for date-times (Instants print in UTC, zoned ones in "
                                       "`timeZoneId`)."),
    "timeZoneId": TIME_ZONE,
}
