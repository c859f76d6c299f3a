"""Execution files: ``kestra:///...`` URIs mapped to folders under the home directory.

Kestra hands files between tasks as internal-storage URIs; here the same
strings name files below ``<home>/storage``, so expressions and task
properties that carry URIs behave as they do on a server.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from .config import settings
from .errors import UserError

SCHEME = "kestra"
NAMESPACE_FILES = "_files"  # Kestra's storage folder of a namespace's files: kestra:///<ns as a path>/_files/


def to_path(uri: str) -> Path:
    """``kestra:///ns/flow/executions/id/file.csv`` -> the local file it names."""
    parsed = urlparse(str(uri))
    if parsed.scheme != SCHEME:
        raise ValueError(f"'{uri}' is not a {SCHEME}:// URI")
    parts = PurePosixPath(unquote(parsed.path)).parts[1:]
    if ".." in parts:
        raise ValueError(f"'{uri}' leaves the storage folder")
    split = _namespace_files_at(parts)
    if split:  # kestra:///my/ns/_files/a.txt: a namespace file (fileURI())
        return namespace_file(".".join(parts[:split]), "/".join(parts[split + 1:]))
    return settings.home.joinpath("storage", *parts)


def _namespace_files_at(parts: tuple[str, ...]) -> int | None:
    """Where ``_files`` follows a namespace in a URI's parts; None in an execution's files
    (``ns/flow/executions/...``), where a task may well write a folder of that name."""
    split = parts.index(NAMESPACE_FILES, 1) if NAMESPACE_FILES in parts[1:] else None
    executions = parts.index("executions", 2) if "executions" in parts[2:] else None
    return split if split and (executions is None or split < executions) else None


def to_uri(path: Path) -> str:
    """The ``kestra:///`` URI of a file below the storage folder."""
    relative = Path(path).resolve().relative_to(settings.home.joinpath("storage").resolve())
    return f"{SCHEME}:///" + "/".join(relative.parts)


def namespace_files_dir(namespace: str) -> Path:
    """Where the namespace files of ``namespace`` live: ``<home>/namespaces/<namespace>/``."""
    return settings.home / "namespaces" / namespace


def namespace_file(namespace: str, relative: str) -> Path:
    """The namespace file at ``relative`` (``nsfile:///relative``), refusing paths that leave the
    namespace's folder."""
    parts = [part for part in PurePosixPath(unquote(relative.replace("\\", "/"))).parts if part.strip("/")]
    if ".." in parts:
        raise ValueError(f"'{relative}' leaves the namespace files of {namespace}")
    return namespace_files_dir(namespace).joinpath(*parts)


def task_run_dir(namespace: str, flow_id: str, execution_id: str, task_id: str, taskrun_id: str) -> Path:
    """Where the files a task run produces are kept (Kestra's internal-storage layout)."""
    return settings.execution_dir(namespace, flow_id, execution_id) / "tasks" / task_id / taskrun_id


def put_file(source: Path, target_dir: Path, name: str | None = None, move: bool = False) -> str:
    """Copy (or move) ``source`` into ``target_dir`` and return its ``kestra:///`` URI."""
    import shutil

    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (name or Path(source).name)
    target.parent.mkdir(parents=True, exist_ok=True)
    (shutil.move if move else shutil.copyfile)(str(source), str(target))
    return to_uri(target)


class LocalFiles:
    """``ex.file(uri)``: the local file behind a ``kestra:///`` output, to open from Python."""

    __slots__ = ()

    def file(self, uri: str) -> Path:
        """The path of the file ``uri`` names; UserError when it is not a kestra:/// URI or is gone."""
        try:
            path = to_path(uri)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if not path.is_file():
            raise UserError(f"no file at {uri} (purged, or another home folder?)")
        return path


def preview(uri: str, lines: int = 10, limit: int = 4096) -> str | None:
    """The first ``lines`` lines of a text file output, or None for a binary or missing one."""
    try:
        path = to_path(uri)
        if not path.is_file():
            return None
        with path.open("rb") as file:
            head = file.read(limit)
    except (ValueError, OSError):
        return None
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[:lines])
