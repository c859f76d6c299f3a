"""Kestra triggers inside the kernel: Schedule (cron), backfills, and Flow triggers.

``start_scheduler()`` starts the process-wide scheduler: every registered flow
(and every flow registered later) has its triggers armed, Schedule ticks fire
on a background thread, Flow triggers fire when matching executions end, and
an ``atexit`` hook stops it. ``backfill()`` runs past ticks on demand.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

from .. import registry
from ..model.flow import Flow
from .backfill import backfill, schedule_trigger, summary
from .clock import Clock, FakeClock, RealClock
from .flow_trigger import FlowTrigger, FlowTriggerListener, check_flow_trigger, is_flow_trigger
from .schedule import ScheduleTrigger, check_schedule, is_schedule
from .scheduler import Scheduler, TriggerRow
from .state import TriggerState

__all__ = [
    "Clock", "FakeClock", "FlowTrigger", "FlowTriggerListener", "RealClock", "ScheduleTrigger",
    "Scheduler", "TriggerRow", "TriggerState", "backfill", "check_trigger", "current_scheduler", "schedule_trigger",
    "start_scheduler", "stop_scheduler", "summary",
]

_scheduler: Scheduler | None = None
_lock = threading.Lock()


def check_trigger(trigger: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems with a Schedule or Flow trigger's properties, as (relative property, message)."""
    if is_schedule(trigger):
        return check_schedule(trigger)
    if is_flow_trigger(trigger):
        return check_flow_trigger(trigger)
    return []


def start_scheduler(clock: Clock | None = None, state: TriggerState | None = None) -> Scheduler:
    """The process-wide scheduler, created, armed with every registered flow and started on first call."""
    global _scheduler
    with _lock:
        if _scheduler is None:
            scheduler = Scheduler(clock, state)
            for flow in registry.flows():
                scheduler.arm(flow)
            if _arm not in registry.on_register:
                registry.on_register.append(_arm)
            scheduler.start()
            _scheduler = scheduler
        return _scheduler


def current_scheduler() -> Scheduler | None:
    """The running process-wide scheduler, if any."""
    return _scheduler


def stop_scheduler() -> None:
    """Stop and forget the process-wide scheduler (kernel shutdown, tests); executions keep running."""
    global _scheduler
    with _lock:
        scheduler, _scheduler = _scheduler, None
        if _arm in registry.on_register:
            registry.on_register.remove(_arm)
    if scheduler is not None:
        scheduler.stop()


def _arm(flow: Flow) -> None:
    scheduler = _scheduler
    if scheduler is not None:
        scheduler.arm(flow)


atexit.register(stop_scheduler)
