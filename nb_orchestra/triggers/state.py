"""Trigger state that outlives the kernel: the last tick each Schedule trigger fired.

Kestra keeps it per (namespace, flow id, trigger id), so renaming a trigger
starts it afresh while changing its cron does not. A restarted kernel reads
it to recover missed schedules as ``recoverMissedSchedules`` says. It lives in
the execution store (``nb_orchestra.store.triggers.StoreTriggerState``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TriggerState(Protocol):
    """Where the scheduler remembers fired ticks."""

    def get_last(self, namespace: str, flow_id: str, trigger_id: str) -> datetime | None: ...

    def set_last(self, namespace: str, flow_id: str, trigger_id: str, date: datetime) -> None: ...


def default_state() -> TriggerState:
    """The state kept in the execution store of the configured home."""
    from ..store.triggers import StoreTriggerState

    return StoreTriggerState()
