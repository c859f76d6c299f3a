"""The task-type registry: Kestra type name (current or legacy) -> plugin class.

Every module below this package is a plugin module; they are found and
imported on the first look-up, not with ``nb_orchestra``, so a bare
``import nb_orchestra`` stays fast. Plugin modules import heavy optional
libraries (duckdb, psycopg...) inside ``run``, never at module level.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from .base import TaskPlugin

# Kestra before 0.17 spelled core types io.kestra.core.tasks.<package>.<Name>.
_LEGACY_PACKAGES = {
    "flow": "flows", "log": "log", "debug": "debugs", "execution": "executions",
    "output": "outputs", "storage": "storages", "state": "states",
}
_CORE_PREFIX = "io.kestra.plugin.core."

_registry: dict[str, type[TaskPlugin]] | None = None
# Kestra types refused on purpose, with the reason: a plugin module's REFUSED_TYPES (name -> reason).
_refused: dict[str, str] = {}


def registry() -> dict[str, type[TaskPlugin]]:
    """Every known type name, current and legacy, mapped to its plugin class."""
    global _registry
    if _registry is None:
        found: dict[str, type[TaskPlugin]] = {}
        for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
            module = importlib.import_module(info.name)
            for type_name, reason in getattr(module, "REFUSED_TYPES", {}).items():
                for name in (type_name, *_legacy_names((type_name,))):
                    _refused[name] = reason
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


def refusal(type_name: str) -> str | None:
    """Why a Kestra type that has no plugin is refused on purpose (deprecated, disabled...), or None."""
    registry()
    return _refused.get(type_name)


def suggest_types(type_name: str, limit: int = 3) -> list[str]:
    """Closest known current type names, matching on the full name or on the class name."""
    current = sorted({cls.type for cls in registry().values() if not cls.internal})
    short = type_name.rsplit(".", 1)[-1].lower()
    classes: dict[str, list[str]] = {}
    for name in current:
        classes.setdefault(name.rsplit(".", 1)[-1].lower(), []).append(name)
    if short in classes:  # the class name written alone (`ForEach`): its full names only
        return classes[short][:limit]
    close_classes = difflib.get_close_matches(short, list(classes), n=limit, cutoff=0.75)
    by_class = [name for cls in close_classes for name in classes[cls]]
    return (by_class or difflib.get_close_matches(type_name, current, n=limit, cutoff=0.6))[:limit]
