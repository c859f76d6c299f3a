"""YAML syntax errors for people: the line of the mistake (the opening quote, the tab, the
mis-indented key and the key it should line up with), never a location past the end of the text,
and the offending line under the message with a caret, in a %%flow cell's own numbering."""

from __future__ import annotations

import pytest

import nb_orchestra
from nb_orchestra import FlowValidationError

HEAD = "id: demo\nnamespace: company.team\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n"


def error(text: str) -> FlowValidationError:
    with pytest.raises(FlowValidationError) as caught:
        nb_orchestra.load_flow(text)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert 1 <= problem.line <= len(text.splitlines())  # never past the end of the text
    return caught.value


def located(text: str) -> tuple[int, int, str]:
    problem = error(text).problems[0]
    return problem.line, problem.column, problem.message


def test_an_unclosed_quote_names_the_line_where_it_opens():
    text = HEAD + '    level: INFO\n    message: "Hello\n  - id: bye\n    type: io.kestra.plugin.core.log.Log\n' \
                  "    message: bye\n"
    assert located(text) == (7, 14, 'invalid YAML: the double quote " opened here is never closed')
    assert located(HEAD + "    message: 'Hello\n") == (6, 14, "invalid YAML: the single quote ' opened here is never "
                                                          "closed")
    # a later quote closes it, many lines down: still the line where it opened
    swallowed = HEAD + '    message: "Hello\n  - id: bye\n    type: "Log"\n'
    assert located(swallowed) == (6, 14, 'invalid YAML: the double quote " opened here is never closed')


def test_a_key_indented_one_space_off_names_the_key_it_should_line_up_with():
    assert located(HEAD + "     message: hi\n") == (
        6, 6, "invalid YAML: 'message' is indented by 5 spaces; it should line up with 'type' above (4 spaces)")
    assert located(HEAD + "   message: hi\n") == (
        6, 4, "invalid YAML: 'message' is indented by 3 spaces; it should line up with 'type' above (4 spaces)")
    assert located("id: demo\n namespace: company.team\n") == (
        2, 2, "invalid YAML: 'namespace' is indented by 1 space; it should line up with 'id' above "
              "(at the start of the line)")
    nested = HEAD.replace("log.Log", "flow.If") + "    then:\n      - id: a\n        type: Log\n       message: m\n"
    assert located(nested) == (
        9, 8, "invalid YAML: 'message' is indented by 7 spaces; it should line up with 'type' above (8 spaces)")


def test_a_list_item_indented_off_names_the_item_it_should_line_up_with():
    assert located(HEAD + "    message: hi\n - id: bye\n") == (
        7, 2, "invalid YAML: this list item is indented by 1 space; it should line up with the list item "
              "'- id: hello' above (2 spaces)")


def test_a_block_of_text_is_not_taken_for_keys():
    text = HEAD.replace("log.Log", "debug.Return") + "    format: |\n      if x:\n        y: 1\n     retry: {}\n"
    assert located(text) == (
        9, 6, "invalid YAML: 'retry' is indented by 5 spaces; it should line up with 'format' above (4 spaces)")


def test_tabs_are_named_as_tabs():
    assert located(HEAD + "\tmessage: hi\n") == (
        6, 1, "invalid YAML: a tab in the indentation: YAML indents with spaces, never tabs")
    assert located("id: demo\nnamespace: company.team\ntasks:\n\t- id: a\n") == (
        4, 1, "invalid YAML: a tab in the indentation: YAML indents with spaces, never tabs")


def test_unclosed_brackets_a_colon_in_a_value_a_stray_line_and_an_unquoted_expression():
    assert located(HEAD + "    message: [a, b\n") == (
        6, 14, "invalid YAML: the [ opened here is never closed by a ] (or an item in it lacks a comma)")
    assert located("id: demo\nnamespace: company.team\ntasks:\n  - {id: a, type: Log\n") == (
        4, 5, "invalid YAML: the { opened here is never closed by a } (or an item in it lacks a comma)")
    assert located(HEAD + "    message: Note: this\n") == (
        6, 18, "invalid YAML: ': ' inside a value: put the value in quotes")
    assert located(HEAD + "    message: hi\n  oops\n") == (
        7, 3, "invalid YAML: this line is neither 'key: value' nor a list item '- ...'")
    assert located(HEAD + "    message: {{ inputs.user }}\n") == (
        6, 14, 'a value that starts with { is read as a YAML map: put the expression in quotes, '
               '"{{ inputs.user }}"')


def test_the_message_shows_the_offending_line_with_a_caret_aligned_past_tabs():
    assert error(HEAD + '    message: "Hello\n').pretty() == (
        "1 problem(s) in flow:\n"
        '  - line 6, column 14: invalid YAML: the double quote " opened here is never closed\n'
        '         6 |     message: "Hello\n'
        "           |              ^")
    tabbed = error(HEAD + "    message: hi\n  \t- id: x\n").pretty().splitlines()
    assert tabbed[-2:] == ["         7 |   \t- id: x", "           |   ^"]


def test_in_a_cell_the_lines_are_the_cells_own(ip, capsys):
    result = ip.run_cell("%%flow\n" + HEAD + '    message: "Hello\n')
    assert not result.success
    out = capsys.readouterr().out
    assert ('FlowValidationError: 1 problem(s) in flow:\n'
            '  - line 7, column 14: invalid YAML: the double quote " opened here is never closed\n'
            '         7 |     message: "Hello\n'
            '           |              ^') in out
