"""The task-type registry: Kestra type name (current or legacy) -> plugin class.

Plugin modules are imported on the first look-up, not with ``nb_orchestra``,
so a bare ``import nb_orchestra`` stays fast.
"""

from __future__ import annotations

import difflib
import importlib

from .base import TaskPlugin

_MODULES = ("core.log", "core.debug", "core.output", "core.flow", "core.execution")

# Kestra before 0.17 spelled core types io.kestra.core.tasks.<package>.<Name>.
_LEGACY_PACKAGES = {
    "flow": "flows", "log": "log", "debug": "debugs", "execution": "executions",
    "output": "outputs", "storage": "storages", "state": "states",
}
_CORE_PREFIX = "io.kestra.plugin.core."

_registry: dict[str, type[TaskPlugin]] | None = None


def registry() -> dict[str, type[TaskPlugin]]:
    """Every known type name, current and legacy, mapped to its plugin class."""
    global _registry
    if _registry is None:
        found: dict[str, type[TaskPlugin]] = {}
        for name in _MODULES:
            module = importlib.import_module(f"{__name__}.{name}")
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, TaskPlugin) and "type" in vars(obj):
                    for type_name in (*obj.names(), *_legacy_names(obj.names())):
                        found[type_name] = obj
        _registry = found
    return _registry


def _legacy_names(names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        if name.startswith(_CORE_PREFIX):
            package, _, cls = name[len(_CORE_PREFIX):].rpartition(".")
            if package in _LEGACY_PACKAGES:
                out.append(f"io.kestra.core.tasks.{_LEGACY_PACKAGES[package]}.{cls}")
    return out


def find_plugin(type_name: str) -> type[TaskPlugin] | None:
    """The plugin class for a Kestra type name, or None."""
    return registry().get(type_name)


def suggest_types(type_name: str, limit: int = 3) -> list[str]:
    """Closest known current type names, matching on the full name or on the class name."""
    current = sorted({cls.type for cls in registry().values()})
    short = type_name.rsplit(".", 1)[-1].lower()
    classes: dict[str, list[str]] = {}
    for name in current:
        classes.setdefault(name.rsplit(".", 1)[-1].lower(), []).append(name)
    close_classes = difflib.get_close_matches(short, list(classes), n=limit, cutoff=0.75)
    by_class = [name for cls in close_classes for name in classes[cls]]
    return (by_class or difflib.get_close_matches(type_name, current, n=limit, cutoff=0.6))[:limit]
