"""Whether the render on this thread should stop: its task run was killed or timed out.

The engine wraps each task body in :func:`stop_when`; the environment looks at each printed value,
each call and each filter, and a jq program while it waits, so a task's timeout and Kill reach a
long template (a thread cannot be stopped from outside).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from nb_orchestra.errors import RenderStopped


class _Watched(threading.local):
    events: tuple[threading.Event, ...] = ()  # per thread; checked on hot paths, so kept plain


_watched = _Watched()


@contextmanager
def stop_when(*events: threading.Event) -> Iterator[None]:
    """Renders on this thread end with RenderStopped as soon as one of ``events`` is set."""
    previous = _watched.events
    _watched.events = events
    try:
        yield
    finally:
        _watched.events = previous


def is_stopped() -> bool:
    return any(event.is_set() for event in _watched.events)


def check_stopped() -> None:
    """Raise RenderStopped when the render on this thread should stop."""
    for event in _watched.events:
        if event.is_set():
            raise RenderStopped()
