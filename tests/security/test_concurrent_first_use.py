"""Processes that open a new home at the same moment all record their executions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from nb_orchestra.store.sqlite import FILE_NAME, SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 6


def run_at_once(**settings: str) -> None:
    """PROCESSES new processes, each configuring ``settings`` and running a flow, all at the same time."""
    code = (f"import nb_orchestra as n; n.configure(**{settings!r}); "
            f"n.run({str(ROOT / 'examples' / 'hello.yaml')!r}); n.executions()")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(PROCESSES)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, errors


def test_six_processes_opening_a_new_home_at_once_lose_nothing(tmp_path):
    home = tmp_path / "new-home"
    run_at_once(home=str(home))
    count = sqlite3.connect(home / FILE_NAME).execute("SELECT count(*) FROM executions").fetchone()[0]
    assert count == 6


def test_opening_waits_for_a_process_that_is_creating_the_file(tmp_path):
    holder = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE being_created (x)")
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    store = SQLiteStore(tmp_path)  # waits for the lock instead of failing "database is locked"
    with store.transaction(write=False) as tx:
        assert tx.rows("SELECT count(*) FROM executions") == [(0,)]


def test_six_processes_creating_the_postgresql_schema_at_once_lose_nothing(tmp_path, pg_db):
    from ..pg_server import PASSWORD, USER

    url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{pg_db.server.port}/{pg_db.name}"
    run_at_once(home=str(tmp_path / "home"), store=url)
    assert pg_db.query("SELECT count(*) FROM executions") == [(6,)]
