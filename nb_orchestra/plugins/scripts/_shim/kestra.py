"""A stand-in for the ``kestra`` pip package inside script tasks.

nb_orchestra puts this folder on a script's PYTHONPATH when the real
package is not installed, so ``from kestra import Kestra`` works offline.
It prints the same ``::{...}::`` lines as the real library. The folder has
no ``__init__.py`` on purpose: the plugin registry must not import it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable


class Kestra:
    """Send outputs, metrics and logs to the orchestrator through stdout."""

    _logger: logging.Logger | None = None

    @staticmethod
    def format(map_: dict) -> str:
        return "::" + json.dumps(map_) + "::"

    @staticmethod
    def _send(map_: dict) -> None:
        print(Kestra.format(map_), flush=True)

    @staticmethod
    def outputs(map_: dict) -> None:
        """Outputs, read as ``outputs.<task>.vars.<key>``."""
        Kestra._send({"outputs": map_})

    @staticmethod
    def _metrics(name: str, type_: str, value: Any, tags: dict | None) -> None:
        Kestra._send({"metrics": [{"name": name, "type": type_, "value": value, "tags": tags or {}}]})

    @staticmethod
    def counter(name: str, value: Any, tags: dict | None = None) -> None:
        Kestra._metrics(name, "counter", value, tags)

    @staticmethod
    def timer(name: str, duration: float | Callable[[], Any], tags: dict | None = None) -> None:
        """A timer in seconds; a callable is run and timed."""
        if callable(duration):
            start = time.perf_counter()
            duration()
            duration = time.perf_counter() - start
        Kestra._metrics(name, "timer", duration, tags)

    @staticmethod
    def logger() -> logging.Logger:
        """A logger whose records become task logs (INFO and below on stdout, WARNING+ on stderr)."""
        if Kestra._logger is None:
            logger = logging.getLogger("Kestra")
            logger.setLevel(logging.DEBUG)
            out = logging.StreamHandler(sys.stdout)
            out.setLevel(logging.DEBUG)
            out.addFilter(lambda record: record.levelno <= logging.INFO)
            err = logging.StreamHandler(sys.stderr)
            err.setLevel(logging.WARNING)
            for handler in (out, err):
                handler.setFormatter(_JsonFormatter())
                logger.addHandler(handler)
            Kestra._logger = logger
        return Kestra._logger


class _JsonFormatter(logging.Formatter):
    _LEVELS = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARN",
               logging.ERROR: "ERROR", logging.CRITICAL: "ERROR"}

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        message = f"{stamp.replace('+00:00', 'Z')} - {record.getMessage()}"
        return Kestra.format({"logs": [{"level": self._LEVELS.get(record.levelno, "TRACE"), "message": message}]})
