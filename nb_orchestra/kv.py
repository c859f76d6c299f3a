"""The KV store: typed values by namespace and key, kept under the home directory.

One JSON file per namespace, written atomically (a temp file then a rename),
so a value set by one flow is read by another, also in a later process.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import settings


class KVStore:
    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()

    def _file(self, namespace: str) -> Path:
        return self.root / f"{namespace}.json"

    def _read(self, namespace: str) -> dict[str, Any]:
        try:
            return json.loads(self._file(namespace).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, namespace: str, entries: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entries, handle, default=str)
        os.replace(tmp, self._file(namespace))

    def get(self, namespace: str, key: str) -> tuple[bool, Any]:
        """(found, value); an expired entry counts as missing."""
        entry = self._read(namespace).get(key)
        if entry is None or _expired(entry):
            return False, None
        return True, entry["value"]

    def set(self, namespace: str, key: str, value: Any, expires: datetime | None = None) -> None:
        with self._lock:
            entries = self._read(namespace)
            entries[key] = {"value": value, "expires": expires.isoformat() if expires else None}
            self._write(namespace, entries)

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            entries = self._read(namespace)
            found = entries.pop(key, None) is not None
            if found:
                self._write(namespace, entries)
            return found

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        return sorted(k for k, e in self._read(namespace).items() if k.startswith(prefix) and not _expired(e))


def _expired(entry: dict[str, Any]) -> bool:
    expires = entry.get("expires")
    return bool(expires) and datetime.fromisoformat(expires) <= datetime.now(timezone.utc)


def kv_store() -> KVStore:
    """The KV store of the configured home directory."""
    return KVStore(settings.home / "kv")
