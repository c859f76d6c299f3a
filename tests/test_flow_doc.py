"""``%flow doc TYPE`` and the inspector: a task type's documentation from the catalogue's
declarations, with an example flow that validates."""

from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output

import nb_orchestra
from nb_orchestra.authoring import docs
from nb_orchestra.plugins import catalog

COMMON = ("Properties marked *(not rendered)* are read as written; the others may hold `{{ expressions }}`. "
          "Every task also accepts `description`, `disabled`, `runIf`, `timeout`, `retry`, `allowFailure`, "
          "`allowWarning`, `logLevel`, `logToFile`, `workerGroup`, `taskCache` (docs/plugins.md).")

IF_DOC = f"""\
### `io.kestra.plugin.core.flow.If`

Run ``then`` when ``condition`` renders truthy, else ``else``.

Also accepted as `io.kestra.core.tasks.flows.If`.

| property | kind | default | notes |
| --- | --- | --- | --- |
| `errors` | tasks |  | (not rendered) Tasks run when a child fails. |
| `finally` | tasks |  | (not rendered) Tasks run after the children, always. |
| `condition` | string |  | **required** Expression; false only for '', 'false', '0', '-0'. |
| `then` | tasks |  | **required** (not rendered) Child tasks. |
| `else` | tasks |  | (not rendered) Tasks run when the condition is false. |

| output | holds |
| --- | --- |
| `evaluationResult` | Whether the condition was true. |

{COMMON}

Example:

```yaml
id: if_example
namespace: company.team
tasks:
  - id: if
    type: io.kestra.plugin.core.flow.If
    condition: <condition>
    then:
      - id: then_step
        type: io.kestra.plugin.core.log.Log
        message: in then
```
"""


def test_flow_doc_shows_the_description_properties_outputs_and_a_made_example(ip):
    with capture_output() as captured:
        assert ip.run_line_magic("flow", "doc io.kestra.plugin.core.flow.If") is None
    (shown,) = captured.outputs
    assert shown.data == {"text/markdown": IF_DOC, "text/plain": IF_DOC}


def test_a_class_name_is_enough_and_a_plugins_own_example_is_shown(ip):
    with capture_output() as captured:
        ip.run_line_magic("flow", "doc log")
    text = captured.outputs[0].data["text/plain"]
    assert text.startswith("### `io.kestra.plugin.core.log.Log`\n\nLog a message (or each message of a list) at a "
                           "level.\n\nAlso accepted as `io.kestra.core.tasks.log.Log`.\n")
    assert "| `message` | string_or_list |  | **required** Message, or list of messages, to log. |" in text
    assert text.endswith('    message: "Hello, {{ inputs.user }}!"\n    level: WARN\n```\n')


def test_an_unknown_or_ambiguous_type_is_a_short_usage_error(ip, capsys):
    result = ip.run_cell("%flow doc Logg")
    assert not result.success
    assert "UsageError: no task type 'Logg'; did you mean io.kestra.plugin.core.log.Log?" in capsys.readouterr().err
    result = ip.run_cell("%flow doc Query")
    assert not result.success
    assert ("UsageError: 'Query' names several task types: io.kestra.plugin.gcp.bigquery.Query, "
            "io.kestra.plugin.jdbc.duckdb.Query, io.kestra.plugin.jdbc.postgresql.Query, "
            "io.kestra.plugin.jdbc.sqlite.Query") in capsys.readouterr().err


def test_every_task_types_example_validates_without_a_warning():
    for plugin in catalog.plugin_classes():
        flow = nb_orchestra.load_flow(docs.example_flow(plugin))
        assert plugin.type in {task.type for task in flow.all_tasks()}, plugin.type
        assert [w.message for w in flow.warnings if "is notebook-only" not in w.message] == [], plugin.type


def test_the_inspector_documents_a_full_type_name_and_leaves_python_names_alone(ip):
    bundle = ip.object_inspect_mime("io.kestra.plugin.core.flow.If")
    assert bundle["text/plain"] == IF_DOC and bundle["text/markdown"] == IF_DOC
    for name in ("Log", "io.kestra.nothing.Here"):
        with pytest.raises(KeyError):
            ip.object_inspect_mime(name)
    ip.user_ns["nbo_inspected"] = 3
    assert "int" in ip.object_inspect_mime("nbo_inspected")["text/plain"]
