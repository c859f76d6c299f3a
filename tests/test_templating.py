"""io.kestra.plugin.core.templating.TemplatedTask: a task rendered from `spec`, run in its own run."""

from __future__ import annotations

import pytest

from .conftest import messages, run_fixture


def test_templated_task_runs_the_task_its_spec_renders():
    ex = run_fixture("valid/templating/return_input.yaml")
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    assert ex.outputs.template == {"value": "It's alive!"}
    assert ex.outputs.after == {"value": "It's alive!"}
    assert messages(ex, "log", "WARN") == ["got It's alive!"]
    assert [r.task_id for r in ex.taskruns] == ["template", "log", "after"]


def test_templated_task_type_from_an_input():
    ex = run_fixture("valid/templating/return_input.yaml", inputs={"type": "io.kestra.plugin.core.log.Log"})
    assert ex.state == "FAILED"
    assert ex.taskruns[0].message == (
        "property 'spec': line 2, column 1: format: unknown property 'format' for Log task 'template'; "
        "line 1, column 1: missing required property 'message' for Log task 'template'")


def run_spec(spec: str):
    return run_fixture("valid/templating/spec.yaml", inputs={"spec": spec})


@pytest.mark.parametrize("spec, message", [
    ("type: io.kestra.plugin.core.flow.Pause\ndelay: PT10S", "The templated task must be a runnable task"),
    ("type: io.kestra.plugin.core.flow.Subflow\nnamespace: tests\nflowId: other",
     "The templated task must be a runnable task"),
    ("type: io.kestra.plugin.core.templating.TemplatedTask\nspec: whatever",
     "The templated task cannot be of type 'io.kestra.plugin.core.templating.TemplatedTask'"),
    ("type: io.kestra.plugin.core.debug.Retrun\nformat: x",
     "property 'spec': line 1, column 1: type: unknown task type 'io.kestra.plugin.core.debug.Retrun'; "
     "did you mean io.kestra.plugin.core.debug.Return?"),
    ("type: [io.kestra", "property 'spec': line 1, column 7: invalid YAML: the [ opened here is never closed "
                         "by a ] (or an item in it lacks a comma)"),
    ("- type: io.kestra.plugin.core.debug.Return", "property 'spec': line 1, column 1: a task must be a YAML map "
                                                   "with at least a type"),
    ("format: x", "property 'spec': line 1, column 1: missing required property 'type' for a task"),
])
def test_templated_task_refuses_a_bad_spec(spec, message):
    ex = run_spec(spec)
    assert ex.state == "FAILED"
    assert ex.taskruns[0].message == message


def test_templated_task_outputs_files_in_its_own_run():
    ex = run_spec("type: io.kestra.plugin.core.storage.Write\ncontent: hello\nextension: .txt")
    assert ex.state == "SUCCESS", ex.taskruns[0].message
    uri = ex.outputs.template.uri
    assert uri.startswith(f"kestra:///tests/test/executions/{ex.id}/tasks/template/{ex.taskruns[0].id}/")
