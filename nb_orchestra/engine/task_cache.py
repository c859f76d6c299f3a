"""Kestra's ``taskCache`` (0.24+): a runnable task whose definition renders the same as an earlier
successful run reuses that run's outputs within ``ttl`` instead of running.

As Kestra's Worker does: the key is the SHA-256 of the task's definition rendered against the run's
variables (``workingDir`` standing as the text ``workingDir``), one entry per key and loop value in the
flow's storage; a SUCCESS or WARNING run writes its outputs there; a cache hit is one SUCCESS attempt.
A key that cannot be rendered means no caching for that run (an ERROR line, then the task runs).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from .. import expressions
from ..config import settings
from ..durations import parse_duration
from ..store.serialize import Encoder, loads


def enabled(task: Any) -> bool:
    config = task.props.get("taskCache")
    return isinstance(config, dict) and config.get("enabled") is True


def key(task: Any, variables: dict[str, Any]) -> str:
    """The cache key of one run of ``task``; raises UserError/ValueError when the definition cannot render."""
    definition = {"id": task.id, "type": task.type, **task.props}
    rendered = expressions.render_value(definition, {**variables, "workingDir": "workingDir"})
    text = json.dumps(rendered, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry(execution: Any, digest: str, value: str | None) -> Path:
    folder = settings.home / "cache" / Path(*execution.namespace.split(".")) / execution.flow_id / "tasks" / digest
    if value is not None:
        folder = folder / hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    return folder / "outputs.json"


def load(execution: Any, task: Any, digest: str, value: str | None) -> dict[str, Any] | None:
    """The cached outputs of ``digest`` when there are some younger than ``ttl`` (an older entry is removed)."""
    path = _entry(execution, digest, value)
    if not path.is_file():
        return None
    ttl = task.props["taskCache"].get("ttl")
    if ttl is not None and path.stat().st_mtime + parse_duration(ttl).total_seconds() < time.time():
        path.unlink(missing_ok=True)
        return None
    outputs = loads(path.read_text(encoding="utf-8"), home=path.parent)
    return outputs if isinstance(outputs, dict) else {}


def save(execution: Any, digest: str, value: str | None, outputs: dict[str, Any] | None) -> None:
    path = _entry(execution, digest, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = Encoder(list(execution.secrets), home=path.parent, folder=path.parent / "files").dumps(dict(outputs or {}))
    partial = path.with_suffix(".part")
    partial.write_text(text or "{}", encoding="utf-8")
    partial.replace(path)



