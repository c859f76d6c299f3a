"""Mistakes in expressions caught at validation: warnings (Kestra saves such a flow and fails when it
runs), located at the expression in the flow's text, with a did-you-mean. Plus the line numbers of
a %%flow cell, and no cascade message after an unknown task type."""

from __future__ import annotations

import glob
import textwrap
from pathlib import Path

import jupytext
import pytest
from IPython.utils.capture import capture_output

import nb_orchestra
from nb_orchestra import FlowValidationError

from .conftest import flow_text

ROOT = Path(__file__).resolve().parent.parent
LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"


def warnings_of(body: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of every warning of the flow ``body`` (it loads: warnings, not errors)."""
    flow = nb_orchestra.load_flow(flow_text(body))
    return [(w.line, w.column, w.message) for w in flow.warnings]


def test_an_undeclared_input_is_located_with_a_did_you_mean():
    assert warnings_of(f"""
        inputs:
          - id: user
            type: STRING
        tasks:
          - id: hello
            type: {LOG}
            message: "Hello {{{{ inputs.usr }}}}, {{{{ inputs['user'] }}}}"
    """) == [(10, 24, "`inputs.usr`: no input 'usr' is declared; did you mean 'user'?")]


def test_an_undeclared_variable():
    assert warnings_of(f"""
        variables:
          region: eu
        tasks:
          - id: hello
            type: {LOG}
            message: |
              first line
              {{{{ vars.x }}}} in {{{{ vars.regoin }}}} or {{{{ vars.region }}}}
    """) == [(11, 10, "`vars.x`: no variable 'x' is declared"),
             (11, 26, "`vars.regoin`: no variable 'regoin' is declared; did you mean 'region'?")]


def test_an_unknown_task_and_a_task_that_runs_later_in_the_sequence():
    assert warnings_of(f"""
        tasks:
          - id: load
            type: {RETURN}
            format: "{{{{ outputs.report.value }}}}"
          - id: report
            type: {LOG}
            message: "{{{{ outputs.lod.uri }}}} {{{{ outputs.load.value }}}}"
        errors:
          - id: alert
            type: {LOG}
            message: "{{{{ outputs.report }}}} {{{{ outputs['load'] }}}}"
    """) == [(7, 17, "`outputs.report`: task 'report' runs after this one, so its outputs do not exist yet"),
             (10, 18, "`outputs.lod`: no task 'lod' in this flow; did you mean 'load'?")]


def test_unknown_filters_and_functions():
    assert warnings_of(f"""
        tasks:
          - id: hello
            type: {LOG}
            message: "{{{{ 'a' | uper }}}} {{{{ nwo() }}}} {{{{ 'a' | upper | trim }}}}"
    """) == [(7, 22, "`| uper`: unknown filter 'uper'; did you mean 'upper'?"),
             (7, 35, "`nwo()`: unknown function 'nwo'; did you mean 'now'?")]


def test_well_known_functions_and_filters_called_with_the_wrong_arguments():
    assert warnings_of(f"""
        tasks:
          - id: hello
            type: {LOG}
            message:
              - "{{{{ randomInt(1) }}}} {{{{ randomInt(1, 5) }}}}"
              - "{{{{ kv('key', errorOnMisssing=false) }}}} {{{{ kv('key', errorOnMissing=false) }}}}"
              - "{{{{ uuid(4) }}}} {{{{ now('iso', 'UTC', 'en', 'x') }}}} {{{{ now(timeZone='UTC') }}}}"
              - "{{{{ 'a,b' | split }}}} {{{{ 'a,b' | split(',') }}}}"
    """) == [
        (8, 13, "`randomInt(1)`: randomInt() takes 2 arguments (lower, upper), got 1"),
        (9, 13, "`kv('key', errorOnMisssing=false)`: kv() has no argument 'errorOnMisssing'; "
                "did you mean 'errorOnMissing'?"),
        (10, 13, "`uuid(4)`: uuid() takes no arguments, got 1"),
        (10, 27, "`now('iso', 'UTC', 'en', 'x')`: now() takes 0 to 3 arguments (format, timeZone, locale), got 4"),
        (11, 19, "`| split`: the filter 'split' takes 1 to 2 arguments (delimiter, limit), got 0"),
    ]


def test_what_only_the_run_can_tell_is_not_flagged():
    assert warnings_of(f"""
        inputs:
          - id: user
            type: STRING
        variables:
          tasks_of: load
        tasks:
          - id: fan
            type: io.kestra.plugin.core.flow.Parallel
            tasks:
              - id: first
                type: {RETURN}
                format: "{{{{ outputs.second.value ?? 'not yet' }}}}"
              - id: second
                type: {RETURN}
                format: b
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: [a, b]
            tasks:
              - id: load
                type: {RETURN}
                format: "{{{{ taskrun.value }}}}"
              - id: use
                type: {LOG}
                message: "{{{{ outputs.load[taskrun.value].value }}}} {{{{ outputs[vars.tasks_of] }}}}"
          - id: branch
            type: io.kestra.plugin.core.flow.If
            condition: "{{{{ inputs[vars.tasks_of] is defined }}}}"
            then:
              - id: maybe
                type: {RETURN}
                format: x
          - id: after
            type: {LOG}
            message: "{{{{ outputs.maybe.value ?? '' }}}} {{% raw %}}{{{{ outputs.nothing }}}}{{% endraw %}}"
            description: "{{{{ inputs.not_rendered }}}}"
          - id: macro
            type: {LOG}
            message: "{{% macro shout(x) %}}{{{{ x | upper }}}}{{% endmacro %}}{{{{ shout(inputs.user) }}}}"
          - id: guarded
            type: {LOG}
            message: "{{{{ inputs.opt ?? 'x' }}}} {{% if vars.opt is defined %}}{{% endif %}}
              {{{{ vars.y | default(1) }}}}"
    """) == []


def test_a_warning_is_not_an_error_and_the_flow_runs_until_the_expression():
    flow = nb_orchestra.load_flow(flow_text(f"""
        tasks:
          - id: hello
            type: {LOG}
            message: "{{{{ inputs.nope }}}}"
    """))
    assert [w.message for w in flow.warnings] == ["`inputs.nope`: no input 'nope' is declared"]
    execution = nb_orchestra.run(flow)
    assert execution.state == "FAILED"


# -- the flows people read ----------------------------------------------------------------------------

def flows_of_the_teaching_notebooks() -> list[tuple[str, str]]:
    found = []
    for path in sorted(glob.glob(str(ROOT / "notebooks" / "src" / "*.py"))):
        for cell in jupytext.read(path).cells:
            first, _, body = cell.source.partition("\n")
            if cell.cell_type == "code" and first.split()[:1] == ["%%flow"]:
                found.append((f"{Path(path).name}: {first}", body + "\n"))
    return found


def test_the_examples_and_the_teaching_notebooks_validate_without_a_false_warning():
    sources = [(str(p), p.read_text(encoding="utf-8"))
               for p in sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("notebooks/flows/**/*.yml")])]
    sources += flows_of_the_teaching_notebooks()
    assert len(sources) > 40
    warned = {}
    for where, text in sources:
        flow = nb_orchestra.load_flow(text)
        warned[where] = [w.message for w in flow.warnings if "is notebook-only" not in w.message]
    assert {where: found for where, found in warned.items() if found} == {}


# -- line numbers of a %%flow cell, and no cascade ------------------------------------------------------

def test_a_cells_warnings_count_the_magic_line_as_export_does(ip):
    cell = textwrap.dedent(f"""\
        %%flow --no-run
        id: load_months
        namespace: tutorial

        tasks:
          - id: each_month
            type: io.kestra.plugin.core.flow.ForEach
            values: ["01"]
            tasks:
              - id: extract
                type: io.nb_orchestra.python.Code
                code: "1"
              - id: load
                type: {LOG}
                message: "{{{{ outputs.extrct }}}}"
    """)
    with capture_output() as captured:
        assert ip.run_cell(cell).success
    assert captured.stderr.splitlines() == [
        "warning: line 11, column 9: tasks[0].tasks[0].type: 'io.nb_orchestra.python.Code' is notebook-only: "
        "it runs in nb_orchestra, not on a Kestra server",
        "warning: line 15, column 22: tasks[0].tasks[1].message: `outputs.extrct`: no task 'extrct' in this flow; "
        "did you mean 'extract'?",
    ]
    assert cell.splitlines()[10].strip() == "type: io.nb_orchestra.python.Code"


def test_a_duplicate_task_id_in_a_cell_names_the_first_line_in_the_cells_numbering(ip, capsys):
    result = ip.run_cell(f"%%flow\nid: dup\nnamespace: demo\ntasks:\n  - id: same\n    type: {LOG}\n"
                         f"    message: a\n  - id: same\n    type: {LOG}\n    message: b\n")
    assert not result.success
    out = capsys.readouterr().out
    assert ("line 8, column 5: tasks[1].id: Duplicate task id with name [same] (first used at line 5)") in out
    assert "    8 |   - id: same" in out


def test_a_branch_whose_tasks_all_have_unknown_types_gets_no_cascade_message():
    with pytest.raises(FlowValidationError) as caught:
        nb_orchestra.load_flow(flow_text(f"""
            tasks:
              - id: check
                type: io.kestra.plugin.core.flow.If
                condition: "yes"
                then:
                  - id: inner
                    type: io.kestra.plugin.core.log.Logg
                    message: hi
              - id: route
                type: io.kestra.plugin.core.flow.Switch
                value: a
                cases:
                  a:
                    - id: other
                      type: Nope
              - id: empty
                type: io.kestra.plugin.core.flow.If
                condition: "yes"
                then: []
              - id: last
                type: {LOG}
                message: x
        """))
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("tasks[0].then[0].type", f"unknown task type 'io.kestra.plugin.core.log.Logg'; did you mean {LOG}?"),
        ("tasks[1].cases.a[0].type", "unknown task type 'Nope'"),
        ("tasks[2].then", "'then' must hold at least one task"),
    ]
