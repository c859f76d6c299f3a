"""The store's tables, as versioned migrations shared by SQLite and PostgreSQL.

One text for both backends: ``{ts}`` is the only type that differs (ISO-8601
text in UTC on SQLite, ``TIMESTAMPTZ`` on PostgreSQL). JSON values are kept
as text on both, so their key order survives. A migration is applied once,
in order, and ``schema_version`` remembers the last one applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import UserError
from .log_chunks import convert_logs_table
from .taskrun_chunks import convert_taskruns_table

# Each entry: (version, statements). Append new versions; never edit a released one.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    revision INTEGER,
    state TEXT NOT NULL,
    state_history TEXT NOT NULL,
    start_date {ts} NOT NULL,
    end_date {ts},
    inputs TEXT,
    labels TEXT,
    trigger TEXT,
    original_id TEXT,
    flow_outputs TEXT,
    message TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    heartbeat_at {ts}
);
CREATE INDEX executions_by_flow ON executions (namespace, flow_id, start_date);
CREATE INDEX executions_by_start ON executions (start_date);
CREATE INDEX executions_by_state ON executions (state);
CREATE TABLE execution_labels (
    execution_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (execution_id, key)
);
CREATE INDEX execution_labels_by_pair ON execution_labels (key, value);
CREATE TABLE taskruns (
    id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    task_type TEXT,
    value TEXT,
    iteration INTEGER,
    parent_id TEXT,
    path TEXT,
    state TEXT NOT NULL,
    attempts TEXT,
    start_date {ts},
    end_date {ts},
    outputs TEXT,
    metrics TEXT,
    message TEXT
);
CREATE INDEX taskruns_by_execution ON taskruns (execution_id, seq);
CREATE TABLE logs (
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    task_id TEXT,
    taskrun_id TEXT,
    value TEXT,
    level TEXT NOT NULL,
    message TEXT,
    timestamp {ts} NOT NULL,
    PRIMARY KEY (execution_id, seq)
);
CREATE TABLE flows (
    namespace TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    source TEXT NOT NULL,
    created {ts} NOT NULL,
    PRIMARY KEY (namespace, flow_id, revision)
);
CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT,
    expires {ts},
    PRIMARY KEY (namespace, key)
);
CREATE TABLE triggers (
    namespace TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    trigger_id TEXT NOT NULL,
    last_date {ts},
    PRIMARY KEY (namespace, flow_id, trigger_id)
)
"""),
    # Task runs and log lines as JSON chunks, a few per execution and flush (taskrun_chunks.py,
    # log_chunks.py); the rows of the taskruns and logs tables move there (CONVERSIONS), which then go.
    (2, """
CREATE TABLE taskrun_chunks (
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entries TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);
CREATE TABLE log_chunks (
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entries TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
)
"""),
]


def _convert_2(tx: Any) -> None:
    convert_taskruns_table(tx)
    convert_logs_table(tx)


# Data a migration moves with Python, after its statements: version -> function(tx).
CONVERSIONS: dict[int, Callable[[Any], None]] = {2: _convert_2}

LATEST = MIGRATIONS[-1][0]


def statements(text: str, types: dict[str, str]) -> list[str]:
    """The SQL statements of one migration text for a backend's ``types``."""
    return [part.strip() for part in text.format(**types).split(";") if part.strip()]


def migrate(tx: Any, fetch_version: Callable[[], int | None], types: dict[str, str]) -> int:
    """Apply every migration newer than the stored version (inside the caller's transaction ``tx``)."""
    execute = tx.execute
    execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = fetch_version()
    if current is None:
        execute("INSERT INTO schema_version (version) VALUES (0)")
        current = 0
    if current > LATEST:
        raise UserError(f"the store's schema is version {current}, newer than this nb_orchestra knows "
                           f"({LATEST}): upgrade nb_orchestra")
    for version, text in MIGRATIONS:
        if version > current:
            for statement in statements(text, types):
                execute(statement)
            if version in CONVERSIONS:
                CONVERSIONS[version](tx)
            execute("UPDATE schema_version SET version = ?", (version,))
            current = version
    return current
