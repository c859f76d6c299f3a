"""Core flowable tasks from Kestra: LoopUntil/WaitFor, Dag, AllowFailure, Template (refused).

The expected states, outputs and task runs are those Kestra's own tests assert
(WaitForCaseTest, DagTest, AllowFailureTest, TemplateTest); the flows are ours.
"""

from __future__ import annotations

import re
import time

import pytest

import nb_orchestra
from nb_orchestra import FlowValidationError
from nb_orchestra.engine import launch

from .conftest import load_fixture, messages, run_fixture

FIXTURES = "valid/core_flowable"


def runs_of(ex, task_id: str) -> list:
    return [run for run in ex.taskruns if run.task_id == task_id]


def invalid(name: str) -> list[tuple[str, str, int, int]]:
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(load_fixture(f"invalid/core_flowable/{name}"))
    return [(p.path, p.message, p.line, p.column) for p in info.value.problems]


# -- LoopUntil (WaitFor) ---------------------------------------------------------------------------

def test_waitfor_ends_when_its_condition_is_true_after_the_first_round():
    ex = run_fixture(f"{FIXTURES}/waitfor.yaml")
    assert ex.state == "SUCCESS"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [("waitfor", "SUCCESS"), ("output_values", "SUCCESS")]
    assert runs_of(ex, "output_values")[0].outputs == {"value": "2"}  # iterationCount 1 in the first round
    assert ex.outputs["waitfor"] == {"iterationCount": 2}  # raised when the round ended, as Kestra


def test_waitfor_runs_rounds_of_every_child_until_the_condition_holds():
    ex = run_fixture(f"{FIXTURES}/waitfor_multiple_tasks.yaml")
    assert ex.state == "SUCCESS"
    assert messages(ex, "echo") == ["looping 1", "looping 2", "looping 3"]  # taskrun.iteration = the round
    assert [run.outputs["value"] for run in runs_of(ex, "output_values")] == ["2", "3", "4"]
    assert [run.iteration for run in runs_of(ex, "echo")] == [1, 2, 3]
    assert ex.taskruns[-2].outputs == {"value": "4"}  # Kestra's assertion on the last child run
    assert messages(ex, "after") == ["4 4"]
    assert runs_of(ex, "waitfor")[0].state == "SUCCESS"


@pytest.mark.parametrize(("fail", "state"), [("true", "FAILED"), ("false", "SUCCESS")])
def test_waitfor_that_never_succeeds_stops_at_max_iterations(fail, state):
    ex = run_fixture(f"{FIXTURES}/waitfor_max_iterations.yaml", values={"fail": fail})
    assert ex.state == state
    assert [run.outputs["value"] for run in runs_of(ex, "output_values")] == ["2", "3", "4"]  # 3 rounds
    loop = runs_of(ex, "waitfor")[0]
    assert loop.state == state
    assert loop.outputs == {"iterationCount": 4}
    assert messages(ex, "waitfor", level="WARN") == ["Max iterations reached"]
    if fail == "true":
        assert loop.message == "Max iterations reached"
        assert runs_of(ex, "after") == []
    else:
        assert loop.message is None
        assert messages(ex, "after") == ["after 4"]


def test_waitfor_stops_at_max_duration():
    ex = run_fixture(f"{FIXTURES}/waitfor_max_duration.yaml")
    assert ex.state == "FAILED"
    loop = runs_of(ex, "waitfor")[0]
    assert loop.state == "FAILED" and loop.message == "Max duration reached"
    assert (loop.end_date - loop.start_date).total_seconds() >= 0.5
    rounds = runs_of(ex, "output_values")
    assert 2 <= len(rounds) <= 7  # 0.1 s apart for 0.5 s
    assert loop.outputs == {"iterationCount": len(rounds) + 1}


def test_waitfor_with_a_failing_child_fails_in_its_first_round_and_runs_errors():
    ex = run_fixture(f"{FIXTURES}/waitfor_failed_child.yaml")
    assert ex.state == "FAILED"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [
        ("waitfor", "FAILED"), ("output_values", "SUCCESS"), ("fail", "FAILED"), ("handler", "SUCCESS")]
    assert len(runs_of(ex, "fail")[0].attempts) == 1
    assert messages(ex, "handler") == ["failed in round 1"]
    assert ex.outputs["waitfor"] == {"iterationCount": 1}


def test_loop_until_inside_foreach_counts_rounds_per_value_and_runs_finally():
    ex = run_fixture(f"{FIXTURES}/loop_until_in_foreach.yaml")
    assert ex.state == "SUCCESS"
    assert sorted(messages(ex, "step")) == ["a round 1", "a round 2", "b round 1", "b round 2"]
    assert messages(ex, "done") == ["a done", "b done"]
    assert ex.outputs["loop"] == {"a": {"iterationCount": 3}, "b": {"iterationCount": 3}}


def test_a_kill_while_loop_until_waits_for_its_next_round_ends_it_at_once():
    text = load_fixture(f"{FIXTURES}/waitfor_max_iterations.yaml", fail="true").replace("PT0.01S", "PT30S")
    ex = nb_orchestra.run(text, background=True)
    deadline = time.monotonic() + 5
    while not runs_of(ex, "output_values") or runs_of(ex, "output_values")[0].state != "SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    ex.kill()
    assert ex.wait(5)
    assert time.monotonic() - started < 2
    assert ex.state == "KILLED"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [("waitfor", "KILLED"), ("output_values", "SUCCESS")]


def test_loop_until_checks_its_check_frequency_at_validation():
    assert invalid("waitfor_bad_frequency.yaml") == [
        ("tasks[0].checkFrequency.maxIteration",
         "unknown property 'maxIteration' for checkFrequency; did you mean 'maxIterations'?", 9, 7),
        ("tasks[0].checkFrequency.interval", "'interval' must be an ISO-8601 duration, got 'often'", 10, 7),
    ]


def test_loop_until_is_the_current_name_and_waitfor_its_alias():
    from nb_orchestra.plugins import find_plugin

    loop = find_plugin("io.kestra.plugin.core.flow.LoopUntil")
    assert loop is not None
    assert find_plugin("io.kestra.plugin.core.flow.WaitFor") is loop
    assert find_plugin("io.kestra.core.tasks.flows.WaitFor") is loop


# -- Dag ---------------------------------------------------------------------------------------------

def test_dag_runs_every_task_after_its_dependencies():
    ex = run_fixture(f"{FIXTURES}/dag.yaml")
    assert ex.state == "SUCCESS"
    assert len(ex.taskruns) == 7  # DagTest: the Dag and its six tasks
    order = [run.task_id for run in ex.taskruns]
    assert order[:2] == ["graph", "fetch"]
    depends = {"parse": ["fetch"], "check": ["fetch"], "load": ["parse"], "report": ["load", "check"],
               "notify": ["parse", "check"]}
    for task_id, deps in depends.items():
        run = runs_of(ex, task_id)[0]
        for dep in deps:
            earlier = runs_of(ex, dep)[0]
            assert order.index(dep) < order.index(task_id)
            assert earlier.end_date <= run.start_date
    assert all(run.state == "SUCCESS" for run in ex.taskruns)
    assert messages(ex, "report") == ["report"]


def overlaps(first, second) -> bool:
    return first.start_date < second.end_date and second.start_date < first.end_date


@pytest.mark.parametrize("concurrent", [0, 1])
def test_dag_concurrent_bounds_the_tasks_running_at_once(concurrent):
    ex = run_fixture(f"{FIXTURES}/dag_concurrent.yaml", values={"concurrent": concurrent})
    assert ex.state == "SUCCESS"
    assert messages(ex, "last") == ["a b"]
    assert [run.task_id for run in ex.taskruns][-1] == "last"
    wait_b, c = runs_of(ex, "wait_b")[0], runs_of(ex, "c")[0]
    assert overlaps(wait_b, c) is (concurrent == 0)
    if concurrent == 1:
        children = sorted((run for run in ex.taskruns if run.task_id != "dag"), key=lambda run: run.start_date)
        assert all(a.end_date <= b.start_date for a, b in zip(children, children[1:], strict=False))


def test_dag_failure_starts_no_new_task_and_runs_errors():
    ex = run_fixture(f"{FIXTURES}/dag_failure.yaml")
    assert ex.state == "FAILED"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [
        ("dag", "FAILED"), ("ok", "SUCCESS"), ("boom", "FAILED"), ("handler", "SUCCESS")]
    assert messages(ex, "handler") == ["dag failed"]


def test_dag_cycle_is_a_located_validation_error():
    assert invalid("dag_cycle.yaml") == [
        ("tasks[0].tasks[0].dependsOn", "Cyclic dependency detected: fetch, parse", 12, 9),
    ]


def test_dag_dependency_on_an_unknown_task_is_a_located_validation_error():
    assert invalid("dag_unknown_task.yaml") == [
        ("tasks[0].tasks[1].dependsOn[0]", "Not existing task id in dependency: fecth, publish", 17, 13),
    ]


def test_dag_entries_are_checked_like_task_properties():
    text = load_fixture(f"{FIXTURES}/dag.yaml").replace("dependsOn: [load, check]", "dependOn: [load, check]")
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(text)
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("tasks[0].tasks[4].dependOn",
         "unknown property 'dependOn' for an entry of Dag 'tasks'; did you mean 'dependsOn'?"),
    ]


# -- AllowFailure ------------------------------------------------------------------------------------

def allow_failure_control(ex) -> None:
    """The states AllowFailureTest.control asserts."""
    expected = {"outer": "WARNING", "tolerant": "WARNING", "inner": "FAILED", "before": "SUCCESS",
                "ko": "FAILED", "local_error": "SUCCESS", "next": "SUCCESS"}
    assert {task_id: runs_of(ex, task_id)[0].state for task_id in expected} == expected
    assert runs_of(ex, "skipped") == []


def test_allow_failure_ends_warning_and_the_flow_goes_on():
    ex = run_fixture(f"{FIXTURES}/allow_failure.yaml")
    assert len(ex.taskruns) == 9
    allow_failure_control(ex)
    assert runs_of(ex, "global_error") == []
    assert runs_of(ex, "last")[0].state == "SUCCESS"
    assert ex.state == "WARNING"
    assert ex.outputs["next"] == {"value": "next runs"}


def test_allow_failure_does_not_hide_a_later_failure():
    ex = run_fixture(f"{FIXTURES}/allow_failure.yaml", inputs={"crash": "yes"})
    assert len(ex.taskruns) == 10
    allow_failure_control(ex)
    assert runs_of(ex, "global_error")[0].state == "SUCCESS"
    assert runs_of(ex, "switch")[0].state == "FAILED"
    assert runs_of(ex, "crash")[0].state == "FAILED"
    assert ex.state == "FAILED"


# -- Template ----------------------------------------------------------------------------------------

def test_template_is_refused_at_validation_with_a_located_message():
    assert invalid("template.yaml") == [
        ("tasks[1].type", "Templates are deprecated and disabled (Kestra runs them only with "
                          "kestra.templates.enabled); use an io.kestra.plugin.core.flow.Subflow instead", 9, 5),
    ]
    legacy = load_fixture("invalid/core_flowable/template.yaml").replace(
        "io.kestra.plugin.core.flow.Template", "io.kestra.core.tasks.flows.Template")
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(legacy)
    assert [p.message.split(";")[0] for p in info.value.problems] == [
        "Templates are deprecated and disabled (Kestra runs them only with kestra.templates.enabled)"]


# -- ForEachItem -------------------------------------------------------------------------------------

def run_batches(tmp_path, lines: list[str], batch: int, wait: bool = True):
    nb_orchestra.register_flow(load_fixture(f"{FIXTURES}/batch_reader.yaml"))
    source = tmp_path / "items.txt"
    source.write_text("".join(f"{line}\n" for line in lines))
    text = load_fixture(f"{FIXTURES}/foreach_item.yaml")
    if not wait:
        text = text.replace("    wait: true", "    wait: false")
    return nb_orchestra.run(text, inputs={"file": str(source), "batch": batch})


def children_of(ex) -> list:
    return [child for child in launch.recent if child.flow_id == "batch_reader" and child.id != ex.id]


def test_foreach_item_runs_one_subflow_per_batch_and_merges_their_outputs(tmp_path):
    ex = run_batches(tmp_path, [f"line {n}" for n in range(1, 11)], 4)
    assert ex.state == "SUCCESS"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [
        ("each", "SUCCESS"), ("each_split", "SUCCESS"), ("each_items", "SUCCESS"), ("each_merge", "SUCCESS"),
        ("merged", "SUCCESS")]
    items = ex.taskruns[2]
    assert len(items.attempts) == 1 and items.attempts[0].state == "SUCCESS"
    assert items.outputs["numberOfBatches"] == 3
    assert items.outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 3}
    children = children_of(ex)
    assert [child.state for child in children] == ["SUCCESS"] * 3
    assert [child.inputs["number"] for child in children] == [1, 2, 3]
    assert all(re.fullmatch(rf"kestra:///tests/test/executions/{ex.id}/tasks/each_split/\w+/batch_\d\.txt",
                            child.inputs["items"]) for child in children)
    assert [len(child.taskruns) for child in children] == [2, 2, 2]
    merged = ex.file(ex.outputs["merged"]["value"]).read_text()
    assert merged.splitlines() == [
        '{lines:"1: line 1,line 2,line 3,line 4"}', '{lines:"2: line 5,line 6,line 7,line 8"}',
        '{lines:"3: line 9,line 10"}']
    assert ex.outputs["each_merge"]["subflowOutputs"] == ex.outputs["merged"]["value"]


def test_foreach_item_on_an_empty_file_runs_no_subflow_and_succeeds(tmp_path):
    ex = run_batches(tmp_path, [], 4)
    assert ex.state == "SUCCESS"
    assert len(ex.taskruns) == 5
    assert ex.taskruns[2].task_id == "each_items" and ex.taskruns[2].outputs is None  # ForEachItemCaseTest
    assert ex.taskruns[3].outputs is None
    assert ex.outputs["merged"]["value"] == "none"
    assert children_of(ex) == []
    splits = ex.outputs["each_split"]["splits"]
    assert ex.file(splits).read_text() == ""


def test_foreach_item_with_a_failed_subflow_fails_and_counts_iterations(tmp_path):
    ex = run_batches(tmp_path, ["a", "b", "bad c", "d", "e"], 2)
    assert ex.state == "FAILED"
    assert [(run.task_id, run.state) for run in ex.taskruns] == [
        ("each", "FAILED"), ("each_split", "SUCCESS"), ("each_items", "FAILED")]
    items = ex.taskruns[2]
    assert items.outputs["numberOfBatches"] == 3
    assert items.outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 2, "FAILED": 1}
    assert items.message == "1 of 3 executions of tests.batch_reader failed"
    assert [child.state for child in children_of(ex)] == ["SUCCESS", "FAILED", "SUCCESS"]


def test_foreach_item_without_wait_counts_every_started_execution_a_success(tmp_path):
    ex = run_batches(tmp_path, [f"line {n}" for n in range(1, 6)], 2, wait=False)
    assert ex.state == "SUCCESS"
    items = ex.taskruns[2]
    assert items.outputs["numberOfBatches"] == 3
    assert items.outputs["iterations"] == {"RUNNING": 0, "SUCCESS": 3}  # ForEachItemCaseTest.forEachItemNoWait
    assert ex.taskruns[3].outputs is None  # nothing waited for, nothing merged
    children = children_of(ex)
    assert len(children) == 3
    assert all(child.wait(10) for child in children)
    assert [child.state for child in children] == ["SUCCESS"] * 3


def test_foreach_item_batches_by_bytes_and_partitions():
    from nb_orchestra.plugins.core.foreach_item import _chunks

    lines = ["aaaa", "bbbb", "cc", "d", "eeeeee"]
    assert _chunks(lines, "\n", {"rows": 2}) == [["aaaa", "bbbb"], ["cc", "d"], ["eeeeee"]]
    # as Kestra: a new batch starts when the bytes written reach the size (5 + 5, then 3 + 2 + 7)
    assert _chunks(lines, "\n", {"bytes": "6B"}) == [["aaaa", "bbbb"], ["cc", "d", "eeeeee"]]
    assert _chunks(lines, "\n", {"bytes": "1KB"}) == [lines]
    assert _chunks(lines, "\n", {"partitions": 2}) == [["aaaa", "cc", "eeeeee"], ["bbbb", "d"]]
    assert _chunks([], "\n", {"rows": 3}) == []


def test_foreach_item_refuses_an_unknown_batch_option():
    text = load_fixture(f"{FIXTURES}/foreach_item.yaml").replace("      rows:", "      row:")
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(text)
    assert [(p.path, p.message, p.line) for p in info.value.problems] == [
        ("tasks[0].batch.row", "unknown property 'row' for batch: use rows, bytes, partitions, separator", 15)]
