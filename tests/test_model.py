"""Flow parsing and validation: every problem located, reported at once."""

from __future__ import annotations

import pytest

import nb_orchestra
from nb_orchestra import FlowValidationError

from .conftest import flow_text, load_fixture

LOG = "io.kestra.plugin.core.log.Log"


def problems(text: str) -> list:
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(text)
    return info.value.problems


def only(text: str):
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_valid_flow_builds_tasks_and_children():
    flow = nb_orchestra.load_flow(load_fixture("valid/model/if_with_a_child.yaml"))
    assert (flow.id, flow.namespace) == ("test", "tests")
    assert [t.id for t in flow.all_tasks()] == ["check", "inner"]
    assert flow.tasks[0].children["then"][0].props["message"] == "hi"


def test_malformed_yaml_is_located_not_a_parser_traceback():
    error = only("id: a\nnamespace: b\ntasks:\n  - id: x\n    type: [unclosed\n")
    assert error.message == "invalid YAML: the [ opened here is never closed by a ] (or an item in it lacks a comma)"
    assert (error.line, error.column) == (5, 11)  # the bracket, not past the end of the text


def test_duplicate_yaml_keys_are_rejected_with_their_line():
    error = only(flow_text(f"""
        tasks:
          - id: a
            type: {LOG}
            message: one
            message: two
    """))
    assert error.message == "duplicate key 'message' (YAML would keep only the last one)"
    assert (error.path, error.line) == ("tasks[0].message", 8)


def test_missing_required_flow_properties():
    found = problems("description: nothing else\n")
    assert {p.message for p in found} == {
        "missing required property 'id' for flow",
        "missing required property 'namespace' for flow",
        "missing required property 'tasks' for flow",
    }


def test_id_and_namespace_formats():
    found = problems(f"id: 'bad id'\nnamespace: Company.Team\ntasks:\n  - id: a.b\n    type: {LOG}\n    message: x\n")
    assert [(p.path, p.message.split(":")[0]) for p in found] == [
        ("id", "'bad id' is not a valid id"),
        ("namespace", "'Company.Team' is not a valid namespace"),
        ("tasks[0].id", "'a.b' is not a valid task id"),
    ]


def test_task_ids_unique_across_nested_branches_errors_and_finally():
    found = problems(load_fixture("invalid/model/duplicate_task_ids.yaml"))
    messages = [(p.path, p.message) for p in found]
    assert messages == [
        ("tasks[1].then[0].id", "Duplicate task id with name [same] (first used at line 5)"),
        ("errors[0].id", "Duplicate task id with name [branch] (first used at line 8)"),
        ("finally[0].id", "Duplicate task id with name [same] (first used at line 5)"),
    ]


def test_unknown_task_type_names_the_closest_types():
    error = only(flow_text("""
        tasks:
          - id: a
            type: io.kestra.plugin.core.log.Logg
            message: hi
    """))
    assert error.message == (
        "unknown task type 'io.kestra.plugin.core.log.Logg'; did you mean io.kestra.plugin.core.log.Log?"
    )
    assert (error.path, error.line, error.column) == ("tasks[0].type", 6, 5)


def test_short_type_name_suggests_the_full_name():
    error = only(flow_text("tasks:\n  - id: a\n    type: ForEach\n    values: [1]\n"))
    assert "did you mean io.kestra.plugin.core.flow.ForEach?" in error.message


def test_unknown_property_gets_a_did_you_mean():
    found = problems(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    mesage: hi\n"))
    # the misspelt property, and the required `message` it leaves missing, in one error
    assert [(p.path, p.message, p.line) for p in found] == [
        ("tasks[0].mesage", "unknown property 'mesage' for Log task 'a'; did you mean 'message'?", 6),
        ("tasks[0]", "missing required property 'message' for Log task 'a'", 4),
    ]


def test_missing_required_and_wrong_type_reported_together():
    found = problems(load_fixture("invalid/model/missing_and_wrong_types.yaml"))
    assert [(p.path, p.message, p.line) for p in found] == [
        ("tasks[0]", "missing required property 'message' for Log task 'a'", 5),
        ("tasks[1].concurrencyLimit", "expected an integer, got str 'two'", 10),
        ("tasks[1].tasks[0].timeout", "'5 minutes' is not an ISO-8601 duration such as PT30S, PT5M or P1DT2H", 15),
    ]


def test_pretty_error_shows_the_line_and_a_caret():
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    mesage: hi\n"))
    pretty = info.value.pretty()
    assert "   6 | " in pretty and "mesage: hi" in pretty
    assert pretty.splitlines()[-1].endswith("    ^")


def test_legacy_type_names_are_accepted():
    flow = nb_orchestra.load_flow(load_fixture("valid/model/legacy_types.yaml"))
    assert [t.plugin.type for t in flow.all_tasks()] == [
        LOG, "io.kestra.plugin.core.flow.EachSequential", "io.kestra.plugin.core.debug.Return",
        "io.kestra.plugin.core.flow.EachParallel", "io.kestra.plugin.core.debug.Return"]


def test_disabled_tasks_are_left_out():
    flow = nb_orchestra.load_flow(load_fixture("valid/model/disabled_task.yaml"))
    assert [t.id for t in flow.tasks] == ["a"]


def test_plugin_defaults_by_type_and_prefix_forced_and_first_wins():
    flow = nb_orchestra.load_flow(load_fixture("valid/model/plugin_defaults_order.yaml"))
    assert flow.task("own_level").props["level"] == "ERROR"
    assert flow.task("default_level").props["level"] == "WARN"
    assert flow.task("ret").props["format"] == "forced"


def test_plugin_defaults_reach_nested_tasks_and_supply_required_properties():
    flow = nb_orchestra.load_flow(load_fixture("valid/model/plugin_defaults_nested.yaml"))
    assert flow.task("nested").props["message"] == "from defaults"


def test_plugin_defaults_merge_lists_by_concatenation():
    from nb_orchestra.model.defaults import merge

    assert merge({"a": [1], "m": {"x": 1, "y": 1}}, {"a": [2], "m": {"y": 2}}) == {"a": [1, 2], "m": {"x": 1, "y": 2}}


def test_map_shaped_plugin_defaults_and_unknown_default_property():
    found = problems(load_fixture("invalid/model/plugin_defaults_as_map.yaml"))
    assert found[0].message == "pluginDefaults must be a list of entries with type, values and optional forced"
    error = only(load_fixture("invalid/model/plugin_defaults_unknown_property.yaml"))
    assert error.message == f"No property 'defaultLevel' exists in plugin '{LOG}'; did you mean 'logLevel'?"
    assert error.path == "pluginDefaults[0].values.defaultLevel"


def test_inputs_are_checked_with_located_did_you_mean():
    error = only(load_fixture("invalid/model/input_default_typo.yaml"))
    assert error.path == "inputs[0].default"
    assert error.line == 7
    assert "did you mean defaults?" in error.message


def test_concurrency_labels_retry_and_outputs_sections():
    found = problems(load_fixture("invalid/model/concurrency_labels_retry_outputs.yaml"))
    messages = [p.message for p in found]
    assert "concurrency limit must be a positive integer" in messages
    assert any(m.startswith("'WAIT' is not one of QUEUE, CANCEL, FAIL") for m in messages)
    assert "System labels can only be set by Kestra itself, offending label: system.owner" in messages
    assert "'interval' must be less than 'maxDuration' but is PT1M" in messages
    assert any(m.startswith("unknown output type 'STRNG'") for m in messages)


def test_labels_as_list_and_map():
    flow = nb_orchestra.load_flow(flow_text(
        "labels:\n  - key: team\n    value: data\n"
        f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n"
    ))
    assert flow.labels == {"team": "data"}
    flow = nb_orchestra.load_flow(flow_text(
        f"labels:\n  ok: true\ntasks:\n  - id: a\n    type: {LOG}\n    message: x\n"
    ))
    assert flow.labels == {"ok": "true"}


def test_hyphenated_task_id_with_dot_access_is_flagged():
    error = only(load_fixture("invalid/model/hyphenated_task_id.yaml"))
    assert error.message == (
        "`outputs.my-task` reads as a subtraction in an expression; write outputs['my-task'] instead"
    )
    assert (error.line, error.column) == (10, 18)


def test_flowable_specific_checks():
    found = problems(load_fixture("invalid/model/flowable_checks.yaml"))
    messages = [p.message for p in found]
    assert "'then' must hold at least one task" in messages
    assert "No task defined, neither cases or default have any tasks" in messages
    assert "Only runnable tasks are allowed as children of a WorkingDirectory task" in messages
    assert "Recursive call to flow [tests.test]" in messages


def test_triggers_are_checked():
    found = problems(load_fixture("invalid/model/triggers.yaml"))
    assert [p.message for p in found] == [
        "invalid cron expression '61 * * * *'",
        "unknown trigger type 'io.kestra.plugin.core.trigger.Schedulee'; "
        "did you mean 'io.kestra.plugin.core.trigger.Schedule'?",
        "Duplicate trigger id with name [t]",
    ]


def test_unquoted_dates_stay_strings():
    flow = nb_orchestra.load_flow(flow_text(
        f"variables:\n  day: 2024-01-01\ntasks:\n  - id: a\n    type: {LOG}\n    message: x\n"
    ))
    assert flow.variables == {"day": "2024-01-01"}


def test_load_flow_reads_a_path(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n"))
    assert nb_orchestra.load_flow(path).id == "test"
    assert nb_orchestra.load_flow(str(path)).id == "test"
    with pytest.raises(nb_orchestra.UserError, match="no such flow file"):
        nb_orchestra.load_flow(str(tmp_path / "missing.yaml"))


def test_the_same_text_is_parsed_once_but_each_load_gets_its_own_flow():
    text = flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n")
    first, second = nb_orchestra.load_flow(text), nb_orchestra.load_flow(text)
    assert first is not second and first.tasks[0] is second.tasks[0]
    first.revision = 7
    assert second.revision == 1


def test_a_bare_name_is_a_registered_flow():
    registered = nb_orchestra.register_flow(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n"))
    assert nb_orchestra.load_flow("test") is registered
    assert nb_orchestra.load_flow("tests.test") is registered
    with pytest.raises(nb_orchestra.UserError, match=r"no registered flow 'nope' \(registered: tests.test\)"):
        nb_orchestra.load_flow("nope")


def test_an_existing_file_wins_over_a_registered_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.yaml").write_text(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n",
                                                   flow_id="from_file"))
    assert nb_orchestra.load_flow("hello.yaml").id == "from_file"
    with pytest.raises(nb_orchestra.UserError, match=r"no flow file other.yaml, and no registered flow 'other.yaml'"):
        nb_orchestra.load_flow("other.yaml")
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(nb_orchestra.UserError, match=r"folder.yaml is a folder, not a flow file"):
        nb_orchestra.load_flow("folder.yaml")


def test_prefix_plugin_defaults_bring_only_declared_properties():
    """The course's `io.kestra.plugin.gcp` defaults carry `bucket` to tasks without one; Kestra ignores
    it there, and an exact-type default still has each of its properties checked."""
    flow = nb_orchestra.load_flow("""
id: f
namespace: n
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
pluginDefaults:
  - type: io.kestra.plugin.core.log
    values:
      message: from the defaults
      bucket: not a Log property
""")
    assert flow.tasks[0].props["message"] == "from the defaults"
    assert "bucket" not in flow.tasks[0].props
    with pytest.raises(FlowValidationError, match="bucket"):
        nb_orchestra.load_flow("""
id: f
namespace: n
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      message: hi
      bucket: not a Log property
""")
