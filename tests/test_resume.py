"""Restart and replay, as Kestra does them, on a failed ForEach."""

from __future__ import annotations

import pytest

import nb_orchestra

from .conftest import run_flow

FLOW = """
    tasks:
      - id: first
        type: io.kestra.plugin.core.debug.Return
        format: "{{ execution.id }}"
      - id: loop
        type: io.kestra.plugin.core.flow.ForEach
        values: [a, b, c]
        tasks:
          - id: r
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }}-{{ execution.id }}"
          - id: check
            type: io.kestra.plugin.core.execution.Fail
            condition: "{{ taskrun.value == (envs.broken ?? 'none') }}"
            errorMessage: "{{ taskrun.value }} is broken"
      - id: after
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.r['c'].value }}"
"""


def by_key(ex):
    return {(r.task_id, r.value): r for r in ex.taskruns}


@pytest.fixture
def failed(monkeypatch):
    monkeypatch.setenv("ENV_BROKEN", "b")
    ex = run_flow(FLOW)
    assert ex.state == "FAILED"
    assert ("r", "c") not in by_key(ex)
    monkeypatch.delenv("ENV_BROKEN")  # the cause is fixed
    return ex


def test_restart_keeps_what_succeeded_and_reruns_the_failed_task_runs(failed):
    before = by_key(failed)
    kept_first, failed_check = before[("first", None)], before[("check", "b")]
    ex = failed.restart()
    assert ex is failed and ex.state == "SUCCESS"
    runs = by_key(ex)
    assert runs[("first", None)] is kept_first and len(kept_first.attempts) == 1
    assert runs[("r", "a")].outputs == before[("r", "a")].outputs
    assert runs[("check", "b")] is failed_check
    assert [a.state for a in failed_check.attempts] == ["FAILED", "SUCCESS"]
    assert runs[("check", "b")].state == runs[("loop", None)].state == "SUCCESS"
    assert ex.outputs.after.value == f"c-{ex.id}"
    assert [state for state, _ in ex.state_history][-3:] == ["RESTARTED", "RUNNING", "SUCCESS"]


def test_replay_copies_earlier_runs_into_a_new_execution(failed):
    ex = nb_orchestra.replay(failed, "r", value="b")
    assert ex.id != failed.id and ex.original_id == failed.id and ex.state == "SUCCESS"
    runs = by_key(ex)
    assert runs[("first", None)].outputs == {"value": failed.id}  # copied, not run again
    assert runs[("r", "a")].outputs == {"value": f"a-{failed.id}"}
    assert runs[("r", "b")].outputs == {"value": f"b-{ex.id}"}  # from the chosen task on: run again
    assert ex.outputs.after.value == f"c-{ex.id}"
    assert failed.state == "FAILED" and len(failed.taskruns) == 6  # the original is untouched


def test_only_failed_executions_restart_and_replay_names_known_tasks(failed):
    done = failed.restart()
    with pytest.raises(nb_orchestra.UserError, match="only a FAILED or KILLED execution can be restarted"):
        done.restart()
    with pytest.raises(nb_orchestra.UserError,
                       match=r"has no task run of `nope` \(its task runs: first, loop, r, check"):
        nb_orchestra.replay(done, "nope")
