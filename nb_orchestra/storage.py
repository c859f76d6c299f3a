"""Execution files: ``kestra:///...`` URIs mapped to folders under the home directory.

Kestra hands files between tasks as internal-storage URIs; here the same
strings name files below ``<home>/storage``, so expressions and task
properties that carry URIs behave as they do on a server.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from .config import settings

SCHEME = "kestra"


def to_path(uri: str) -> Path:
    """``kestra:///ns/flow/executions/id/file.csv`` -> the local file it names."""
    parsed = urlparse(str(uri))
    if parsed.scheme != SCHEME:
        raise ValueError(f"'{uri}' is not a {SCHEME}:// URI")
    parts = PurePosixPath(unquote(parsed.path)).parts[1:]
    if ".." in parts:
        raise ValueError(f"'{uri}' leaves the storage folder")
    return settings.home.joinpath("storage", *parts)


def to_uri(path: Path) -> str:
    """The ``kestra:///`` URI of a file below the storage folder."""
    relative = Path(path).resolve().relative_to(settings.home.joinpath("storage").resolve())
    return f"{SCHEME}:///" + "/".join(relative.parts)
