"""io.kestra.plugin.core.namespace: UploadFiles, DownloadFiles and DeleteFiles, on the namespace files
kept under ``<home>/namespaces/<namespace>/``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ... import internal_storage
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file
from ..scripts.files import matching_files, path_matcher

CONFLICTS = ("OVERWRITE", "ERROR", "SKIP")
_FILES = Prop("string_or_list", required=True,
              description="Glob patterns (or `glob:`/`regex:` ones) matching namespace file paths such as /a/b.txt.")
_NAMESPACE = Prop("string", required=True, description="The namespace whose files are used.")


def _namespace_file(namespace: str, path: str) -> Path:
    try:
        return internal_storage.namespace_file(namespace, path)
    except ValueError as exc:
        raise TaskFailure(str(exc)) from None


def _matching(namespace: str, patterns: list[str]) -> Iterator[tuple[str, Path]]:
    """(``/relative/path``, local file) of each namespace file that ``patterns`` match, in path order."""
    root = internal_storage.namespace_files_dir(namespace)
    if not root.is_dir():
        return
    matches = path_matcher(patterns)
    for relative in matching_files(["**"], root):
        if matches("/" + relative):
            yield "/" + relative, root / relative


def _patterns(ctx: TaskContext) -> list[str]:
    files = ctx.get("files")
    return files if isinstance(files, list) else [files]


class UploadFiles(TaskPlugin):
    """Copy files into a namespace's files: working-directory files matching ``files``, or the
    ``kestra://`` files of ``filesMap`` (target path -> URI)."""

    type = "io.kestra.plugin.core.namespace.UploadFiles"
    blocking = True
    example = """\
id: upload_a_file
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "SELECT 1"
    extension: .sql
  - id: upload
    type: io.kestra.plugin.core.namespace.UploadFiles
    filesMap:
      queries/one.sql: "{{ outputs.write.uri }}"
    namespace: "{{ flow.namespace }}"
"""
    properties = {
        "namespace": Prop("string", required=True, description="The namespace the files are uploaded to."),
        "files": Prop("list", description="Patterns of working-directory files to upload (plain globs from the "
                                          "working directory, or `glob:`/`regex:` on absolute paths)."),
        "filesMap": Prop("map_or_string", description="Target path -> kestra:// URI (a map or a JSON string)."),
        "destination": Prop("string", default="/", description="The folder the files go to."),
        "conflict": Prop("enum", default="OVERWRITE", choices=CONFLICTS,
                         description="When a file exists: OVERWRITE it, fail (ERROR) or SKIP it."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        namespace, conflict = ctx.get("namespace"), ctx.get("conflict")
        destination = ctx.get("destination")
        destination = destination if destination.startswith("/") else "/" + destination
        files, files_map = ctx.get("files"), ctx.get("filesMap")
        if files is None and files_map is None:
            raise TaskFailure("files or filesMap is required")
        work = ctx.working_dir
        for relative in matching_files([str(f) for f in files or ()], work) if files is not None else ():
            self._put(ctx, namespace, f"{destination.rstrip('/')}/{relative}", work / relative, conflict)
        if isinstance(files_map, str):
            files_map = json.loads(files_map)
        for target, uri in (files_map or {}).items():
            if not isinstance(uri, str):
                raise TaskFailure("filesMap must be a Map<String, String>")
            try:
                source = stored_file(uri, "filesMap")
            except TaskFailure:
                continue  # Kestra uploads only the files that exist
            self._put(ctx, namespace, destination + str(target), source, conflict)
        return None

    @staticmethod
    def _put(ctx: TaskContext, namespace: str, path: str, source: Path, conflict: str) -> None:
        target = _namespace_file(namespace, path)
        if target.exists():
            if conflict == "ERROR":
                raise TaskFailure(f"File '{path}' already exists in namespace '{namespace}' and conflict is set "
                                  "to ERROR")
            if conflict == "SKIP":
                ctx.log("DEBUG", f"skipped {path}: it already exists")
                return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        ctx.log("DEBUG", f"uploaded {path}")


class DownloadFiles(TaskPlugin):
    """Copy the namespace files matching ``files`` into this task's storage; output ``files``."""

    type = "io.kestra.plugin.core.namespace.DownloadFiles"
    blocking = True
    outputs = {"files": "Namespace file path (/a/b.txt) -> kestra:// URI of its copy."}
    properties = {
        "namespace": _NAMESPACE,
        "files": _FILES,
        "destination": Prop("string", default="", description="A folder prefix for the copies."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        destination = ctx.get("destination").strip("/")
        downloaded: dict[str, str] = {}
        for path, source in _matching(ctx.get("namespace"), _patterns(ctx)):
            name = f"{destination}{path}" if destination else path.lstrip("/")
            downloaded[path] = internal_storage.put_file(source, ctx.storage_dir, name)
            ctx.log("DEBUG", f"Downloaded {downloaded[path]}")
        return {"files": downloaded}


class DeleteFiles(TaskPlugin):
    """Delete the namespace files matching ``files``."""

    type = "io.kestra.plugin.core.namespace.DeleteFiles"
    blocking = True
    properties = {"namespace": _NAMESPACE, "files": _FILES}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        for path, file in list(_matching(ctx.get("namespace"), _patterns(ctx))):
            file.unlink()
            ctx.log("DEBUG", f"Deleted {path}")
        return None
