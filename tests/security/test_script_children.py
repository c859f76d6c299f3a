"""A script ends with its main process, even when it leaves a child running that holds its output."""

from __future__ import annotations

import time

from ..conftest import run_flow


def test_a_background_child_does_not_keep_the_task_running():
    started = time.monotonic()
    ex = run_flow("""
        tasks:
          - id: script
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - echo before
              - sleep 60 &
              - echo after
    """)
    assert time.monotonic() - started < 20
    assert ex.state == "SUCCESS"
    messages = [log.message for log in ex.logs if log.task_id == "script"]
    assert "before" in messages and "after" in messages
    assert any("left running in the background" in m for m in messages)
