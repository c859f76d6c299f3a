"""The default store: one SQLite file under the home folder, in WAL mode.

WAL lets readers go on while one process writes; writers take the lock up
front (``BEGIN IMMEDIATE``) and wait up to ``BUSY_TIMEOUT`` for it, so two
kernels and a scheduler writing at once queue instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .base import Store, utc_text

BUSY_TIMEOUT = 10.0
FILE_NAME = "store.db"


def _while_locked(step: Callable[[], object]) -> None:
    """Run ``step``, again while another process holds a lock SQLite does not wait for.

    Switching a new file to WAL and creating the schema need locks that SQLite's busy handler
    does not always wait for: two processes opening a new home at once would otherwise fail.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SQLiteStore(Store):
    types = {"ts": "TEXT"}
    _ts = staticmethod(utc_text)

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / FILE_NAME
        super().__init__(home, f"sqlite:///{self.path}")
        # One connection, one transaction at a time per process (sqlite3 objects are not thread-safe).
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                           check_same_thread=False)
        self._connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        _while_locked(lambda: self._connection.execute("PRAGMA journal_mode = WAL"))
        self._connection.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe in WAL
        _while_locked(self._prepare)

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._connection
            except BaseException:
                try:
                    self._connection.execute("ROLLBACK")
                except sqlite3.Error:  # SQLite already rolled back (a full disk): keep the first error
                    pass
                raise
            self._connection.execute("COMMIT")

    def integrity_check(self) -> str:
        """SQLite's own check of the file: "ok" when sound."""
        with self._lock:
            return self._connection.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._connection.close()
