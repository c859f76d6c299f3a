"""io.kestra.plugin.core.storage: FilterItems, DeduplicateItems and Reverse.

FilterItems and DeduplicateItems read an Ion file value by value (bounded memory) and render a
Pebble expression per item, the item's fields beside the run's variables (``{{ key }}``), as
Kestra's ``RunContext.render(expression, item)`` does; they write the items kept to a new Ion
file. Reverse writes a text file's lines last first, reading it backwards by blocks.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlparse

from ... import expressions, internal_storage
from ...errors import UserError
from ..base import Prop, TaskCancelled, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file
from ..ion import output_path, read_ion, store_values

ION_MISSING = "FilterItems and DeduplicateItems read Amazon Ion files and need the amazon.ion package"
FROM = Prop("string", required=True, description="The file: a `kestra://` internal-storage URI.")
COUNTS = {
    "processedItemsTotal": "The total number of items processed.",
    "droppedItemsTotal": "The total number of items dropped.",
}


def _per_item(what: str) -> Prop:
    """A Pebble expression property rendered for each item (never as a whole when the task starts)."""
    return Prop("string", required=True, dynamic=False,
                description=f"Pebble expression rendered per item, the item's fields as variables: {what}")


def _example(flow_id: str, task: str) -> str:
    """A flow writing an Ion file of two items, then ``task`` (its YAML) reading it: a class's ``example``."""
    return f"""\
id: {flow_id}
namespace: company.team

tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {{key:"k1",value:1}}
      {{key:"k1",value:2}}

{task}"""


def _items(ctx: TaskContext, path: Path) -> Iterator[dict[str, Any]]:
    """The items of an Ion file, each a map (as Kestra reads them into a Map)."""
    for number, item in enumerate(read_ion(path, ION_MISSING), start=1):
        if not number & 0xFFF and ctx.cancel.is_set():
            raise TaskCancelled()
        if not isinstance(item, dict):
            raise TaskFailure(f"item {number} of '{path.name}' is not a map: {expressions.to_text(item)[:80]}")
        yield item


def _render(ctx: TaskContext, expression: str, item: dict[str, Any]) -> str:
    """``expression`` rendered with the item's fields over the run's variables."""
    return expressions.render(expression, {**ctx.variables, **item})


def _store(ctx: TaskContext, items: Iterator[dict[str, Any]]) -> str:
    """Write ``items`` to a new Ion file of the task run; its URI."""
    return str(store_values(ctx, items, ION_MISSING)["uri"])


class FilterItems(TaskPlugin):
    """Keep, or drop, the items of an Ion file that match ``filterCondition``; output the new file's ``uri``."""

    type = "io.kestra.plugin.core.storage.FilterItems"
    outputs = {"uri": "kestra:// URI of the filtered file.", **COUNTS}
    blocking = True
    properties = {
        "from": FROM,
        "filterCondition": _per_item("whether it matches (`{{ value % 2 == 0 }}`): `0`, `-0`, `\"\"` and "
                                     "`false` are false, any other text true."),
        "filterType": Prop("enum", default="INCLUDE", choices=("INCLUDE", "EXCLUDE"), dynamic=False,
                           description="What to do with the items that match: INCLUDE keeps them, EXCLUDE drops them."),
        "errorOrNullBehavior": Prop("enum", default="FAIL", choices=("FAIL", "INCLUDE", "EXCLUDE"), dynamic=False,
                                    description="When the expression fails on an item: FAIL the task, INCLUDE or "
                                                "EXCLUDE the item."),
    }
    example = _example("filter_items", """\
  - id: filter
    type: io.kestra.plugin.core.storage.FilterItems
    from: "{{ outputs.write.uri }}"
    filterCondition: "{{ value % 2 == 0 }}"
    filterType: EXCLUDE
    errorOrNullBehavior: EXCLUDE
""")

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source = stored_file(ctx.get("from"), "from")
        condition, on_match = ctx.get("filterCondition"), ctx.get("filterType")
        on_error = ctx.get("errorOrNullBehavior")
        counts = {"processedItemsTotal": 0, "droppedItemsTotal": 0}

        def kept() -> Iterator[dict[str, Any]]:
            for item in _items(ctx, source):
                counts["processedItemsTotal"] += 1
                try:
                    action = on_match if expressions.is_truthy(_render(ctx, condition, item).strip()) \
                        else _opposite(on_match)
                except UserError as exc:
                    if on_error == "FAIL":
                        raise TaskFailure(f"property 'filterCondition': item {counts['processedItemsTotal']}: "
                                          f"{exc}") from None
                    action = on_error
                if action == "INCLUDE":
                    yield item
                else:
                    counts["droppedItemsTotal"] += 1

        return {"uri": _store(ctx, kept()), **counts}


def _opposite(filter_type: str) -> str:
    return "EXCLUDE" if filter_type == "INCLUDE" else "INCLUDE"


class DeduplicateItems(TaskPlugin):
    """Keep only the last item of each key ``expr`` gives, in file order; output the new file's ``uri``.

    The file is read twice (first to find each key's last item, then to write those), never held in memory.
    """

    type = "io.kestra.plugin.core.storage.DeduplicateItems"
    outputs = {"uri": "kestra:// URI of the deduplicated file.",
               "numKeys": "The number of distinct keys.", **COUNTS}
    blocking = True
    properties = {
        "from": FROM,
        "expr": _per_item("its key (`{{ key }}-{{ v1 }}` for a composite one)."),
    }
    example = _example("deduplicate_items", """\
  - id: deduplicate
    type: io.kestra.plugin.core.storage.DeduplicateItems
    from: "{{ outputs.write.uri }}"
    expr: "{{ key }}"
""")

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source = stored_file(ctx.get("from"), "from")
        expr = ctx.get("expr")

        def key(item: dict[str, Any]) -> str:
            try:
                return _render(ctx, expr, item)
            except UserError as exc:
                raise TaskFailure(f"property 'expr': {exc}") from None

        last: dict[str, int] = {}  # key -> the position of its last item
        for position, item in enumerate(_items(ctx, source)):
            last[key(item)] = position
        counts = {"processedItemsTotal": 0, "droppedItemsTotal": 0}

        def kept() -> Iterator[dict[str, Any]]:
            for position, item in enumerate(_items(ctx, source)):
                counts["processedItemsTotal"] += 1
                if last.get(key(item)) == position:
                    yield item
                else:
                    counts["droppedItemsTotal"] += 1

        uri = _store(ctx, kept())
        return {"uri": uri, "numKeys": len(last), **counts}


class Reverse(TaskPlugin):
    """Write a file's lines last first, each followed by ``separator``; output the new file's ``uri``."""

    type = "io.kestra.plugin.core.storage.Reverse"
    outputs = {"uri": "kestra:// URI of the reversed file (the same extension as `from`)."}
    blocking = True
    properties = {
        "from": FROM,
        "separator": Prop("string", default="\n", description="Written after each line (`\\r\\n` for Windows)."),
        "charset": Prop("string", default="UTF-8", description="The name of a supported charset."),
    }
    example = _example("reverse", """\
  - id: reverse
    type: io.kestra.plugin.core.storage.Reverse
    from: "{{ outputs.write.uri }}"
""")

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        uri = ctx.get("from")
        source = stored_file(uri, "from")
        separator, charset = ctx.get("separator"), ctx.get("charset")
        try:
            codec = codecs.lookup(charset).name
            newline = "\n".encode(codec)  # a codec that is no text encoding (hex, rot13) fails here
        except LookupError:
            raise TaskFailure(f"property 'charset': unsupported charset '{charset}'") from None
        try:
            ending = separator.encode(codec)
        except UnicodeError:
            raise TaskFailure(f"property 'separator': not writable in {charset}") from None
        target = output_path(ctx, PurePosixPath(urlparse(uri).path).suffix or ".tmp")
        with source.open("rb") as reader, target.open("wb") as out:
            for line in _lines_backwards(reader, newline):
                out.write(line.removesuffix("\r".encode(codec)) + ending)
        return {"uri": internal_storage.to_uri(target)}


_BLOCK = 64 * 1024


def _lines_backwards(source: IO[bytes], newline: bytes) -> Iterator[bytes]:
    """The lines of ``source``, last first, without their newline (a final newline ends the last line
    rather than starting an empty one), reading the file by blocks from its end."""
    end = source.seek(0, 2)
    position = end
    if end >= len(newline):
        source.seek(end - len(newline))
        if source.read(len(newline)) == newline:
            position -= len(newline)
    rest = b""  # the start of the line being read: the bytes after the last newline seen
    while position > 0:
        step = min(_BLOCK, position)
        position -= step
        source.seek(position)
        parts = (source.read(step) + rest).split(newline)
        rest = parts[0]
        yield from reversed(parts[1:])
    if end:
        yield rest
