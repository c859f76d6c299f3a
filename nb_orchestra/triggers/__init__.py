"""Kestra triggers inside the kernel: the scheduler, backfills, and the Flow-trigger listener.

``start_scheduler()`` starts the process-wide scheduler: every registered flow
(and every flow registered later) has its triggers armed, Schedule ticks fire
on a background thread, Flow triggers fire when matching executions end, and
an ``atexit`` hook stops it. ``backfill()`` runs past ticks on demand.

The trigger declarations (``ScheduleTrigger``, ``FlowTrigger``) are parsed with the flow,
in ``nb_orchestra.model.triggers``; this package only acts on them, through ``nb_orchestra.api``.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable

from .. import api
from ..errors import UserError
from ..model.flow import Flow
from .backfill import backfill, schedule_trigger, summary
from .clock import Clock, FakeClock, RealClock
from .flow_trigger import FlowTriggerListener
from .scheduler import Scheduler, TriggerRow
from .state import TriggerState

__all__ = [
    "Clock", "FakeClock", "FlowTriggerListener", "RealClock", "Scheduler", "TriggerRow", "TriggerState", "backfill",
    "current_scheduler", "schedule_trigger", "start_scheduler", "stop_scheduler", "summary",
]

_scheduler: Scheduler | None = None
_unsubscribe: Callable[[], None] | None = None
_lock = threading.Lock()


def start_scheduler(clock: Clock | None = None, state: TriggerState | None = None) -> Scheduler:
    """The process-wide scheduler, created, armed with every registered flow and started on first call.

    A later call returns it; asking for another clock while it runs (``%load_ext nb_orchestra``
    starts one on the real clock) is an error rather than a scheduler that ignores the clock."""
    global _scheduler, _unsubscribe
    with _lock:
        if _scheduler is not None and clock is not None and clock is not _scheduler.clock:
            raise UserError("the scheduler already runs on another clock (%load_ext nb_orchestra starts one): "
                            "call stop_scheduler() before starting it with this one")
        if _scheduler is None:
            scheduler = Scheduler(clock, state)
            for flow in api.registered_flows():
                scheduler.arm(flow)
            if _unsubscribe is None:
                _unsubscribe = api.on_register(_arm)
            scheduler.start()
            _scheduler = scheduler
        return _scheduler


def current_scheduler() -> Scheduler | None:
    """The running process-wide scheduler, if any."""
    return _scheduler


def stop_scheduler() -> None:
    """Stop and forget the process-wide scheduler (kernel shutdown, tests); executions keep running."""
    global _scheduler, _unsubscribe
    with _lock:
        scheduler, _scheduler = _scheduler, None
        if _unsubscribe is not None:
            _unsubscribe()
            _unsubscribe = None
    if scheduler is not None:
        scheduler.stop()


def _arm(flow: Flow) -> None:
    scheduler = _scheduler
    if scheduler is not None:
        scheduler.arm(flow)


atexit.register(stop_scheduler)
