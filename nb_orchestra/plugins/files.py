"""Files that task properties name: kestra:// URIs resolved, inputFiles written.

Shared by every plugin family that reads stored files (storage, scripts,
HTTP form data, databases), so a missing file reads the same everywhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .. import internal_storage
from .base import TaskFailure

NSFILE = "nsfile://"


def stored_file(uri: Any, prop: str | None = None, namespace: str | None = None) -> Path:
    """The local file behind a ``kestra://`` URI (or, given a namespace, an ``nsfile://`` one).

    A missing or invalid URI is a TaskFailure naming the property.
    """
    where = f"property '{prop}': " if prop else ""
    text = str(uri)
    try:
        if namespace is not None and text.startswith(NSFILE):
            path = internal_storage.namespace_file(namespace, text[len(NSFILE):])
        else:
            path = internal_storage.to_path(text)
    except ValueError as exc:
        raise TaskFailure(f"{where}{exc}") from None
    if not path.is_file():
        raise TaskFailure(f"{where}Unable to find file '{uri}'")
    return path


def inside(work: Path, name: str) -> Path:
    """``work/name``, refusing names that are absolute or leave ``work``."""
    target = (work / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(work.resolve()):
        raise TaskFailure(f"'{name}': only paths relative to the working directory are allowed")
    return target


def write_input_files(files: dict[str, Any], work: Path, namespace: str) -> None:
    """Kestra's ``inputFiles``: a kestra:// (or nsfile://) value is copied in, any other is the file's text."""
    for name, value in files.items():
        target = inside(work, str(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        text = "" if value is None else str(value)
        if text.startswith(("kestra://", NSFILE)):
            shutil.copyfile(stored_file(text, f"inputFiles.{name}", namespace), target)
        else:
            target.write_bytes(text.encode("utf-8"))
