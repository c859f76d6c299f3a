"""The scheduler's sense of time: the real clock, and a FakeClock that tests move by hand.

The scheduler only asks a clock two things: what time it is (an aware UTC
datetime) and to wait until a moment or until something wakes it up. With a
FakeClock a test advances a year in one call and the scheduler thread fires
every tick in that year at once, without real waiting.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

# Longest real wait between two looks at the clock (a suspended laptop, a changed system time).
MAX_REAL_WAIT = 30.0
# How often a FakeClock waiter looks at the fake time (real seconds).
FAKE_POLL = 0.002


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def wait(self, wake: threading.Event, until: datetime | None) -> bool:
        """Block until ``until`` (None: forever) or until ``wake`` is set; True when woken."""
        ...


class RealClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def wait(self, wake: threading.Event, until: datetime | None) -> bool:
        seconds = MAX_REAL_WAIT if until is None else (until - self.now()).total_seconds()
        return wake.wait(min(max(seconds, 0.0), MAX_REAL_WAIT))


class FakeClock:
    """A clock that stands still until a test calls :meth:`advance` or :meth:`set`."""

    def __init__(self, start: datetime | str = "2024-01-01T00:00:00+00:00") -> None:
        self._now = _aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime | str) -> None:
        """Jump to ``when`` (never backwards)."""
        when = _aware(when)
        with self._lock:
            if when < self._now:
                raise ValueError(f"a FakeClock cannot go back in time ({when} < {self._now})")
            self._now = when

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``delta`` or ``timedelta(**units)``; returns the new time."""
        self.set(self.now() + (delta if delta is not None else timedelta(**units)))
        return self.now()

    def wait(self, wake: threading.Event, until: datetime | None) -> bool:
        while until is None or self.now() < until:
            if wake.wait(FAKE_POLL):
                return True
        return wake.is_set()


def _aware(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
