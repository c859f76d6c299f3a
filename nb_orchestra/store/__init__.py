"""Execution history that survives the kernel: SQLite under the home folder, or PostgreSQL.

``get_store()`` is the store of the current settings (``settings.home`` and
``settings.store``: None for ``<home>/store.db``, or ``postgresql://...``);
a change of either opens the other one. Opening a store brings its schema up
to date and marks the executions of dead processes KILLED. The recorder
(``recorder.start_recording()``) writes what the engine does into it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from ..config import settings
from ..errors import ExecutionNotFoundError, UserError
from .base import Store
from .records import StoredExecution

__all__ = ["ExecutionNotFoundError", "Store", "StoredExecution", "close_store", "discard_stores", "get_store",
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

        try:
            return SQLiteStore(home)
        except OSError as exc:  # a home that is a file, a read-only or full disk
            raise UserError(f"cannot keep executions in {home}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise UserError(f"cannot keep executions in {home / 'store.db'}: {exc}") from None
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


def discard_stores(home: Path) -> None:
    """Close the stores opened under ``home`` (a flow test case's own home, about to be removed)."""
    home = Path(os.path.abspath(home))
    with _lock:
        stores = [_stores.pop(key) for key in [key for key in _stores if key[0] == home]]
    for store in stores:
        store.close()


def close_store() -> None:
    """Close every open store (the next ``get_store()`` opens it again)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()
