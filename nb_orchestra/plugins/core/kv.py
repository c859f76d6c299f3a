"""io.kestra.plugin.core.kv: Set, Get, Delete and GetKeys on the namespace KV store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from ... import expressions
from ...errors import KVStoreError
from ...kv import KV_TYPES, NamespaceKV, convert
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin

_KEY = Prop("string", required=True, description="The key (letters, digits, '.', '_', '-').")
_NAMESPACE = Prop("string", description="The namespace of the KV store; the flow's namespace by default.")
_ERROR_ON_MISSING = Prop("bool", default=False, description="Fail when the key has no value.")


def _kv(ctx: TaskContext) -> NamespaceKV:
    """The KV store of the ``namespace`` property, or of the flow's namespace."""
    return ctx.kv(ctx.get("namespace") or ctx.execution.namespace)


@contextmanager
def _store_errors() -> Iterator[None]:
    """A key or value the store refuses fails the task with the store's message."""
    try:
        yield
    except KVStoreError as exc:
        raise TaskFailure(str(exc)) from None


def _require(found: bool, ctx: TaskContext, key: str, namespace: str) -> None:
    if not found and ctx.get("errorOnMissing"):
        raise TaskFailure(f"No value found for key '{key}' in namespace '{namespace}' and `errorOnMissing` "
                          "is set to true")


class Set(TaskPlugin):
    """Store ``value`` under ``key``: rendered typed, then converted as ``kvType`` asks."""

    type = "io.kestra.plugin.core.kv.Set"
    properties = {
        "key": _KEY,
        "value": Prop("any", required=True, dynamic=False,
                      description="The value; one `{{ expression }}` keeps its type (number, map...)."),
        "namespace": _NAMESPACE,
        "overwrite": Prop("bool", default=True, description="When false, fail if the key already has a value."),
        "ttl": Prop("duration", description="Time to live (ISO-8601); the value expires afterwards."),
        "kvType": Prop("enum", choices=KV_TYPES, description="Convert a string value to this type."),
        "kvDescription": Prop("string", description="Accepted; not kept."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        raw = ctx.task.props["value"]
        value = ctx.render(raw if isinstance(raw, str) else expressions.to_text(raw), typed=True)
        kv_type = ctx.get("kvType")
        ttl = ctx.get("ttl")
        with _store_errors():
            if kv_type and isinstance(value, str):
                value = convert(value, kv_type)
            _kv(ctx).set(ctx.get("key"), value, expires=datetime.now(timezone.utc) + ttl if ttl is not None else None,
                         overwrite=ctx.get("overwrite"))
        return None


class Get(TaskPlugin):
    """Output ``value``: the value of ``key`` with its stored type, null when missing."""

    type = "io.kestra.plugin.core.kv.Get"
    outputs = {"value": "The stored value, typed (null when missing)."}
    properties = {"key": _KEY, "namespace": _NAMESPACE, "errorOnMissing": _ERROR_ON_MISSING}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        kv, key = _kv(ctx), ctx.get("key")
        with _store_errors():
            found, value = kv.get(key, expired_error=True)
        _require(found, ctx, key, kv.namespace)
        return {"value": value}


class Delete(TaskPlugin):
    """Remove ``key``; output ``deleted`` says whether it had a value."""

    type = "io.kestra.plugin.core.kv.Delete"
    outputs = {"deleted": "Whether the key existed."}
    properties = {"key": _KEY, "namespace": _NAMESPACE, "errorOnMissing": _ERROR_ON_MISSING}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        kv, key = _kv(ctx), ctx.get("key")
        with _store_errors():
            deleted = kv.delete(key)
        _require(deleted, ctx, key, kv.namespace)
        return {"deleted": deleted}


class GetKeys(TaskPlugin):
    """Output ``keys``: the keys of the namespace starting with ``prefix`` (all when absent)."""

    type = "io.kestra.plugin.core.kv.GetKeys"
    outputs = {"keys": "Matching keys."}
    properties = {
        "prefix": Prop("string", description="Only keys starting with this text."),
        "namespace": _NAMESPACE,
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        return {"keys": _kv(ctx).keys(ctx.get("prefix") or "")}
