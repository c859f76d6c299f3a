"""Processes that open a new home at the same moment all record their executions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from nb_orchestra.store.sqlite import FILE_NAME, SQLiteStore

ROOT = Path(__file__).resolve().parents[2]


def test_six_processes_opening_a_new_home_at_once_lose_nothing(tmp_path):
    home = tmp_path / "new-home"
    code = (f"import nb_orchestra as n; n.configure(home={str(home)!r}); "
            f"n.run({str(ROOT / 'examples' / 'hello.yaml')!r}); n.executions()")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
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
    code = (f"import nb_orchestra as n; n.configure(home={str(tmp_path / 'home')!r}, store={url!r}); "
            f"n.run({str(ROOT / 'examples' / 'hello.yaml')!r}); n.executions()")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert pg_db.query("SELECT count(*) FROM executions") == [(6,)]
