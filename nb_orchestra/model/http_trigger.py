"""Kestra's HTTP polling trigger (``io.kestra.plugin.core.http.Trigger``): its declaration and checks.

Every ``interval`` the scheduler sends the request the trigger describes (the
properties of the core HTTP Request task) and renders ``responseCondition``
with ``response.statusCode``, ``response.body`` and ``response.headers``; a
truthy result starts an execution whose ``trigger`` variables are the
Request's outputs (``uri``, ``code``, ``headers``, ``body``). The request
properties are rendered at each poll (``triggers/http_poll.py``), never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..durations import parse_duration
from ..errors import did_you_mean
from ..plugins.core.http import option_problems
from .condition_types import parse_condition
from .conditions import Condition, Problems
from .triggers import Trigger, check_conditions

DEFAULT_CONDITION = "{{ response.statusCode < 400 }}"
DEFAULT_INTERVAL = timedelta(seconds=60)
# Kestra's HttpMethod values.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT")
# The Request task's properties the trigger sends (Kestra builds a Request from them).
REQUEST_PROPS = ("uri", "method", "body", "formData", "contentType", "headers", "options", "sslOptions")
# What every Kestra trigger may declare (AbstractTrigger; minLogLevel is logLevel's old name).
_COMMON_PROPS = ("id", "type", "description", "conditions", "disabled", "workerGroup", "logLevel", "minLogLevel",
                 "labels", "stopAfter", "logToFile", "allowConcurrent")
KNOWN_PROPS = frozenset({*_COMMON_PROPS, *REQUEST_PROPS, "responseCondition", "interval", "encryptBody"})
_MAPS = ("formData", "headers", "options", "sslOptions")


@dataclass(frozen=True, kw_only=True)
class HttpTrigger(Trigger):
    """Kestra's HTTP ``Trigger``: poll a URL every ``interval``, start an execution when the response
    passes ``responseCondition`` (and the trigger's ``conditions``)."""

    request: Mapping[str, Any] = field(default_factory=dict)  # REQUEST_PROPS as written, rendered at each poll
    response_condition: str = DEFAULT_CONDITION
    interval: timedelta = DEFAULT_INTERVAL
    encrypt_body: bool = False
    conditions: tuple[Condition, ...] = ()  # the date and expression ones, tested at each poll

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Problems:
        """Problems with an HTTP trigger's properties: unknown ones first, then each value."""
        problems: Problems = [(key, f"unknown property '{key}' for an HTTP trigger{did_you_mean(key, KNOWN_PROPS)}")
                              for key in raw if key not in KNOWN_PROPS]
        problems += super().check(raw)
        if not isinstance(raw.get("uri"), str):
            problems.append(("", "missing required property 'uri' for an HTTP trigger") if raw.get("uri") is None
                            else ("uri", "must be a string"))
        method = raw.get("method")
        if method is not None and str(method).upper() not in METHODS:
            problems.append(("method", f"'{method}' is not one of {', '.join(METHODS)}"))
        for key in ("body", "contentType", "responseCondition"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                problems.append((key, "must be a string"))
        problems += [(key, "must be a map") for key in _MAPS if raw.get(key) is not None
                     and not isinstance(raw[key], Mapping)]
        problems += option_problems(raw.get("options"))
        if "encryptBody" in raw and not isinstance(raw["encryptBody"], bool):
            problems.append(("encryptBody", "must be true or false"))
        return problems + _check_interval(raw.get("interval")) + check_conditions(raw, "conditions")

    @classmethod
    def _fields(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        interval = raw.get("interval")
        return {**super()._fields(raw), "request": {key: raw[key] for key in REQUEST_PROPS if key in raw},
                "response_condition": str(raw.get("responseCondition") or DEFAULT_CONDITION),
                "interval": parse_duration(interval) if interval is not None else DEFAULT_INTERVAL,
                "encrypt_body": bool(raw.get("encryptBody", False)),
                "conditions": tuple(c for c in map(parse_condition, raw.get("conditions") or ()) if c.schedule)}

    @property
    def kind(self) -> str:
        return "http.Trigger"  # "Trigger" alone would not say which

    @property
    def uri(self) -> str:
        return str(self.request["uri"])


def _check_interval(value: Any) -> Problems:
    if value is None:
        return []
    try:
        interval = parse_duration(value)
    except ValueError as exc:
        return [("interval", str(exc))]
    return [] if interval > timedelta(0) else [("interval", "must be a positive duration such as PT30S")]
