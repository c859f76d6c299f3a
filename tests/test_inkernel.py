"""Notebook-only tasks that run Python inside the kernel and keep Python objects."""

from __future__ import annotations

import textwrap

from IPython.core.interactiveshell import InteractiveShell

import nb_orchestra

from .conftest import flow_text, run_flow


class Table:
    """Stands in for a DataFrame: an object no template could have made."""

    def __init__(self, rows):
        self.rows = rows


def test_code_sees_flow_values_and_returns_its_last_expression_as_a_python_object():
    ex = run_flow("""
        inputs:
          - id: n
            type: INT
            defaults: 3
        tasks:
          - id: make
            type: io.kestra.plugin.core.output.OutputValues
            values:
              items: [1, 2, 3]
          - id: compute
            type: io.nb_orchestra.python.Code
            code: |
              total = sum(outputs["make"]["values"]["items"]) * inputs["n"]
              {"total": total, "squares": [i * i for i in range(inputs["n"])]}
          - id: use
            type: io.kestra.plugin.core.debug.Return
            format: "{{ outputs.compute.value.total }}"
    """)
    assert ex.state == "SUCCESS"
    assert ex.outputs.compute.value == {"total": 18, "squares": [0, 1, 4]}
    assert ex.outputs.use.value == "18"


def test_call_runs_a_notebook_function_with_rendered_typed_arguments():
    shell = InteractiveShell.instance()
    shell.user_ns["make_table"] = lambda rows, scale=1: Table([r * scale for r in rows])
    ex = run_flow("""
        tasks:
          - id: table
            type: io.nb_orchestra.python.Call
            function: make_table
            args: ["{{ [1, 2] }}"]
            kwargs:
              scale: "{{ 10 }}"
          - id: imported
            type: io.nb_orchestra.python.Call
            function: "os.path:join"
            args: [a, b]
    """)
    assert ex.state == "SUCCESS"
    assert isinstance(ex.outputs.table.value, Table) and ex.outputs.table.value.rows == [10, 20]
    assert ex.outputs.imported.value.replace("\\\\", "/") == "a/b"


def test_user_errors_fail_the_task_with_the_users_frames_only():
    ex = run_flow("""
        tasks:
          - id: missing
            type: io.nb_orchestra.python.Call
            function: no_such_function
            allowFailure: true
          - id: broken
            type: io.nb_orchestra.python.Code
            code: |
              x = 1
              x / 0
    """)
    assert ex.taskrun("missing").message.startswith("function 'no_such_function' is not a callable of the notebook")
    message = ex.taskrun("broken").message
    assert message == "ZeroDivisionError: division by zero"
    error_log = [log.message for log in ex.logs if log.task_id == "broken"][0]
    assert '<task broken>", line 2' in error_log and "inkernel.py" not in error_log


def test_notebook_only_tasks_are_flagged_by_validation():
    flow = nb_orchestra.load_flow(flow_text(textwrap.dedent("""
        tasks:
          - id: c
            type: io.nb_orchestra.python.Code
            code: "1"
    """)))
    assert [w.message for w in flow.warnings] == [
        "'io.nb_orchestra.python.Code' is notebook-only: it runs in nb_orchestra, not on a Kestra server"]
