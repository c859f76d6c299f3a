"""What dbt tells: its JSON log lines, and ``target/run_results.json`` as one run per dbt node.

Kestra's dbt plugin logs each JSON line at its level and shows each node of ``run_results.json``
(a model, a test, a seed...) as a run under the task, with its state, its timing, a summary line
and its message; ``rows_affected``/``bytes_processed`` become counters of the task.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...expressions.dates import parse_iso
from ..base import ChildRun

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LEVELS = {"debug": "DEBUG", "info": "INFO", "warn": "WARN", "warning": "WARN", "error": "ERROR"}
_STATES = {"error": "FAILED", "fail": "FAILED", "runtime error": "FAILED", "runtime_error": "FAILED",
           "warn": "WARNING", "partial success": "WARNING", "skipped": "SKIPPED", "no-op": "SKIPPED"}
_METRICS = {"rows_affected": "rows.affected", "bytes_processed": "bytes.processed"}


@dataclass
class DbtLog:
    """Reads dbt's ``--log-format json`` lines: each logged at its own level with its message (colour
    codes removed), blank ones dropped; remembers its errors (not the stack traces) and whether it
    warned. Other lines go on
    as they are. Reader threads call :meth:`accept`."""

    log: Callable[[str, str], None]
    errors: list[str] = field(default_factory=list)
    warned: bool = False
    metrics: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, level: str, message: str) -> None:
        event = _event(message)
        if event is None:
            self.log(level, message)
            return
        info, data = event
        level = _LEVELS.get(str(info.get("level", "")).lower(), "ERROR")
        text = _ANSI.sub("", str(info.get("msg") or data.get("msg") or "")).rstrip()
        stats = data.get("stats")
        with self._lock:
            if level == "WARN":
                self.warned = True
            if level == "ERROR" and text.strip() and not text.startswith("Traceback"):
                self.errors.append(text.strip())
            if isinstance(stats, dict):
                self.metrics += [{"name": str(k), "type": "counter", "value": v, "tags": {}}
                                 for k, v in stats.items() if isinstance(v, (int, float))]
        if text.strip():
            self.log(level, text)


def _event(line: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(info, data) of a dbt JSON log line (``{"info": {...}, "data": {...}}``, or the flat form of
    older dbt versions), else None."""
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(entry, dict):
        return None
    data: dict[str, Any] = entry["data"] if isinstance(entry.get("data"), dict) else {}
    if isinstance(entry.get("info"), dict):
        return entry["info"], data
    if "level" in entry and ("msg" in entry or "type" in entry):
        return entry, data
    return None


@dataclass
class NodeResult:
    """One node of run_results.json."""

    unique_id: str
    status: str
    message: str | None
    failures: int | None
    execution_time: float | None
    child: ChildRun
    metrics: list[dict[str, Any]]

    @property
    def failed(self) -> bool:
        return self.child.state == "FAILED"


def read_run_results(path: Path) -> list[NodeResult]:
    """The nodes of a ``run_results.json``, each with the run shown for it (Kestra's ResultParser)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [_node(result) for result in document.get("results") or [] if isinstance(result, dict)]


def _node(result: dict[str, Any]) -> NodeResult:
    unique_id = str(result.get("unique_id") or "?")
    status = str(result.get("status") or "")
    state = _STATES.get(status.lower(), "SUCCESS")
    timing = [t for t in result.get("timing") or [] if isinstance(t, dict)]
    starts = [parse_iso(t["started_at"]) for t in timing if t.get("started_at")]
    ends = [parse_iso(t["completed_at"]) for t in timing if t.get("completed_at")]
    message = _ANSI.sub("", str(result["message"])) if result.get("message") else None
    failures = result.get("failures")
    seconds = result.get("execution_time")
    summary = f"{unique_id} => {status}"
    if isinstance(seconds, (int, float)):
        summary += f" in {seconds:.2f}s"
    if isinstance(failures, int) and failures > 0:
        summary += f" ({failures} failure{'s' if failures != 1 else ''})"
    level = {"FAILED": "ERROR", "WARNING": "WARN"}.get(state, "INFO")
    logs = [(level, summary)] + ([(level, message)] if message and message.strip() else [])
    response: dict[str, Any] = result["adapter_response"] if isinstance(result.get("adapter_response"), dict) else {}
    metrics = [{"name": name, "type": "counter", "value": float(response[key]), "tags": {"node": unique_id}}
               for key, name in _METRICS.items() if isinstance(response.get(key), (int, float))]
    child = ChildRun(unique_id, state, min(starts) if starts else None, max(ends) if ends else None,
                     task_type=f"dbt.{unique_id.split('.', 1)[0]}", logs=logs)
    return NodeResult(unique_id, status, message, failures if isinstance(failures, int) else None,
                      seconds if isinstance(seconds, (int, float)) else None, child, metrics)


def failure_summary(nodes: list[NodeResult]) -> str | None:
    """``model.shop.bad: Runtime Error in model bad (models/bad.sql); ...`` for the failed nodes."""
    failed = [node for node in nodes if node.failed]
    if not failed:
        return None
    parts = []
    for node in failed:
        first = next((line.strip() for line in (node.message or "").splitlines() if line.strip()), node.status)
        parts.append(f"{node.unique_id}: {first}")
    return f"{len(failed)} dbt node(s) failed: " + "; ".join(parts)
