"""Kestra's ``pluginDefaults``: property values merged into every matching plugin object.

An entry matches an object whose ``type`` equals its ``type`` or starts with
it as a plain prefix (``io.kestra.plugin.jdbc.postgresql`` matches
``...postgresql.CopyIn``). Non-forced values sit under the task's own (the
task wins); forced values sit over them. Among entries, the first listed wins.
Maps merge key by key and lists concatenate, as Kestra's MapUtils.merge does.

An entry matched by prefix brings only the properties the object's plugin declares: the course's
``io.kestra.plugin.gcp`` defaults give ``bucket`` to every GCP task, and Kestra ignores it on those
that have no such property. An exact type was already checked against its plugin when parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

# A plugin type's declared property names, or None when the type is unknown (nothing filtered).
Declared = Callable[[str], Collection[str] | None]

# Top-level keys whose maps are data, not plugin objects.
_NOT_PLUGINS = frozenset({"pluginDefaults", "taskDefaults", "variables", "inputs", "outputs", "labels"})


def merge(base: Any, over: Any) -> Any:
    """Deep merge where ``over`` wins; lists concatenate; None keeps the other side."""
    if over is None:
        return base
    if base is None:
        return over
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(over, list):
        return base + over
    return over


def apply_plugin_defaults(flow: dict[str, Any], entries: list[dict[str, Any]],
                          declared: Declared = lambda type_name: None) -> None:
    """Merge matching defaults into every plugin object of ``flow``, in place."""
    if not entries:
        return
    for key, value in flow.items():
        if key not in _NOT_PLUGINS:
            flow[key] = _apply(value, entries, declared)


def _apply(node: Any, entries: list[dict[str, Any]], declared: Declared) -> Any:
    if isinstance(node, list):
        return [_apply(item, entries, declared) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _apply(value, entries, declared) for key, value in node.items()}
    type_name = node.get("type")
    if not isinstance(type_name, str):
        return node
    matching = [e for e in entries if type_name.startswith(e["type"])]
    if not matching:
        return node
    names = declared(type_name)
    soft = _combine((e for e in matching if not e.get("forced")), type_name, names)
    hard = _combine((e for e in matching if e.get("forced")), type_name, names)
    return merge(merge(soft, node), hard)


def _combine(entries: Any, type_name: str, names: Collection[str] | None) -> dict[str, Any]:
    """The values of several entries, the first listed winning; a prefix entry's limited to ``names``."""
    combined: dict[str, Any] = {}
    for entry in reversed(list(entries)):
        values = entry.get("values") or {}
        if names is not None and entry["type"] != type_name:
            values = {key: value for key, value in values.items() if key in names}
        combined = merge(combined, values)
    return combined
