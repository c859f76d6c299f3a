"""Process-wide registry of flows by namespace and id, with Kestra-style revisions.

Subflow tasks and triggers find flows here. Registering a changed text of a
known flow makes a new revision; registering the same text again does not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import FlowNotFoundError, UserError
from .model.flow import Flow

_flows: dict[tuple[str, str], list[Flow]] = {}
_lock = threading.Lock()

# Called with each newly registered revision (the scheduler arms its triggers).
on_register: list[Callable[[Flow], None]] = []

TriggerKey = tuple[str, str, str]  # (namespace, flow id, trigger id)
# Triggers a task switched on or off (trigger.Toggle); the scheduler applies them now and when it arms
# the flow again. Called with each switch: the scheduler's enable/disable.
trigger_switches: dict[TriggerKey, bool] = {}
on_toggle: list[Callable[[TriggerKey, bool], None]] = []


def register(flow: Flow) -> Flow:
    """Add ``flow`` (a new revision when its text changed); returns the registered Flow."""
    with _lock:
        revisions = _flows.setdefault(flow.key, [])
        if revisions and revisions[-1].source == flow.source:
            return revisions[-1]
        from .store import get_store

        flow.revision = get_store().save_flow(flow)  # counted as Kestra counts them, across kernels
        revisions.append(flow)
    for listener in on_register:
        listener(flow)
    return flow


def find_flow(namespace: str, flow_id: str, revision: int | None = None) -> Flow:
    """The latest (or the given) revision of a registered flow."""
    revisions = _flows.get((namespace, flow_id), [])
    if revisions and revision is None:
        return revisions[-1]
    for flow in revisions:
        if flow.revision == revision:
            return flow
    known = ", ".join(f"{ns}.{fid}" for ns, fid in sorted(_flows)) or "none"
    raise FlowNotFoundError(f"Unable to find flow '{namespace}'.'{flow_id}' with revision '{revision or 0}' "
                            f"(registered flows: {known}); register it with nb_orchestra.register_flow()")


def delete(namespace: str, flow_id: str) -> bool:
    """Forget every revision of a flow (a git sync's ``delete``); False when it was not registered."""
    with _lock:
        return _flows.pop((namespace, flow_id), None) is not None


def toggle_trigger(namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
    """Switch a trigger of a registered flow on or off (Kestra's Toggle task); UserError when the flow
    or the trigger is unknown."""
    revisions = _flows.get((namespace, flow_id))
    if not revisions:
        raise UserError(f"Unable to find flow {namespace}.{flow_id}. Make sure the flow exists and the current "
                        "execution is authorized to access it.")
    if all(trigger.id != trigger_id for trigger in revisions[-1].triggers):
        raise UserError(f"Unable to find trigger {trigger_id} for the flow {namespace}.{flow_id}")
    key = (namespace, flow_id, trigger_id)
    trigger_switches[key] = enabled
    for listener in list(on_toggle):
        listener(key, enabled)


def flows() -> list[Flow]:
    """The latest revision of every registered flow."""
    return [revisions[-1] for _, revisions in sorted(_flows.items())]


def clear() -> None:
    """Forget every flow (tests, and a fresh start in a notebook)."""
    with _lock:
        _flows.clear()
        trigger_switches.clear()
