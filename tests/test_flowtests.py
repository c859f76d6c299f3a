"""Kestra flow unit tests run locally: the format and its located errors, fixtures, isolation,
concurrency, and the reports (text, JSON, JUnit XML). Front ends: tests/test_flowtests_front_ends.py."""

from __future__ import annotations

import contextlib
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

import nb_orchestra
from nb_orchestra import api, config, internal_storage
from nb_orchestra.engine import launch
from nb_orchestra.errors import FlowTestValidationError
from nb_orchestra.model.flowtest import OPERATORS
from nb_orchestra.records import events

from .conftest import fixture_path, flow_text

SHOP = fixture_path("valid/flowtests/shop.yml")

VALUES = flow_text("""
    tasks:
      - id: v
        type: io.kestra.plugin.core.output.OutputValues
        values:
          text: "Hello, Ann!"
          number: 42
""", flow_id="values")


def suite_text(cases: str, flow_id: str = "values", namespace: str = "tests") -> str:
    """A test suite of ``flow_id`` holding ``cases`` (YAML of the testCases list, dedented)."""
    head = f"id: suite\nnamespace: {namespace}\nflowId: {flow_id}\ntestCases:\n"
    return head + textwrap.indent(textwrap.dedent(cases), "  ")


def one_assertion(value: str, operator: str, expected: str) -> str:
    return suite_text(f"""
        - id: case
          type: io.kestra.core.tests.flow.UnitTest
          assertions:
            - value: "{value}"
              {operator}: {expected}
        """)


TEXT, NUMBER, MISSING = "{{ outputs.v.values.text }}", "{{ outputs.v.values.number }}", "{{ outputs.nope.value }}"

OPERATOR_CASES = [
    (TEXT, "equalTo", '"Hello, Ann!"', True), (TEXT, "equalTo", "Hello", False),
    (NUMBER, "equalTo", "42", True), (NUMBER, "equalTo", '"42"', True), (NUMBER, "equalTo", "43", False),
    (TEXT, "equalsTo", '"Hello, Ann!"', True),  # Kestra's older spelling
    (TEXT, "notEqualTo", "Bye", True), (TEXT, "notEqualTo", '"Hello, Ann!"', False),
    (TEXT, "notEqualsTo", "Bye", True),
    (TEXT, "endsWith", '"Ann!"', True), (TEXT, "endsWith", "Bob", False),
    (TEXT, "startsWith", "Hello", True), (TEXT, "startsWith", "Bye", False),
    (TEXT, "contains", '", A"', True), (TEXT, "contains", "Bob", False),
    (NUMBER, "greaterThan", "41", True), (NUMBER, "greaterThan", "42", False),
    (NUMBER, "greaterThanOrEqualTo", "42", True), (NUMBER, "greaterThanOrEqualTo", "42.5", False),
    (NUMBER, "lessThan", "43", True), (NUMBER, "lessThan", "42", False),
    (NUMBER, "lessThanOrEqualTo", "42", True), (NUMBER, "lessThanOrEqualTo", "41", False),
    (NUMBER, "in", "[41, 42]", True), (NUMBER, "in", "[1, 2]", False),
    (NUMBER, "notIn", "[1, 2]", True), (NUMBER, "notIn", "[42]", False),
    (MISSING, "isNull", "true", True), (TEXT, "isNull", "true", False),
    (TEXT, "isNotNull", "true", True), (MISSING, "isNotNull", "true", False),
    (TEXT, "greaterThan", "3", False),  # text is no number: a failure that says so
    (MISSING, "equalTo", "x", False),   # an undefined value fails every operator but isNull
]


def test_every_operator_of_kestra_is_covered():
    covered = {operator for _, operator, _, _ in OPERATOR_CASES}
    assert set(OPERATORS) <= covered


@pytest.mark.parametrize(("value", "operator", "expected", "passes"), OPERATOR_CASES)
def test_each_operator_passes_and_fails(value, operator, expected, passes):
    result = api.test(one_assertion(value, operator, expected), flow=VALUES)
    case = result.cases[0]
    assert case.state == ("SUCCESS" if passes else "FAILED"), str(result)
    assert result.ok is passes
    if not passes:
        (failure,) = case.failures
        assert failure.line == 9 and failure.message and failure.value == value


def test_a_failed_assertion_reports_expected_actual_and_its_line_in_the_test_file():
    result = api.test(fixture_path("valid/flowtests/shop_failing.yml"))  # shop.yml is found beside it
    wrong = result.case("expects_the_wrong_greeting")
    assert wrong.state == "FAILED" and wrong.execution.state == "SUCCESS"
    first, second = wrong.failures
    assert (first.line, first.expected, first.actual, first.message) == (16, "Hi, Ann!", "Hello, Ann!",
                                                                         "the greeting says Hi")
    assert (second.line, second.operator, second.actual) == (19, "startsWith", "CHERRY")
    assert result.case("passes").state == "SUCCESS"
    bad = result.case("bad_input")
    assert bad.state == "ERROR" and "customer" in bad.error
    text = str(result)
    assert "✗ expects_the_wrong_greeting" in text and "✓ passes" in text and "! bad_input" in text
    assert "shop_failing.yml:16: the greeting says Hi" in text
    assert "expected: Hi, Ann!" in text and "actual:   Hello, Ann!" in text
    assert text.endswith("1 passed, 1 failed, 1 error")


# -- the format: what Kestra refuses is refused here, located ------------------------------------

def problems_of(path: str, **kwargs) -> list[tuple[int, str]]:
    with pytest.raises(FlowTestValidationError) as caught:
        api.test(fixture_path(path), **kwargs)
    return [(p.line, p.message) for p in caught.value.problems]


def test_format_problems_are_all_reported_with_their_lines():
    found = problems_of("invalid/flowtests/format.yml")
    lines = [line for line, _ in found]
    assert lines == sorted(lines)
    text = "\n".join(f"{line}: {message}" for line, message in found)
    assert "4: unknown property 'tesCases' in a test suite; did you mean 'testCases'?" in text
    assert "12: state must be one of SUCCESS" in text and "not 'DONE'" in text
    assert "14: a file fixture is the file's text" in text
    assert "17: unknown operator 'equalz' in an assertion; did you mean 'equalTo'?" in text
    assert "18: no assertion operator" in text
    assert "19: missing required property 'value'" in text
    assert "21: in is a list of values" in text and "22: isNull is true or false" in text
    assert "23: duplicate test case id 'one'" in text
    assert "24: unknown test case type 'io.kestra.core.tests.flow.Other'" in text


def test_names_the_flow_does_not_have_are_refused_with_a_suggestion():
    found = problems_of("invalid/flowtests/names.yml", flow=SHOP)
    assert found == [
        (10, "no input 'custommer' in flow tests.flowtests.shop; did you mean 'customer'? (its inputs: customer)"),
        (12, "no task 'downlaod' in flow tests.flowtests.shop; did you mean 'download'? "
             "(its tasks: greet, download, count, remember, each_item, shout, recover)"),
        (16, "no task 'greeet' in flow tests.flowtests.shop; did you mean 'greet'?"),
    ]


def test_a_test_of_a_flow_nobody_registered_is_refused_at_its_flow_id():
    (found,) = problems_of("invalid/flowtests/unregistered.yml")
    assert found[0] == 3 and "no flow tests.flowtests.no_such_flow is registered" in found[1]


def test_invalid_yaml_is_a_located_test_problem():
    with pytest.raises(FlowTestValidationError) as caught:
        api.parse_test("id: x\nflowId: [unclosed\n")
    assert caught.value.problems[0].line == 2 and "problem(s) in flow test" in str(caught.value)  # where [ opens


def test_a_registered_flow_is_found_by_namespace_and_flow_id():
    api.register_flow(VALUES)
    assert api.test(one_assertion(TEXT, "contains", "Ann")).ok


# -- fixtures ---------------------------------------------------------------------------------

def test_the_passing_suite_checks_task_loop_file_input_kv_and_failure_fixtures():
    result = api.test(fixture_path("valid/flowtests/shop.test.yml"))
    assert result.ok, str(result)
    offline = result.case("greets_and_counts_offline").execution
    assert offline.state == "SUCCESS"
    download = next(run for run in offline.taskruns if run.task_id == "download")
    assert download.state == "SUCCESS" and download.attempts[0].state == "SUCCESS"
    assert any("fixture: not run, ends SUCCESS (no network in tests)" in log.message for log in offline.logs
               if log.task_id == "download")
    shouts = {run.value: run.outputs["value"] for run in offline.taskruns if run.task_id == "shout"}
    assert shouts == {"apple": "APPLE", "banana": "BANANA!", "cherry": "CHERRY"}  # only banana's run stood in
    failed = result.case("a_failed_download_runs_errors").execution
    assert failed.state == "FAILED" and failed.outputs.recover.value == "recovered after FAILED"
    assert "count" not in failed.task_states
    assert result.case("not_ready_yet").state == "SKIPPED"


def test_a_fixture_on_a_flowable_task_stands_in_for_its_whole_subtree():
    flow = flow_text("""
        tasks:
          - id: loop
            type: io.kestra.plugin.core.flow.ForEach
            values: [1, 2]
            tasks:
              - id: boom
                type: io.kestra.plugin.core.execution.Fail
        """)
    test = suite_text("""
        - id: loop_skipped
          type: io.kestra.core.tests.flow.UnitTest
          fixtures:
            tasks:
              - id: loop
                state: WARNING
                outputs: {note: "{{ flow.id }}"}
          assertions:
            - value: "{{ execution.state }}"
              equalTo: WARNING
            - value: "{{ outputs.loop.note }}"
              equalTo: test
        """, flow_id="test")
    result = api.test(test, flow=flow)
    assert result.ok, str(result)
    assert [run.task_id for run in result.cases[0].execution.taskruns] == ["loop"]


def test_fixture_outputs_that_cannot_render_fail_the_task_run():
    test = suite_text("""
        - id: bad_fixture
          type: io.kestra.core.tests.flow.UnitTest
          fixtures:
            tasks:
              - id: v
                outputs: {x: "{{ nowhere.value }}"}
          assertions:
            - value: "{{ execution.state }}"
              equalTo: FAILED
        """)
    result = api.test(test, flow=VALUES)
    assert result.ok, str(result)
    assert result.cases[0].execution.taskruns[0].message.startswith("fixture outputs:")


def test_trigger_fixture_and_inputs_reach_the_execution():
    flow = flow_text("""
        inputs:
          - id: n
            type: INT
        tasks:
          - id: echo
            type: io.kestra.plugin.core.debug.Return
            format: "{{ trigger.body }} x{{ inputs.n }}"
        """)
    test = suite_text("""
        - id: webhook
          type: io.kestra.core.tests.flow.UnitTest
          fixtures:
            inputs: {n: 3}
            trigger:
              id: hook
              type: io.kestra.plugin.core.trigger.Webhook
              variables: {body: ping}
          assertions:
            - value: "{{ outputs.echo.value }}"
              equalTo: ping x3
            - value: "{{ trigger.id }}"
              equalTo: hook
        """, flow_id="test")
    assert api.test(test, flow=flow).ok


# -- isolation and concurrency -------------------------------------------------------------------

@contextlib.contextmanager
def process_wide_events() -> Iterator[list]:
    """The events published on ``events.bus`` (where the recorder and Flow triggers listen) meanwhile."""
    published: list = []
    unsubscribe = events.bus.subscribe(published.append)
    try:
        yield published
    finally:
        unsubscribe()


def test_cases_leave_no_trace_in_the_history_the_kv_store_or_the_recent_executions(isolated_home):
    from nb_orchestra.store.kv import StoreKV

    before = list(launch.recent)
    with process_wide_events() as published:
        assert api.test(fixture_path("valid/flowtests/shop.test.yml")).ok  # its flow sets a KV entry
    assert published == []
    assert list(launch.recent) == before
    assert nb_orchestra.executions() == []
    assert StoreKV().get("tests.flowtests", "last_customer") == (False, None)
    assert not (isolated_home / "storage").exists()


def test_concurrent_cases_each_have_their_own_kv_and_run_at_once():
    flow = flow_text("""
        inputs:
          - id: who
            type: STRING
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Sleep
            duration: PT0.5S
          - id: put
            type: io.kestra.plugin.core.kv.Set
            key: who
            value: "{{ inputs.who }}"
          - id: get
            type: io.kestra.plugin.core.kv.Get
            key: who
        """)
    cases = "".join(f"""
        - id: case_{who}
          type: io.kestra.core.tests.flow.UnitTest
          fixtures:
            inputs: {{who: {who}}}
          assertions:
            - value: "{{{{ outputs.get.value }}}}"
              equalTo: {who}
        """ for who in ("ann", "bob", "cid", "dan"))
    started = time.monotonic()
    result = api.test(suite_text(cases, flow_id="test"), flow=flow, parallel=4)
    elapsed = time.monotonic() - started
    assert result.ok, str(result)
    assert elapsed < 1.6, f"4 cases of 0.5 s took {elapsed:.2f}s: not concurrent"
    started = time.monotonic()
    assert api.test(suite_text(cases, flow_id="test"), flow=flow, parallel=1).ok
    assert time.monotonic() - started >= 2.0


def test_only_keeps_the_named_cases():
    result = api.test(fixture_path("valid/flowtests/shop.test.yml"), only=["not_ready_yet"])
    assert [case.case_id for case in result.cases] == ["not_ready_yet"]


# -- reports ------------------------------------------------------------------------------------

def test_junit_xml_parses_back_with_failures_errors_and_skips():
    result = api.test([fixture_path("valid/flowtests/shop_failing.yml"), fixture_path("valid/flowtests/shop.test.yml")])
    root = ET.fromstring(result.junit_xml())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "1", "1", "1")
    cases = {case.get("name"): case for case in root.iter("testcase")}
    wrong = cases["expects_the_wrong_greeting"]
    assert wrong.find("failure").get("message") == "the greeting says Hi"
    assert "shop_failing.yml:16" in wrong.find("failure").text and wrong.get("line") == "6"
    assert cases["bad_input"].find("error") is not None
    assert cases["not_ready_yet"].find("skipped") is not None
    assert cases["passes"].find("failure") is None and cases["passes"].get("classname") == \
        "tests.flowtests.shop.shop_failing_tests"


def test_json_and_html_reports():
    result = api.test(fixture_path("valid/flowtests/shop_failing.yml"))
    data = result.to_dict()
    assert data["ok"] is False and data["counts"] == {"SUCCESS": 1, "FAILED": 1, "ERROR": 1, "SKIPPED": 0}
    first = data["suites"][0]["testCases"][0]
    assert first["assertions"][0] == {
        "operator": "equalTo", "ok": False, "line": 16, "value": "{{ outputs.greet.value }}",
        "expected": "Hi, Ann!", "actual": "Hello, Ann!", "message": "the greeting says Hi", "taskId": None,
        "description": None}
    html = result._repr_html_()
    assert "✗ FAILED" in html and "<code>expects_the_wrong_greeting</code>" in html and "Hi, Ann!" in html


def test_shapes_that_are_no_maps_are_refused_where_they_stand():
    with pytest.raises(FlowTestValidationError) as caught:
        api.parse_test(suite_text("""
            - 3
            - id: a
              type: io.kestra.core.tests.flow.UnitTest
              fixtures: 4
              assertions: [5]
            """))
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (6, "a test case is a map with id, type and assertions"),
        (9, "fixtures must be a map (inputs, files, tasks, trigger)"),
        (10, "an assertion is a map with value and an operator (equalTo, contains...)"),
    ]


def test_nbo_test_is_the_public_entry_point():
    assert nb_orchestra.test is api.test and "test" in nb_orchestra.__all__


def test_scoped_settings_hold_in_their_context_and_the_worker_threads_it_starts(tmp_path):
    import threading

    process_home = config.settings.home
    seen = {}
    flow = flow_text("""
        tasks:
          - id: write
            type: io.kestra.plugin.scripts.shell.Commands
            outputFiles: [out.txt]
            commands: ["echo hi > out.txt"]
        """)
    with config.scoped(home=tmp_path / "case", record=False):
        assert config.settings.home == tmp_path / "case" and config.settings.record is False
        plain = threading.Thread(target=lambda: seen.update(other=config.settings.home))
        plain.start()
        plain.join()
        ex = nb_orchestra.run(flow)  # the script's body runs on a worker thread
        stored = internal_storage.to_path(ex.outputs.write.outputFiles["out.txt"])
        assert stored.is_relative_to(tmp_path / "case") and stored.read_text() == "hi\n"
    assert seen["other"] == process_home and config.settings.home == process_home


def test_subflows_of_a_case_are_transient_too():
    api.register_flow(flow_text("""
        tasks:
          - id: answer
            type: io.kestra.plugin.core.debug.Return
            format: "42"
        outputs:
          - id: answer
            type: STRING
            value: "{{ outputs.answer.value }}"
        """, flow_id="child"))
    parent = flow_text("""
        tasks:
          - id: call
            type: io.kestra.plugin.core.flow.Subflow
            namespace: tests
            flowId: child
        """)
    test = suite_text("""
        - id: calls_the_child
          type: io.kestra.core.tests.flow.UnitTest
          assertions:
            - value: "{{ outputs.call.outputs.answer }}"
              equalTo: 42
        """, flow_id="test")
    before = list(launch.recent)
    with process_wide_events() as published:
        result = api.test(test, flow=parent)
    assert result.ok, str(result)
    assert list(launch.recent) == before and published == []


def test_keep_leaves_each_cases_files_in_its_own_folder(tmp_path):
    result = api.test(fixture_path("valid/flowtests/shop.test.yml"), keep=tmp_path / "kept")
    assert result.ok
    offline = tmp_path / "kept" / "shop_tests" / "greets_and_counts_offline"
    assert (offline / "storage" / "fixtures" / "orders.csv").read_text() == "3\n"
    assert (offline / "namespaces" / "tests.flowtests" / "orders.csv").is_file()  # a namespace file too
    assert (tmp_path / "kept" / "shop_tests" / "a_failed_download_runs_errors").is_dir()
    assert not (tmp_path / "kept" / "shop_tests" / "not_ready_yet").exists()  # disabled: never ran
    # the case's execution still reads its files once the case is over, with that home
    with config.scoped(home=offline):
        uri = result.case("greets_and_counts_offline").execution.outputs.download.uri
        assert internal_storage.to_path(uri).read_text() == "3\n"


def test_ids_that_could_leave_the_keep_folder_are_refused():
    with pytest.raises(FlowTestValidationError) as caught:
        api.parse_test(suite_text("""
            - id: ../../etc
              type: io.kestra.core.tests.flow.UnitTest
              assertions: [{value: 1, equalTo: 1}]
            """))
    assert "id '../../etc' must be letters, digits" in str(caught.value)
