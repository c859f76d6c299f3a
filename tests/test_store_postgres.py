"""Every test of test_store.py again, on a PostgreSQL store (a real server the tests start)."""

from __future__ import annotations

import pytest

from .pg_server import PASSWORD, USER
from .test_store import *  # noqa: F401,F403  (the same behaviours, collected again here)


@pytest.fixture
def store_url(pg_db) -> str:
    """The test database, as a user with a password over TCP."""
    return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{pg_db.server.port}/{pg_db.name}"
