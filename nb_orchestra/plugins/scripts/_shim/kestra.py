"""nb_orchestra's stand-in for the ``kestra`` Python package (PyPI ``kestra``) inside script tasks.

nb_orchestra puts this folder on the PYTHONPATH of every script task. Where the script's
interpreter has the real package, importing this module hands over to it (``_hand_over`` at the
end), so ``import kestra`` is the real one; only where it has none, or cannot import it, do the
classes below answer, so ``from kestra import Kestra`` works offline in any interpreter. They
print the same ``::{...}::`` lines as the real package for ``outputs``, ``counter``, ``timer``,
``gauge``, ``assets`` and ``logger()``, and ``read`` gives the same records (tests/test_kestra_client.py
runs one script both ways). One difference, on purpose: ``Kestra.timer(name, a_callable)`` reports
the call's duration in seconds, as Kestra reads a timer (kestra 2.0 sends the difference of the
sub-second parts of two clock readings, in milliseconds). ``Flow`` (a Kestra server's API) and the
2.x ``kestra.context`` exist only in the real package.

The folder has no ``__init__.py`` on purpose: the plugin registry must not import it.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import sys
import time
from datetime import datetime, timezone
from typing import Any


class Kestra:
    """Outputs, metrics, assets and logs for the orchestrator: one ``::{json}::`` line each, on stdout."""

    _logger: logging.Logger | None = None

    @staticmethod
    def format(map_: dict) -> str:
        """A message as the orchestrator reads it: ``::`` + JSON + ``::``."""
        return "::" + json.dumps(map_) + "::"

    @staticmethod
    def _send(map_: dict) -> None:
        print(Kestra.format(map_), flush=True)

    @staticmethod
    def outputs(map_: dict) -> None:
        """Outputs of the task, read as ``outputs.<task>.vars.<key>``."""
        Kestra._send({"outputs": map_})

    @staticmethod
    def assets(map_: dict) -> None:
        """An asset (Kestra 1.2+: its catalogue); nb_orchestra notes it in the debug log."""
        Kestra._send({"assets": map_})

    @staticmethod
    def _metrics(name: str, type_: str, value: Any, tags: dict | None = None) -> None:
        Kestra._send({"metrics": [{"name": name, "type": type_, "value": value, "tags": tags or {}}]})

    @staticmethod
    def counter(name: str, value: Any, tags: dict | None = None) -> None:
        """Add ``value`` to the counter ``name`` (one counter per name and tags)."""
        Kestra._metrics(name, "counter", value, tags)

    @staticmethod
    def timer(name: str, duration: Any, tags: dict | None = None) -> None:
        """A duration in seconds; given a callable, it is called and its duration reported."""
        if callable(duration):
            started = time.perf_counter()
            duration()
            duration = time.perf_counter() - started
        Kestra._metrics(name, "timer", duration, tags)

    @staticmethod
    def gauge(name: str, value: Any, tags: dict | None = None) -> None:
        """The current value of ``name`` (the last one reported wins)."""
        Kestra._metrics(name, "gauge", value, tags)

    @staticmethod
    def logger() -> logging.Logger:
        """The ``Kestra`` logger: each record a JSON log line with its level, DEBUG and INFO on
        stdout, WARNING and above on stderr."""
        if Kestra._logger is None:
            logger = logging.getLogger("Kestra")
            logger.setLevel(logging.DEBUG)
            for stream, level, keep in ((sys.stdout, logging.DEBUG, lambda r: r.levelno <= logging.INFO),
                                        (sys.stderr, logging.WARNING, None)):
                handler = logging.StreamHandler(stream)
                handler.setLevel(level)
                if keep is not None:
                    handler.addFilter(keep)
                handler.setFormatter(_JsonLines())
                logger.addHandler(handler)
            Kestra._logger = logger
        return Kestra._logger

    @staticmethod
    def read(path_: str) -> list[dict[str, Any]]:
        """The records of an Ion file (what Kestra's tasks store) as dicts of plain Python values:
        decimals as floats, blobs as text, ISO date-times as datetimes, nulls as None."""
        try:
            from amazon.ion import simpleion
        except ImportError:
            raise ImportError("Kestra.read needs the amazon.ion package (pip install amazon.ion)") from None
        with open(path_, "rb") as handle:
            records = simpleion.loads(handle.read(), single_value=False)
        return [{key: _plain(value) for key, value in dict(record).items()} for record in records]


class _UtcText(logging.Formatter):
    """``2024-05-01T10:00:00.123Z - message`` (and the traceback of ``logger.exception``)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s - %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")


class _JsonLines(logging.Formatter):
    """A log record as the orchestrator's log line, with Kestra's level name (others are TRACE)."""

    _LEVELS = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARN",
               logging.ERROR: "ERROR", logging.CRITICAL: "ERROR"}
    _text = _UtcText()

    def format(self, record: logging.LogRecord) -> str:
        level = self._LEVELS.get(record.levelno, "TRACE")
        return Kestra.format({"logs": [{"level": level, "message": self._text.format(record)}]})


_ISO_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")


def _plain(value: Any) -> Any:
    """An Ion value as ``Kestra.read`` gives it."""
    from amazon.ion.simple_types import IonPyBool, IonPyBytes, IonPyDecimal, IonPyDict, IonPyNull

    if isinstance(value, IonPyNull):
        return None
    if isinstance(value, IonPyDecimal):
        return float(value)
    if isinstance(value, IonPyBool):
        return bool(value)
    if isinstance(value, IonPyBytes):
        return value.decode("utf-8")
    if isinstance(value, (dict, IonPyDict)):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, str):
        return _date_time(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _date_time(text: str) -> Any:
    """``LocalDateTime::"..."`` and ISO-8601 date-times as datetimes; other text unchanged."""
    if text.startswith("LocalDateTime::"):
        candidate = text.split("::")[1].strip('"')
    elif _ISO_DATE_TIME.fullmatch(text):
        candidate = text
    else:
        return text
    try:
        parse = importlib.import_module("dateutil.parser").isoparse  # the real package's parser
    except ImportError:  # without python-dateutil: the standard library's
        parse = datetime.fromisoformat
    try:
        return parse(candidate)
    except ValueError:
        return text


def _hand_over() -> None:
    """Become the real ``kestra`` package when this interpreter has one on the rest of its path."""
    import importlib.machinery
    import importlib.util
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    elsewhere = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("kestra", elsewhere)
    if spec is None or spec.loader is None:
        return
    shim = sys.modules["kestra"]
    real = importlib.util.module_from_spec(spec)
    sys.modules["kestra"] = real  # what `import kestra` returns once this module ends
    try:
        spec.loader.exec_module(real)
    except Exception:  # installed but broken (a dependency missing): the shim answers
        sys.modules["kestra"] = shim


if __name__ == "kestra":
    _hand_over()
