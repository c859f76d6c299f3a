"""The KV store on the execution store: same interface and semantics as ``nb_orchestra.kv.KVStore``.

Entries keep their Kestra type (the ``type`` column) and an optional expiry;
an expired entry reads as missing and is deleted on that read, as Kestra does.
Two kernels sharing a home (or a PostgreSQL store) share their KV entries.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ..errors import KVExpiredError, KVStoreError
from ..kv import _decode, _encode, validate_key
from . import get_store
from .base import Store, to_datetime


class StoreKV:
    """KV entries in a Store (the current settings' store when none is given)."""

    def __init__(self, store: Store | None = None):
        self._store = store

    @property
    def store(self) -> Store:
        return self._store if self._store is not None else get_store()

    def get(self, namespace: str, key: str, expired_error: bool = False) -> tuple[bool, Any]:
        """(found, value). An expired entry is deleted and counts as missing, or raises
        :class:`KVExpiredError` when ``expired_error``."""
        validate_key(key)
        with self.store.transaction(write=False) as tx:
            found = tx.rows("SELECT type, value, expires FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
        if not found:
            return False, None
        kind, text, expires = found[0]
        if _expired(expires):
            self.delete(namespace, key)
            if expired_error:
                raise KVExpiredError()
            return False, None
        return True, _decode({"type": kind, "value": json.loads(text)})

    def get_inherited(self, namespace: str, key: str) -> tuple[bool, Any]:
        """The namespace, then each parent in turn (``kv('key')`` without a namespace)."""
        parts = namespace.split(".")
        for depth in range(len(parts), 0, -1):
            found, value = self.get(".".join(parts[:depth]), key)
            if found:
                return True, value
        return False, None

    def set(self, namespace: str, key: str, value: Any, expires: datetime | None = None,
            overwrite: bool = True) -> None:
        """Store ``value`` (its type is kept) until ``expires`` if given; ``overwrite=False``
        refuses a key that already holds a live value."""
        validate_key(key)
        kind, stored = _encode(value)
        with self.store.transaction() as tx:
            if not overwrite:
                current = tx.rows("SELECT expires FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
                if current and not _expired(current[0][0]):
                    raise KVStoreError(f"Cannot set value for key '{key}'. Key already exists and `overwrite` is "
                                       "set to `false`.")
            tx.execute("INSERT INTO kv (namespace, key, type, value, expires) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (namespace, key) DO UPDATE SET type = excluded.type, value = excluded.value, "
                       "expires = excluded.expires", (namespace, key, kind, json.dumps(stored), expires))

    def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        validate_key(key)
        with self.store.transaction() as tx:
            return tx.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key)).rowcount > 0

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        """The live keys of ``namespace`` starting with ``prefix``, sorted."""
        with self.store.transaction(write=False) as tx:
            rows = tx.rows("SELECT key, expires FROM kv WHERE namespace = ?", (namespace,))
        return sorted(key for key, expires in rows if key.startswith(prefix) and not _expired(expires))

    def entries(self, namespace: str) -> list[tuple[str, datetime | None]]:
        """Every key of ``namespace``, expired ones included, with its expiry (None: never), sorted."""
        with self.store.transaction(write=False) as tx:
            rows = tx.rows("SELECT key, expires FROM kv WHERE namespace = ?", (namespace,))
        return sorted((key, to_datetime(expires)) for key, expires in rows)

    def namespaces(self) -> list[str]:
        """The namespaces that hold entries, sorted."""
        with self.store.transaction(write=False) as tx:
            return sorted(row[0] for row in tx.rows("SELECT DISTINCT namespace FROM kv"))


def _expired(expires: Any) -> bool:
    when = to_datetime(expires)
    return when is not None and when <= datetime.now(timezone.utc)
