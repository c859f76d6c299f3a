"""Trigger state in the store: the last tick each Schedule trigger fired.

Implements ``nb_orchestra.triggers.state.TriggerState`` on the ``triggers``
table, keyed by (namespace, flow id, trigger id) as Kestra keys it.
"""

from __future__ import annotations

from datetime import datetime

from . import get_store
from .base import Store, to_datetime


class StoreTriggerState:
    """Trigger state in a Store (the current settings' store when none is given)."""

    def __init__(self, store: Store | None = None):
        self._store = store

    @property
    def store(self) -> Store:
        return self._store if self._store is not None else get_store()

    def get_last(self, namespace: str, flow_id: str, trigger_id: str) -> datetime | None:
        with self.store.transaction(write=False) as tx:
            found = tx.rows("SELECT last_date FROM triggers WHERE namespace = ? AND flow_id = ? AND trigger_id = ?",
                            (namespace, flow_id, trigger_id))
        return to_datetime(found[0][0]) if found else None

    def set_last(self, namespace: str, flow_id: str, trigger_id: str, date: datetime) -> None:
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO triggers (namespace, flow_id, trigger_id, last_date) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (namespace, flow_id, trigger_id) DO UPDATE SET last_date = excluded.last_date",
                       (namespace, flow_id, trigger_id, date))
