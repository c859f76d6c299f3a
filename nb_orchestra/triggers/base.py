"""What every trigger shares (Kestra's AbstractTrigger): id, disabled, labels, stopAfter, inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import expressions
from ..model.flow import Flow

Problems = list[tuple[str, str]]

# Kestra's State.Type names (stopAfter, Flow trigger `states`, conditions).
STATE_NAMES = frozenset({
    "CREATED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING", "FAILED", "KILLED",
    "CANCELLED", "QUEUED", "RETRYING", "RETRIED", "SKIPPED", "BREAKPOINT",
})


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """The common properties of a trigger, parsed from its YAML map."""

    id: str
    type: str
    disabled: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_after: frozenset[str] = frozenset()
    inputs: Mapping[str, Any] | None = None

    @staticmethod
    def common(raw: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the common fields, read from a trigger map."""
        return {"id": str(raw["id"]), "type": str(raw["type"]), "disabled": bool(raw.get("disabled", False)),
                "labels": _labels(raw.get("labels")), "stop_after": frozenset(raw.get("stopAfter") or ()),
                "inputs": raw.get("inputs")}

    def render_inputs(self, flow: Flow, trigger_vars: Mapping[str, Any],
                      extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The trigger's ``inputs`` rendered with ``flow`` and ``trigger`` variables, then ``extra`` on top."""
        context = {"flow": {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision},
                   "trigger": dict(trigger_vars)}
        rendered = expressions.render_value(dict(self.inputs or {}), context, typed=True)
        return {**rendered, **(extra or {})}


def _labels(raw: Any) -> dict[str, str]:
    """Kestra accepts labels as a map or as a list of ``{key, value}``."""
    if isinstance(raw, list):
        return {str(item["key"]): str(item["value"]) for item in raw if isinstance(item, Mapping) and "key" in item}
    if isinstance(raw, Mapping):
        return {str(k): expressions.to_text(v) for k, v in raw.items()}
    return {}


def check_common(raw: Mapping[str, Any]) -> Problems:
    """Problems with the properties every trigger has."""
    problems: Problems = []
    if "disabled" in raw and not isinstance(raw["disabled"], bool):
        problems.append(("disabled", "must be true or false"))
    if raw.get("inputs") is not None and not isinstance(raw["inputs"], Mapping):
        problems.append(("inputs", "must be a map of input id to value"))
    labels = raw.get("labels")
    if labels is not None and not isinstance(labels, (Mapping, list)):
        problems.append(("labels", "must be a map or a list of {key, value}"))
    problems += check_states(raw.get("stopAfter"), "stopAfter")
    return problems


def check_states(value: Any, prop: str) -> Problems:
    """A list of Kestra state names, or nothing."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [(prop, "must be a list of execution states")]
    return [(f"{prop}[{i}]", f"unknown execution state '{state}' (expected one of {', '.join(sorted(STATE_NAMES))})")
            for i, state in enumerate(value) if state not in STATE_NAMES]
