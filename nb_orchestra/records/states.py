"""Kestra's state names for executions and task runs, and how they combine."""

from __future__ import annotations

CREATED = "CREATED"
QUEUED = "QUEUED"
RUNNING = "RUNNING"
PAUSED = "PAUSED"
RETRYING = "RETRYING"
SUCCESS = "SUCCESS"
WARNING = "WARNING"
FAILED = "FAILED"
KILLED = "KILLED"
CANCELLED = "CANCELLED"
SKIPPED = "SKIPPED"
RETRIED = "RETRIED"
RESTARTED = "RESTARTED"

# Every name of Kestra's State.Type (stopAfter, Flow trigger `states`, conditions, tasks filtering by state).
NAMES = frozenset({
    CREATED, RUNNING, PAUSED, RESTARTED, "KILLING", SUCCESS, WARNING, FAILED, KILLED,
    CANCELLED, QUEUED, RETRYING, RETRIED, SKIPPED, "BREAKPOINT",
})

# Log levels, lowest first.
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")

TERMINAL = frozenset({SUCCESS, WARNING, FAILED, KILLED, CANCELLED, SKIPPED, RETRIED})
FAILURES = frozenset({FAILED, KILLED, CANCELLED})

# How bad a child's state is for its parent: the worst one wins.
_SEVERITY = {SKIPPED: 0, SUCCESS: 1, WARNING: 2, CANCELLED: 3, FAILED: 4, KILLED: 5}


def worst(a: str, b: str) -> str:
    """The state a parent takes from two children's states (FAILED > WARNING > SUCCESS)."""
    return a if _SEVERITY.get(a, 1) >= _SEVERITY.get(b, 1) else b


def is_ok(state: str) -> bool:
    """True for the states an execution may end in for ``nb-orchestra run`` to exit 0."""
    return state in (SUCCESS, WARNING)
