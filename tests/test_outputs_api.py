"""Outputs from Python: short errors for what does not exist, loop values in their own type, files."""

from __future__ import annotations

import pytest

import nb_orchestra
from nb_orchestra.errors import OutputNotFoundError, UserError
from nb_orchestra.views.html import execution_report_html

FLOW = """
id: outputs
namespace: tests
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 7]
    tasks:
      - id: double
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value | number * 2 }}"
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - printf 'city,trips\\nNYC,3\\n' > trips.csv
    outputFiles: [trips.csv]
  - id: values
    type: io.kestra.plugin.core.output.OutputValues
    values:
      values: kept
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    allowFailure: true
"""


@pytest.fixture
def ex():
    return nb_orchestra.run(FLOW)


def test_loop_outputs_accept_the_value_in_its_own_type(ex):
    assert ex.outputs.double[7].value == ex.outputs.double["7"].value == "14"


def test_a_missing_output_is_a_short_error_naming_the_state_and_what_exists(ex):
    with pytest.raises(OutputNotFoundError, match=r"task `boom` has no outputs: it ended WARNING \(tasks with "
                                                  r"outputs: double, write, values\)"):
        _ = ex.outputs.boom
    with pytest.raises(KeyError, match="no output `9` here"):
        _ = ex.outputs.double[9]
    assert not hasattr(ex.outputs, "missing") and ex.outputs.get("missing") is None
    assert OutputNotFoundError("x")._render_traceback_() == ["OutputNotFoundError: x"]


def test_an_output_named_like_a_dict_method_reads_as_the_output(ex):
    assert ex.outputs.values.values == {"values": "kept"}


def test_file_outputs_open_from_python_and_preview_in_the_report(ex):
    uri = ex.outputs.write.outputFiles["trips.csv"]
    assert ex.file(uri).read_text() == "city,trips\nNYC,3\n"
    with pytest.raises(UserError, match="is not a kestra:// URI"):
        ex.file("/etc/passwd")
    report = execution_report_html(ex)
    assert "<summary>trips.csv</summary><pre>city,trips\nNYC,3</pre>" in report


def test_stored_executions_open_files_too(ex):
    stored = nb_orchestra.api.executions(flow_id="outputs")[0]
    assert stored.file(stored.outputs.write.outputFiles["trips.csv"]).read_text().startswith("city,trips")
