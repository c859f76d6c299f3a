"""Execution history that survives the kernel: SQLite under the home folder, or PostgreSQL.

``get_store()`` is the store of the current settings (``settings.home`` and
``settings.store``: None for ``<home>/store.db``, or ``postgresql://...``);
a change of either opens the other one. Opening a store brings its schema up
to date and marks the executions of dead processes KILLED. The recorder
(``recorder.start_recording()``) writes what the engine does into it.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Sequence

from ..config import settings
from ..errors import UserError
from .base import ExecutionNotFoundError, Store
from .records import StoredExecution

__all__ = ["ExecutionNotFoundError", "Store", "StoredExecution", "close_store", "executions", "get_store",
           "open_store"]

StoreKey = tuple[Path, "str | None"]

_stores: dict[StoreKey, Store] = {}
_lock = threading.Lock()


def current_key() -> StoreKey:
    """(absolute home, store URL) of the current settings."""
    return Path(os.path.abspath(settings.home)), settings.store or None


def open_store(home: Path, url: str | None = None) -> Store:
    """A new Store object on its own connection: what a new process would see."""
    if not url:
        from .sqlite import SQLiteStore

        return SQLiteStore(home)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url, home)
    raise UserError(f"unknown store '{url}': use None (SQLite under the home folder) or postgresql://user:pw@host/db")


def store_for(key: StoreKey) -> Store:
    """The open store of ``key``, opened on first use."""
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = open_store(*key)
        return store


def get_store() -> Store:
    """The store of the current settings."""
    return store_for(current_key())


def close_store() -> None:
    """Close every open store (the next ``get_store()`` opens it again)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()


def executions(flow_id: str | None = None, namespace: str | None = None, limit: int | None = 50, *,
               state: str | Sequence[str] | None = None, label: str | None = None,
               since: datetime | None = None) -> list[StoredExecution]:
    """Past executions, newest first, from the store (what this process ran is written first)."""
    from .recorder import flush

    flush()
    return get_store().executions(flow_id=flow_id, namespace=namespace, state=state, label=label, since=since,
                                  limit=limit)
