"""io.kestra.plugin.core.storage: PurgeCurrentExecutionFiles, Write, Size, Delete,
Concat, Split and LocalFiles, on the ``kestra:///`` files of ``<home>/storage``."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlparse

from ... import internal_storage
from ...config import settings
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file, write_input_files
from ..scripts.files import collect_output_files

_URI = Prop("string", required=True, description="A kestra:// internal-storage URI.")


def _new_file(ctx: TaskContext, extension: str) -> Path:
    """A fresh file name in the task run's storage folder (Kestra names them like temp files)."""
    folder = ctx.storage_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}{extension}"


class PurgeCurrentExecutionFiles(TaskPlugin):
    """Delete every internal-storage file of this execution; output ``uris`` lists them."""

    type = "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"
    outputs = {"uris": "URIs of the deleted files."}
    aliases = ("io.kestra.plugin.core.storage.PurgeExecution", "io.kestra.core.tasks.storages.PurgeExecution")
    blocking = True
    properties = {
        "includeChildExecutions": Prop("bool", default=False, description="Accepted; subflow files are kept."),
        "includeStates": Prop("bool", default=False, description="Accepted; no state files here."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        ex = ctx.execution
        folder = settings.execution_dir(ex.namespace, ex.flow_id, ex.id)
        uris = [internal_storage.to_uri(p) for p in sorted(folder.rglob("*")) if p.is_file()] if folder.is_dir() else []
        shutil.rmtree(folder, ignore_errors=True)
        return {"uris": uris}


class Write(TaskPlugin):
    """Store ``content`` as a new file; output ``uri``."""

    type = "io.kestra.plugin.core.storage.Write"
    outputs = {"uri": "kestra:// URI of the written file."}
    blocking = True
    properties = {
        "content": Prop("string", required=True, description="The file content (UTF-8)."),
        "extension": Prop("string", description="Appended to the file name as given, e.g. '.txt'."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        target = _new_file(ctx, ctx.get("extension") or ".tmp")
        target.write_bytes(ctx.get("content").encode("utf-8"))
        return {"uri": internal_storage.to_uri(target)}


class Size(TaskPlugin):
    """Output ``size``: the file's size in bytes."""

    type = "io.kestra.plugin.core.storage.Size"
    outputs = {"size": "Size of the file in bytes."}
    blocking = True
    properties = {"uri": _URI}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        return {"size": stored_file(ctx.get("uri"), "uri").stat().st_size}


class Delete(TaskPlugin):
    """Delete a file; outputs ``uri`` and ``deleted`` (false when it was not there)."""

    type = "io.kestra.plugin.core.storage.Delete"
    outputs = {"uri": "The URI asked for.", "deleted": "Whether a file was deleted."}
    blocking = True
    properties = {
        "uri": _URI,
        "errorOnMissing": Prop("bool", default=False, description="Fail when the file does not exist."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        uri = ctx.get("uri")
        try:
            path = internal_storage.to_path(uri)
        except ValueError as exc:
            raise TaskFailure(str(exc)) from None
        deleted = path.is_file()
        if deleted:
            path.unlink()
        elif ctx.get("errorOnMissing"):
            raise TaskFailure(f"Unable to find file '{uri}'")
        return {"uri": uri, "deleted": deleted}


class Concat(TaskPlugin):
    """Join files, in order, into a new file (``separator`` after each one, as Kestra does)."""

    type = "io.kestra.plugin.core.storage.Concat"
    outputs = {"uri": "kestra:// URI of the concatenated file."}
    blocking = True
    properties = {
        "files": Prop("list_or_string", required=True, description="kestra:// URIs: a list or a JSON list string."),
        "separator": Prop("string", description="Written after each file; none by default."),
        "extension": Prop("string", default=".tmp", description="Appended to the new file's name."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        uris = ctx.get("files")
        if isinstance(uris, str):
            raise TaskFailure(f"property 'files': expected a list of URIs or a JSON list, got {uris!r}")
        separator = ctx.get("separator")
        target = _new_file(ctx, ctx.get("extension"))
        with target.open("wb") as out:
            for uri in uris:
                with stored_file(uri, "files").open("rb") as source:
                    shutil.copyfileobj(source, out)
                if separator is not None:
                    out.write(separator.encode("utf-8"))
        return {"uri": internal_storage.to_uri(target)}


class Split(TaskPlugin):
    """Split a text file by ``bytes``, ``partitions``, ``rows`` or ``regexPattern``; output ``uris``.

    Lines are written back with ``separator`` (default newline) after each.
    """

    type = "io.kestra.plugin.core.storage.Split"
    outputs = {"uris": "kestra:// URIs of the parts."}
    blocking = True
    properties = {
        "from": _URI,
        "bytes": Prop("string", description="Maximum size of a part: '10MB', '200KB' or a number of bytes."),
        "partitions": Prop("int", description="Number of parts, filled round-robin."),
        "rows": Prop("int", description="Lines per part."),
        "regexPattern": Prop("string", description="Group lines by the pattern's first capture group."),
        "separator": Prop("string", default="\n", description="Written after each line."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        uri = ctx.get("from")
        suffix = PurePosixPath(urlparse(uri).path).suffix or ".tmp"
        separator = ctx.get("separator")
        props = ctx.task.props
        with stored_file(uri, "from").open(encoding="utf-8", errors="surrogateescape", newline=None) as source:
            lines = (line.rstrip("\n") for line in source)
            parts = _Parts(ctx, suffix, separator)
            if props.get("regexPattern") is not None:
                parts.by_key(lines, re.compile(ctx.get("regexPattern")))
            elif props.get("bytes") is not None:
                limit = parse_bytes(ctx.get("bytes"))
                parts.sequential(lines, lambda size, rows: size >= limit)
            elif props.get("partitions") is not None:
                parts.round_robin(lines, ctx.get("partitions"))
            elif props.get("rows") is not None:
                rows_limit = ctx.get("rows")
                parts.sequential(lines, lambda size, rows: rows >= rows_limit)
            else:
                raise TaskFailure("Invalid configuration with no size, count, rows, nor regexPattern")
        return {"uris": parts.uris()}


class _Parts:
    """The output files of a Split, in creation order; empty ones are dropped."""

    def __init__(self, ctx: TaskContext, suffix: str, separator: str):
        self.ctx, self.suffix, self.separator = ctx, suffix, separator
        self.paths: list[Path] = []

    def _open(self) -> IO[bytes]:
        path = _new_file(self.ctx, self.suffix)
        self.paths.append(path)
        return path.open("wb")

    def _bytes(self, line: str) -> bytes:
        return (line + self.separator).encode("utf-8", errors="surrogateescape")

    def sequential(self, lines: Any, full: Callable[[int, int], bool]) -> None:
        """A new part whenever ``full(bytes, rows)`` of the current one says so."""
        out, size, rows = None, 0, 0
        try:
            for line in lines:
                if out is None or full(size, rows):
                    if out is not None:
                        out.close()
                    out, size, rows = self._open(), 0, 0
                size += out.write(self._bytes(line))
                rows += 1
        finally:
            if out is not None:
                out.close()

    def round_robin(self, lines: Any, count: int) -> None:
        outs = [self._open() for _ in range(max(count, 1))]
        try:
            for index, line in enumerate(lines):
                outs[index % len(outs)].write(self._bytes(line))
        finally:
            for out in outs:
                out.close()

    def by_key(self, lines: Any, pattern: re.Pattern[str]) -> None:
        """One part per value of the first capture group; lines that do not match are dropped."""
        outs: dict[str, IO[bytes]] = {}
        try:
            for line in lines:
                match = pattern.search(line)
                if match is None or not pattern.groups:
                    continue
                key = match.group(1)
                if key not in outs:
                    outs[key] = self._open()
                outs[key].write(self._bytes(line))
        finally:
            for out in outs.values():
                out.close()

    def uris(self) -> list[str]:
        kept = []
        for path in self.paths:
            if path.stat().st_size:
                kept.append(internal_storage.to_uri(path))
            else:
                path.unlink()
        return kept


def parse_bytes(text: str) -> int:
    """'10MB' -> 10485760 (KB/MB/GB are powers of 1024, as Micronaut reads them)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]B)?\s*", str(text), re.IGNORECASE)
    if match is None:
        raise TaskFailure(f"Invalid size with value '{text}'")
    factor = {"": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[(match.group(2) or "").upper()]
    return int(match.group(1)) * factor


class LocalFiles(TaskPlugin):
    """Deprecated in Kestra (use ``inputFiles``/``outputFiles``): write ``inputs`` files into the working
    directory, then store the files matching ``outputs``; output ``uris``."""

    type = "io.kestra.plugin.core.storage.LocalFiles"
    outputs = {"uris": "Relative path -> kestra:// URI of each stored file."}
    blocking = True
    properties = {
        "inputs": Prop("map_or_string", description="File name -> content (a kestra:// URI is copied in)."),
        "outputs": Prop("list", description="Globs of working-directory files to store, e.g. `sub/**`."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        work = ctx.working_dir
        inputs = ctx.get("inputs")
        if isinstance(inputs, str):
            raise TaskFailure(f"property 'inputs': expected a map of file name to content, got {inputs!r}")
        write_input_files(inputs or {}, work, ctx.execution.namespace)
        patterns = [str(p) for p in ctx.get("outputs") or ()]
        return {"uris": collect_output_files(patterns, work, ctx.storage_dir) if patterns else {}}
