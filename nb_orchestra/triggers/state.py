"""Trigger state that outlives the kernel: the last tick each Schedule trigger fired.

Kestra keeps it per (namespace, flow id, trigger id), so renaming a trigger
starts it afresh while changing its cron does not. A restarted kernel reads
it to recover missed schedules as ``recoverMissedSchedules`` says.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..config import settings


class TriggerState(Protocol):
    """Where the scheduler remembers fired ticks (a JSON file now, the execution database later)."""

    def get_last(self, namespace: str, flow_id: str, trigger_id: str) -> datetime | None: ...

    def set_last(self, namespace: str, flow_id: str, trigger_id: str, date: datetime) -> None: ...


class JsonTriggerState:
    """A JSON file, ``settings.home / "triggers.json"`` unless told otherwise, rewritten atomically."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else settings.home / "triggers.json"

    def get_last(self, namespace: str, flow_id: str, trigger_id: str) -> datetime | None:
        with self._lock:
            value = self._read().get(_key(namespace, flow_id, trigger_id))
        return datetime.fromisoformat(value) if value else None

    def set_last(self, namespace: str, flow_id: str, trigger_id: str, date: datetime) -> None:
        with self._lock:
            data = self._read()
            data[_key(namespace, flow_id, trigger_id)] = date.isoformat()
            self._write(data)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".triggers-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _key(namespace: str, flow_id: str, trigger_id: str) -> str:
    return f"{namespace}/{flow_id}/{trigger_id}"
