"""The ``::{...}::`` protocol scripts use to talk back to Kestra.

A whole line ``::{json}::`` on stdout or stderr is not logged: its
``outputs`` are merged into the task's ``vars``, its ``metrics`` (counter,
timer, gauge) are reported on the task run as they come and its ``logs`` are
emitted at their own level (Kestra's TaskLogLineMatcher); a line Kestra could
not read (bad JSON, a metric of an unknown type or without a number) is
ignored whole, with a warning. This is what the ``kestra`` Python package
prints (``Kestra.outputs``, ``counter``, ``timer``, ``gauge``, ``logger()``);
its ``assets`` are noted in the debug log, not kept.

Any other line is a log line: stdout INFO, stderr ERROR (stderr was WARN
before Kestra 0.21, PR kestra#6383). In a Python
traceback on stderr, the temporary file of an inline script reads "line 3 of
the script", and files of the working directory are named relative to it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...records.metrics import add_metric, metric

LINE = re.compile(r"^::(\{.*\})::$")
_TRACEBACK_FILE = re.compile(r'(\s*)File "([^"]+)", line (\d+)(.*)')  # a frame of a Python traceback
_WARNING = re.compile(r"(\S+\.py):(\d+): (.*)")  # what warnings.warn() prints
_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}


class LineProtocol:
    """Reads the lines of one process run; keeps its ``vars``, ``metrics`` and ``last_error``
    (the last non-blank stderr line: a traceback's exception).

    ``log(level, message)`` receives every log line. ``work`` is the working directory and
    ``script`` the file an inline script was written to. ``metrics`` is the list the metrics go
    to (the task run's, so they show while it runs). Reader threads call :meth:`accept`, so state
    changes are guarded by a lock.
    """

    def __init__(self, log: Callable[[str, str], None], work: Path | None = None, script: str | None = None,
                 metrics: list[dict[str, Any]] | None = None):
        self._log = log
        self._work = f"{work}{os.sep}" if work is not None else None
        self._script = script
        self._lock = threading.Lock()
        self.vars: dict[str, Any] = {}
        self.metrics: list[dict[str, Any]] = metrics if metrics is not None else []
        self.last_error: str | None = None

    def accept(self, line: str, stderr: bool) -> None:
        """Handle one line (without its line terminator)."""
        match = LINE.match(line)
        if match is None:
            if stderr:
                line = self._named(line)
                if line.strip():
                    with self._lock:
                        self.last_error = line.strip()
            self._log("ERROR" if stderr else "INFO", line)
            return
        try:
            data = json.loads(match.group(1))
            metrics = _metrics(data)
        except ValueError as exc:  # JSONDecodeError too
            self._log("WARN", f"Invalid outputs '{exc}' in line: {line}")
            return
        self._handle(data, metrics, line)

    def _named(self, line: str) -> str:
        """A traceback frame or a warning in the script's own words: ``line 3 of the script, in f``
        for the inline script's temporary file, ``File "helper.py", line 3`` for a working-dir file."""
        if frame := _TRACEBACK_FILE.fullmatch(line):
            indent, path, number, rest = frame.groups()
            place = self._place(path, number)
            return line if place is None else f"{indent}{place}{rest}"
        if warning := _WARNING.fullmatch(line):
            path, number, rest = warning.groups()
            place = self._place(path, number)
            return line if place is None else f"{place}: {rest}"
        return line

    def _place(self, path: str, number: str) -> str | None:
        if path == self._script:
            return f"line {number} of the script"
        if self._work is not None and path.startswith(self._work):
            return f'File "{path[len(self._work):]}", line {number}'
        return None

    def _handle(self, data: dict[str, Any], metrics: list[dict[str, Any]], line: str) -> None:
        outputs = data.get("outputs")
        with self._lock:
            if isinstance(outputs, dict):
                self.vars.update(outputs)
            for entry in metrics:
                add_metric(self.metrics, entry)
        for entry in data.get("logs") or ():
            level = str(entry.get("level", "INFO")).upper() if isinstance(entry, dict) else ""
            if level not in _LEVELS:
                self._log("WARN", f"Invalid log '{line}'")
                continue
            self._log(level, str(entry.get("message", "")))
        if data.get("assets"):
            self._log("DEBUG", f"asset not kept (nb_orchestra has no asset catalogue): {json.dumps(data['assets'])}")


def _metrics(data: Any) -> list[dict[str, Any]]:
    """The metrics of one ``::{...}::`` line; ValueError when the line is no object or a metric is
    invalid (Kestra rejects the whole line then)."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    entries = data.get("metrics") or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValueError("metrics is not a list of objects")
    return [metric(entry.get("name"), entry.get("type"), entry.get("value"), entry.get("tags")) for entry in entries]
