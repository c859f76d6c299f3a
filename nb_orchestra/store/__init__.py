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
from typing import Any, Sequence

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


def find_execution(prefix: str | None = None) -> Any:
    """An execution of this process (live) or of the store, by id or unique id prefix; the newest
    when ``prefix`` is None. A live one is preferred to its stored copy: it is still being updated."""
    from ..engine.launch import recent

    if prefix is None:  # the newest, of this process or of an earlier one
        newest = [*list(recent)[-1:], *executions(limit=1)]
        if not newest:
            raise ExecutionNotFoundError("no execution yet")
        return max(newest, key=lambda ex: ex.start_date)
    live = [ex for ex in recent if ex.id.startswith(prefix)]
    if len(live) == 1:
        return live[0]
    from .recorder import flush

    flush()
    return get_store().execution(prefix)


def parse_since(text: str | None) -> datetime | None:
    """``2019-01-01``, ``2019-01-01T09:00`` (UTC unless a zone is given), or an age such as ``2h``, ``7d``."""
    if text is None:
        return None
    from datetime import timezone

    from ..durations import parse_age

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    try:
        return datetime.now(timezone.utc) - parse_age(text)
    except ValueError:
        raise UserError(f"'{text}' is neither a date (2019-01-01) nor an age (2h, 7d)") from None
