"""One unstorable string never stops the history: text is made storable, each execution's write is
isolated, and a write the store still refuses is told in that execution's logs. On SQLite and on a
real PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import nb_orchestra
from nb_orchestra.config import settings
from nb_orchestra.store import close_store, open_store, recorder

from ..pg_server import PASSWORD, USER

NASTY = """
id: nasty
namespace: tests
inputs:
  - id: payload
    type: JSON
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.payload.text }}"
  - id: keep
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.payload.text }}"
"""
PLAIN = "id: plain\nnamespace: tests\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: fine\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, monkeypatch):
    url = None
    if request.param == "postgresql":
        pg_db = request.getfixturevalue("pg_db")
        url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{pg_db.server.port}/{pg_db.name}"
    monkeypatch.setattr(settings, "store", url)
    recorder.start_recording()
    yield url
    recorder.stop_recording()
    close_store()


def reopened():
    recorder.flush()
    return open_store(Path(os.path.abspath(settings.home)), settings.store)


@pytest.mark.parametrize("text", ["nul\x00inside", "lone \ud800 surrogate", "both\x00\udfff"])
def test_nul_and_lone_surrogates_are_stored_and_later_runs_too(store, text):
    nasty = nb_orchestra.run(NASTY, inputs={"payload": json.dumps({"text": text})})
    plain = nb_orchestra.run(PLAIN)
    assert nasty.state == plain.state == "SUCCESS"
    fresh = reopened()
    kept = fresh.execution(nasty.id)
    assert kept.inputs["payload"]["text"] == text          # JSON at rest reads back unchanged
    assert kept.outputs["keep"]["value"] == text
    [message] = [log.message for log in kept.logs if log.task_id == "say"]
    assert message == text  # log lines are JSON at rest too
    assert fresh.execution(plain.id).state == "SUCCESS"


def test_a_write_the_store_refuses_is_told_in_the_logs_and_the_others_go_on(store, monkeypatch):
    from nb_orchestra.store import base

    real_write = base.Store.write

    def refuse_one(self, batches):
        if any(batch.row[2] == "nasty" for batch in batches):
            raise ValueError("refused for the test")
        return real_write(self, batches)

    monkeypatch.setattr(base.Store, "write", refuse_one)
    nasty = nb_orchestra.run(NASTY, inputs={"payload": '{"text": "x"}'})
    plain = nb_orchestra.run(PLAIN)
    for _ in range(recorder.MAX_REFUSALS + 1):
        recorder.flush()
    assert any(log.level == "WARN" and "could not be written to the store" in log.message for log in nasty.logs)
    monkeypatch.setattr(base.Store, "write", real_write)
    fresh = reopened()
    assert fresh.execution(plain.id).state == "SUCCESS"
    later = nb_orchestra.run(PLAIN)
    assert reopened().execution(later.id).state == "SUCCESS"
