"""io.kestra.plugin.core.flow.Loop: iterations with ``item``, each in a context of its own.

The expected behaviour is Kestra's Loop documentation (plugin page, best practices, flowable
tasks) and its source (defaults, outputs, the executor's handling of an iteration's end).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import nb_orchestra
from nb_orchestra import FlowValidationError, internal_storage
from nb_orchestra.views import loops

from .conftest import load_fixture, messages, run_fixture, run_flow

FIXTURES = "valid/core_loop"
LOOP = "io.kestra.plugin.core.flow.Loop"


def runs_of(ex, task_id: str) -> list:
    return [run for run in ex.taskruns if run.task_id == task_id]


def test_item_is_seen_by_every_task_of_an_iteration_however_nested():
    ex = run_fixture(f"{FIXTURES}/nested.yaml")
    assert ex.state == "SUCCESS"
    assert [run.outputs["value"] for run in runs_of(ex, "before_if")] == [
        "before value 1 #0", "before value 2 #1", "before value 3 #2"]
    # inside If > Parallel: item without parent traversal, and the iteration's own earlier output
    assert messages(ex, "deep") == ["deep value 2 #1 after before value 2 #1"]
    assert messages(ex, "deep_too") == ["also 1"]
    assert [run.outputs["evaluationResult"] for run in runs_of(ex, "if")] == [False, True, False]
    assert ex.outputs["loop"] == {"iterationCount": 3, "runningIterations": 0, "terminatedIterations": 3}


def test_a_map_gives_its_keys_as_item_key_and_objects_as_json_text():
    ex = run_fixture(f"{FIXTURES}/map_values.yaml")
    assert ex.state == "SUCCESS"
    assert messages(ex, "log") == ["0 north=10", '1 south={"depth":2}']


def test_a_json_string_expression_gives_one_iteration_per_element():
    ex = run_fixture(f"{FIXTURES}/json_objects.yaml")
    assert ex.state == "SUCCESS"
    assert messages(ex, "log") == [
        'User 101 -> a@example.com ({"id":101,"email":"a@example.com"})',
        'User 102 -> b@example.com ({"id":102,"email":"b@example.com"})']


def test_a_kestra_file_gives_one_iteration_per_line_and_stores_outputs_by_default():
    ex = run_fixture(f"{FIXTURES}/file_lines.yaml")
    assert ex.state == "SUCCESS"
    # each line read as an Ion value (a line that is not one: its text); blank lines skipped
    assert [run.outputs["value"] for run in runs_of(ex, "upper")] == ["ALPHA", "BETA", '{"ID":3}', "NOT ONE VALUE"]
    loop = ex.outputs["loop"]
    assert loop["iterationCount"] == 4
    # fetchType AUTO with a URI: each iteration's declared outputs stored as an Ion file
    first = loop["outputs"][0]
    assert first["item"] == {"value": "alpha", "iteration": 0}
    assert set(first["outputs"]) == {"uri"}
    assert internal_storage.to_path(first["outputs"]["uri"]).read_text().strip() == '{shout:"ALPHA"}'


def _most_at_once(ex) -> int:
    """The most iterations (first log -> second log) running at the same moment."""
    ends = {run.value: run.end_date for run in runs_of(ex, "second")}
    spans = sorted((run.start_date, ends[run.value]) for run in runs_of(ex, "first"))
    return max(sum(1 for start, end in spans if start <= moment < end - timedelta(microseconds=1))
               for moment, _ in spans)


@pytest.mark.parametrize(("limit", "at_once"), [(1, 1), (2, 2), (0, 4)])
def test_concurrency_limit_bounds_the_iterations_running_at_once(limit, at_once):
    ex = run_fixture(f"{FIXTURES}/concurrency.yaml", values={"limit": limit})
    assert ex.state == "SUCCESS"
    assert sorted(run.value for run in runs_of(ex, "second")) == ["a", "b", "c", "d"]
    assert _most_at_once(ex) == at_once
    if limit == 1:  # one at a time: in order, each iteration whole before the next
        assert messages(ex) == [f"{step} {value}" for value in "abcd" for step in ("first", "second")]


def test_concurrency_limit_defaults_to_no_limit_as_in_kestra_source():
    assert nb_orchestra.load_flow(load_fixture(f"{FIXTURES}/map_values.yaml")).task("loop").plugin \
        .properties["concurrencyLimit"].default == 0


@pytest.mark.parametrize("loop_type", [LOOP, "io.kestra.plugin.core.flow.ForEach"])
def test_outputs_of_an_iteration_stay_inside_it(loop_type):
    ex = run_fixture(f"{FIXTURES}/isolation.yaml", values={"type": loop_type})
    peeks = [run.outputs["value"] for run in runs_of(ex, "peek")]
    after = runs_of(ex, "after")[0]
    if loop_type == LOOP:
        assert peeks == ["false", "false"]  # iteration b never sees iteration a's `inner`
        assert ex.state == "FAILED" and after.state == "FAILED"
        assert "Unable to find `inner`" in after.message
        assert "inner" not in ex.outputs
    else:  # ForEach: every value's outputs in the execution's, keyed by value
        assert peeks == ["false", "true"]
        assert ex.state == "SUCCESS" and messages(ex, "after") == ["inner b"]


@pytest.mark.parametrize("fetch", ["FETCH", "AUTO"])
def test_declared_outputs_are_reached_after_the_loop(fetch):
    ex = run_fixture(f"{FIXTURES}/outputs.yaml", values={"fetch": fetch})
    assert ex.state == "SUCCESS"
    assert ex.outputs["loop"]["outputs"] == [
        {"item": {"value": value, "iteration": index},
         "outputs": {"bucket": f"landing-{value}", "message": f"Load {value}", "position": index}}
        for index, value in enumerate(["north", "south", "west"])]
    assert messages(ex, "log_first") == ['{"bucket":"landing-north","message":"Load north","position":0}']
    assert messages(ex, "log_all") == ['["Load north","Load south","Load west"] 3']


def test_fetch_type_store_keeps_each_iteration_outputs_in_a_file():
    ex = run_fixture(f"{FIXTURES}/outputs.yaml", values={"fetch": "STORE"})
    assert ex.state == "SUCCESS"
    entries = ex.outputs["loop"]["outputs"]
    assert [set(entry["outputs"]) for entry in entries] == [{"uri"}] * 3
    text = internal_storage.to_path(entries[1]["outputs"]["uri"]).read_text()
    assert text.strip() == '{bucket:"landing-south",message:"Load south",position:1}'
    assert messages(ex, "log_all") == ["[null,null,null] 3"]  # loopOutputs finds no `message` key


def test_a_failed_iteration_fails_the_loop_and_the_execution_by_default():
    ex = run_fixture(f"{FIXTURES}/failure.yaml", values={"transmit": "true"})
    assert ex.state == "FAILED"
    assert runs_of(ex, "loop")[0].state == "FAILED"
    assert [run.value for run in runs_of(ex, "check")] == ["ok", "boom"]  # no iteration starts after it
    # errors run in the failed iteration (item there); finally once, after the loop
    assert messages(ex, "handle_error") == ["Iteration 1 (boom) failed"]
    assert messages(ex, "cleanup") == ["loop over"]
    assert runs_of(ex, "next") == []
    assert ex.outputs["loop"]["terminatedIterations"] == 1  # Kestra ends the loop before counting it


def test_transmit_failed_false_goes_on_and_ends_success():
    ex = run_fixture(f"{FIXTURES}/failure.yaml", values={"transmit": "false"})
    assert ex.state == "SUCCESS"
    assert runs_of(ex, "loop")[0].state == "SUCCESS"
    assert [(run.value, run.state) for run in runs_of(ex, "check")] == [
        ("ok", "SUCCESS"), ("boom", "FAILED"), ("ok too", "SUCCESS")]
    assert messages(ex, "handle_error") == ["Iteration 1 (boom) failed"]
    assert messages(ex, "cleanup") == ["loop over"]
    # the failed iteration counts as ended but gives no outputs
    assert messages(ex, "next") == ['3 ended; ["did ok","did ok too"]']


def _loop_over(values: str):
    """Run a Loop over ``values`` (YAML text) logging each item."""
    return run_flow("""
        tasks:
          - id: loop
            type: io.kestra.plugin.core.flow.Loop
            values: VALUES
            tasks:
              - id: log
                type: io.kestra.plugin.core.log.Log
                message: "{{ item.value }}"
        """.replace("VALUES", values))


def test_an_empty_list_runs_no_iteration_and_succeeds():
    ex = _loop_over('"{{ [] }}"')
    assert ex.state == "SUCCESS"
    assert [run.task_id for run in ex.taskruns] == ["loop"]
    assert ex.outputs["loop"] == {"iterationCount": 0, "runningIterations": 0, "terminatedIterations": 0}


def test_nested_loops_reach_the_enclosing_items_as_parent_and_parents():
    ex = run_fixture(f"{FIXTURES}/nested_loops.yaml")
    assert ex.state == "SUCCESS"
    assert messages(ex, "full_name") == ["bucket1_2025_March 000", "bucket1_2026_March 010",
                                         "bucket2_2025_March 100", "bucket2_2026_March 110"]


def test_break_when_starts_no_further_iteration():
    ex = run_fixture(f"{FIXTURES}/break_when.yaml")
    assert ex.state == "SUCCESS"
    assert messages(ex, "log") == ["a", "b"]
    assert ex.outputs["loop"]["terminatedIterations"] == 2


def test_a_value_that_is_neither_a_list_nor_a_map_fails_the_loop():
    ex = _loop_over('"not json"')
    assert ex.state == "FAILED"
    assert runs_of(ex, "loop")[0].message.startswith("property 'values': expected a list, a map")


def test_the_live_tree_draws_a_loop_as_one_progress_row():
    ex = run_fixture(f"{FIXTURES}/map_values.yaml")
    loop = runs_of(ex, "loop")[0]
    children = [run for run in ex.taskruns if run.parent is loop]
    assert loops.is_loop(children, loop)
    summary = loops.Loop(children, loop, keep=10)
    assert [item.value for item in summary.finished] == ["10", '{"depth":2}']
    assert loops.progress(ex, loop, summary).parts() == ["2/2"]


def _problems(name: str) -> list[tuple[str, str]]:
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(load_fixture(f"invalid/core_loop/{name}"))
    return [(p.path, p.message) for p in info.value.problems]


def test_values_are_required():
    assert _problems("missing_values.yaml") == [("tasks[0]", "missing required property 'values' for Loop task 'loop'")]


def test_tasks_a_negative_limit_and_bad_output_declarations_are_refused():
    assert _problems("missing_tasks.yaml") == [
        ("tasks[0]", "missing required property 'tasks' for Loop task 'loop'"),
        ("tasks[0].concurrencyLimit", "must be greater than or equal to 0"),
        ("tasks[0].outputs[0]", "a loop output must be a map with id, type and value"),
        ("tasks[0].outputs[1].type", "unknown output type 'NUMBERS'"),
    ]
