"""Mail attachments and embedded images: ``{uri, name, contentType}`` entries whose ``uri`` is a
``kestra://`` file, given as a list, one map, or their JSON text (``{{ ... | toJson }}``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..base import Prop, TaskFailure
from ..files import stored_file

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def attachments_prop(kind: str, what: str) -> Prop:
    return Prop(kind, description=(
        f"{what}: a list of {{uri, name, contentType}}, `uri` a `kestra://` file, `name` the file name shown "
        f"(default: the stored file's), `contentType` its MIME type (default {DEFAULT_CONTENT_TYPE})."))


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes

    @property
    def main_and_sub_type(self) -> tuple[str, str]:
        main, _, sub = self.content_type.partition("/")
        return (main, sub.split(";")[0].strip()) if sub else ("application", "octet-stream")


def read_attachments(value: Any, prop: str) -> list[Attachment]:
    """The files ``value`` names, read from the internal storage (a missing one fails naming ``prop``)."""
    out = []
    for index, entry in enumerate(_entries(value, prop)):
        if not isinstance(entry, Mapping) or not entry.get("uri"):
            raise TaskFailure(f"property '{prop}': entry {index} needs a `uri` (a kestra:// file)")
        path = stored_file(entry["uri"], prop)
        out.append(Attachment(str(entry.get("name") or path.name),
                              str(entry.get("contentType") or DEFAULT_CONTENT_TYPE), path.read_bytes()))
    return out


def _entries(value: Any, prop: str) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        value = _json(text, prop)
        if isinstance(value, str):  # JSON text of JSON text, as Kestra also reads it
            value = _json(value, prop)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return value
    raise TaskFailure(f"property '{prop}' must be a list of {{uri, name, contentType}} or its JSON")


def _json(text: str, prop: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise TaskFailure(f"property '{prop}' must be a list of {{uri, name, contentType}} or its JSON, "
                          f"got {text[:80]!r}") from None
