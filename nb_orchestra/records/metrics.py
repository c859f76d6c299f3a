"""The metrics a task run reports: Kestra's counters, timers and gauges.

A task run keeps them as JSON-ready dicts ``{"name", "type", "value", "tags"}`` (``TaskRun.metrics``):
``value`` is a number, a timer's in seconds (Kestra reads a script's timer as a ``Duration`` in
seconds; its API lists timers in milliseconds), ``tags`` a map of text to text. As Kestra's
``RunContext.metric`` does, a metric reported again with the same type, name and tags is one
metric: a counter or a timer adds the new value, a gauge takes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..durations import parse_duration

TYPES = ("counter", "timer", "gauge")


def metric(name: Any, type_: Any, value: Any, tags: Any = None) -> dict[str, Any]:
    """A metric as a task run keeps it. ValueError (a short reason) for a missing name, a type
    other than counter/timer/gauge, a value that is no number (a timer also takes an ISO-8601
    duration, ``PT1.5S``) or tags that are no map."""
    if not isinstance(name, str) or not name:
        raise ValueError("a metric needs a name")
    if type_ not in TYPES:
        raise ValueError(f"unknown metric type {type_!r} (counter, timer or gauge)")
    if tags is not None and not isinstance(tags, Mapping):
        raise ValueError(f"the tags of metric '{name}' are not a map")
    return {"name": name, "type": type_, "value": _number(name, type_, value),
            "tags": {str(k): _tag(v) for k, v in (tags or {}).items()}}


def add_metric(metrics: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    """Report ``entry`` (from :func:`metric`) into ``metrics``, merged with an earlier one of the
    same type, name and tags."""
    for known in metrics:
        if (known["type"], known["name"], known["tags"]) == (entry["type"], entry["name"], entry["tags"]):
            known["value"] = entry["value"] if entry["type"] == "gauge" else known["value"] + entry["value"]
            return
    metrics.append(entry)


def _number(name: str, type_: str, value: Any) -> int | float:
    if type_ == "timer" and isinstance(value, str):
        try:
            return parse_duration(value).total_seconds()
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"the value of {type_} '{name}' is not a number: {value!r}")
    return value


def _tag(value: Any) -> str:
    """A tag value as Kestra keeps it (text); JSON's true/false/null as JSON writes them."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)
