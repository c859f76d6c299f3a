"""The ``::{...}::`` protocol scripts use to talk back to Kestra.

A whole line ``::{json}::`` on stdout or stderr is not logged: its
``outputs`` are merged into the task's ``vars``, its ``metrics`` are
recorded and its ``logs`` are emitted at their own level (Kestra's
TaskLogLineMatcher). Any other line is a log line: stdout INFO, stderr
ERROR (stderr was WARN before Kestra 0.21, PR kestra#6383).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

LINE = re.compile(r"^::(\{.*\})::$")
_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}


class LineProtocol:
    """Reads the lines of one process run; keeps its ``vars`` and ``metrics``.

    ``log(level, message)`` receives every log line. Both reader threads
    call :meth:`accept`, so state changes are guarded by a lock.
    """

    def __init__(self, log: Callable[[str, str], None]):
        self._log = log
        self._lock = threading.Lock()
        self.vars: dict[str, Any] = {}
        self.metrics: list[dict[str, Any]] = []
        self.stderr_tail: list[str] = []

    def accept(self, line: str, stderr: bool) -> None:
        """Handle one line (without its line terminator)."""
        match = LINE.match(line)
        if match is None:
            if stderr:
                with self._lock:
                    self.stderr_tail = [*self.stderr_tail[-9:], line]
            self._log("ERROR" if stderr else "INFO", line)
            return
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError as exc:
            self._log("WARN", f"Invalid outputs '{exc}' in line: {line}")
            return
        self._handle(data, line)

    def _handle(self, data: dict[str, Any], line: str) -> None:
        outputs = data.get("outputs")
        metrics = data.get("metrics")
        with self._lock:
            if isinstance(outputs, dict):
                self.vars.update(outputs)
            if isinstance(metrics, list):
                self.metrics.extend(_metric(m) for m in metrics if isinstance(m, dict) and "name" in m)
        for entry in data.get("logs") or ():
            level = str(entry.get("level", "INFO")).upper() if isinstance(entry, dict) else ""
            if level not in _LEVELS:
                self._log("WARN", f"Invalid log '{line}'")
                continue
            self._log(level, str(entry.get("message", "")))


def _metric(entry: dict[str, Any]) -> dict[str, Any]:
    """A metric as recorded: name, type (counter|timer), value, tags."""
    return {"name": str(entry["name"]), "type": str(entry.get("type", "counter")),
            "value": entry.get("value"), "tags": entry.get("tags") or {}}
