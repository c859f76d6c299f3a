"""Executions whose process died never stay RUNNING: the next store open marks them KILLED.

A process that records executions writes its pid and host on them and
refreshes ``heartbeat_at`` while they run. An owner is gone when it ran on
this host and its pid is not alive (or is this very process, which does not
know the execution), or when its heartbeat is older than ``STALE_AFTER``.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..records import states
from .base import LOGS, TASKRUNS, to_datetime
from .base import host as this_host
from .log_chunks import line
from .serialize import Encoder, loads
from .taskrun_chunks import killed

if TYPE_CHECKING:
    from .base import Store

STALE_AFTER = timedelta(seconds=60)
ACTIVE = (states.CREATED, states.QUEUED, states.RUNNING, states.PAUSED, states.RETRYING, states.RESTARTED)


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this machine."""
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def owner_gone(pid: int | None, host: str | None, heartbeat: datetime | None, execution_id: str,
               live: set[str], at: datetime) -> bool:
    if heartbeat is None or at - heartbeat > STALE_AFTER or pid is None:
        return True
    if host != this_host():
        return False
    if pid == os.getpid():
        return execution_id not in live
    return not pid_alive(pid)


def reap(store: Store) -> list[str]:
    """Mark the active executions of dead processes KILLED, with a log line; returns their ids."""
    from .recorder import live_ids

    live = live_ids()
    at = datetime.now(timezone.utc)
    marks = ", ".join("?" * len(ACTIVE))
    with store.transaction(write=False) as tx:
        candidates = tx.rows(f"SELECT id, owner_pid, owner_host, heartbeat_at FROM executions "
                             f"WHERE state IN ({marks})", ACTIVE)
    dead = [(id_, pid, host) for id_, pid, host, beat in candidates
            if owner_gone(pid, host, to_datetime(beat), id_, live, at)]
    if not dead:
        return []
    with store.transaction() as tx:
        for execution_id, pid, host in dead:
            found = tx.rows(f"SELECT state_history FROM executions WHERE id = ? AND state IN ({marks})",
                            (execution_id, *ACTIVE))
            if not found:  # its owner finished it meanwhile
                continue
            why = f"process {pid} on {host} died"
            history = [*(loads(found[0][0]) or []), (states.KILLED, at)]
            tx.execute("UPDATE executions SET state = ?, end_date = ?, message = ?, state_history = ? WHERE id = ?",
                       (states.KILLED, at, why, Encoder().dumps(history), execution_id))
            chunk = killed(store._chunks(tx, TASKRUNS, execution_id), at, states.TERMINAL, states.KILLED)
            if chunk is not None:
                store._add_chunk(tx, TASKRUNS, execution_id, chunk)
            store._add_chunk(tx, LOGS, execution_id, line("WARN", f"execution killed: {why}", at))
    return [execution_id for execution_id, _, _ in dead]
