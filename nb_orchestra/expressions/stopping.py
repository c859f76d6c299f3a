"""Whether the render on this thread should stop: its task run was killed or timed out.

The engine wraps each task body in :func:`stop_when`; the environment looks at each printed value,
call, attribute and item, and a jq program while it waits, so a task's timeout and Kill reach a
long template (a thread cannot be stopped from outside).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nb_orchestra.errors import RenderStopped

_local = threading.local()


@contextmanager
def stop_when(stopped: Callable[[], bool]) -> Iterator[None]:
    """Renders on this thread end with RenderStopped as soon as ``stopped()`` is true."""
    previous = getattr(_local, "check", None)
    _local.check = stopped
    try:
        yield
    finally:
        _local.check = previous


def is_stopped() -> bool:
    check = getattr(_local, "check", None)
    return check is not None and check()


def check_stopped() -> None:
    """Raise RenderStopped when the render on this thread should stop."""
    if is_stopped():
        raise RenderStopped()
