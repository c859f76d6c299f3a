"""Flow inputs: coercion, resolution and declaration checks; messages for people, Kestra's beside them."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from nb_orchestra.errors import InputError, InputProblem
from nb_orchestra.inputs import (
    INPUT_TYPES,
    check_declarations,
    check_names,
    coerce_input,
    declaration_warnings,
    input_id,
    is_required,
    missing_inputs,
    resolve_inputs,
)
from nb_orchestra.inputs.coercion import InvalidValue

UTC = timezone.utc


def decl(type_name: str, **properties: Any) -> dict:
    return {"id": "x", "type": type_name, **properties}


def problems_of(declarations: list[dict], supplied: dict | None, render=None) -> list[str]:
    """Each problem as people read it: "<id>: <message>"."""
    return [str(problem) for problem in input_problems(declarations, supplied, render)]


def kestra_problems_of(declarations: list[dict], supplied: dict | None, render=None) -> list[str]:
    """Each problem as Kestra words it."""
    return [problem.kestra for problem in input_problems(declarations, supplied, render)]


def input_problems(declarations: list[dict], supplied: dict | None, render=None) -> list[InputProblem]:
    with pytest.raises(InputError) as caught:
        resolve_inputs(declarations, supplied, render)
    return caught.value.problems


def refusal(declaration: dict, value: Any) -> tuple[str, str]:
    """(the message for people, Kestra's message) of a value ``coerce_input`` refuses."""
    with pytest.raises(InvalidValue) as caught:
        coerce_input(declaration, value)
    return str(caught.value), caught.value.kestra


def tiny_render(template: str, context: dict) -> Any:
    """Stand-in for the Jinja renderer: ``{{ inputs.<id> == 'v' }}`` and ``{{ inputs.<id> }}``."""
    body = template.strip().removeprefix("{{").removesuffix("}}").strip()
    left, _, right = body.partition("==")
    value: Any = context
    for part in left.strip().split("."):
        value = value[part]
    return value == right.strip().strip("'") if right else value


# --- coercion: happy paths ---------------------------------------------------------------

FILE_DIR = Path(__file__).parent


@pytest.mark.parametrize(("type_name", "properties", "text", "python", "expected"), [
    ("STRING", {}, "hello", "hello", "hello"),
    ("SECRET", {}, "s3cret", "s3cret", "s3cret"),
    ("INT", {}, "42", 42, 42),
    ("INT", {}, "-7", -7, -7),
    ("FLOAT", {}, "1.5", 1.5, 1.5),
    ("FLOAT", {}, "2", 2, 2.0),
    ("BOOLEAN", {}, "TRUE", True, True),
    ("BOOL", {}, "tRuE", True, True),
    ("SELECT", {"values": ["a", "b"]}, "b", "b", "b"),
    ("ENUM", {"values": ["2019", "2020"]}, "2020", 2020, "2020"),
    ("MULTISELECT", {"values": ["a", "b", "c"]}, '["a","c"]', ["a", "c"], ["a", "c"]),
    ("DATETIME", {}, "2042-04-02T04:20:42.000Z", datetime(2042, 4, 2, 4, 20, 42, tzinfo=UTC),
     datetime(2042, 4, 2, 4, 20, 42, tzinfo=UTC)),
    ("DATE", {}, "2042-12-03", date(2042, 12, 3), date(2042, 12, 3)),
    ("TIME", {}, "10:15:30", time(10, 15, 30), time(10, 15, 30)),
    ("DURATION", {}, "PT5M6S", timedelta(minutes=5, seconds=6), timedelta(minutes=5, seconds=6)),
    ("JSON", {}, '{"name": "a", "n": [1]}', {"name": "a", "n": [1]}, {"name": "a", "n": [1]}),
    ("YAML", {}, "name: a\nn: [1]\n", {"name": "a", "n": [1]}, {"name": "a", "n": [1]}),
    ("ARRAY", {"itemType": "INT"}, "[1,2]", [1, 2], [1, 2]),
    ("URI", {}, "https://kestra.io/docs", "https://kestra.io/docs", "https://kestra.io/docs"),
    ("EMAIL", {}, "a.b@example.com", "a.b@example.com", "a.b@example.com"),
    ("FILE", {}, "kestra:///ns/flow/file.csv", "kestra:///ns/flow/file.csv", "kestra:///ns/flow/file.csv"),
])
def test_every_type_from_text_and_from_python(type_name, properties, text, python, expected):
    declaration = decl(type_name, **properties)
    assert coerce_input(declaration, text) == expected
    assert coerce_input(declaration, python) == expected


def test_input_types_are_the_nineteen_kestra_types():
    assert len(INPUT_TYPES) == 19 and {"STRING", "BOOL", "FILE", "ARRAY"} <= INPUT_TYPES


def test_datetime_with_offset_is_returned_in_utc():
    value = coerce_input(decl("DATETIME"), "2024-01-01T10:00:00.5+02:00")
    assert value == datetime(2024, 1, 1, 8, 0, 0, 500000, tzinfo=UTC)
    assert value.tzinfo is UTC


def test_datetime_needs_a_zone():
    assert refusal(decl("DATETIME"), "2024-01-01T10:00:00") == (
        "Not a date and time with a zone (like 2024-01-31T09:30:00Z): `2024-01-01T10:00:00`.",
        "Invalid input for `x`, Expected `DATETIME` but received `2024-01-01T10:00:00`, "
        "but received `2024-01-01T10:00:00`",
    )


def test_time_without_seconds_and_yaml_scalars_for_text_types():
    assert coerce_input(decl("TIME"), "10:15") == time(10, 15)
    assert coerce_input(decl("STRING"), 2019) == "2019"


def test_file_local_path_and_pathlib(tmp_path: Path):
    target = tmp_path / "data.csv"
    target.write_text("a,b\n")
    assert coerce_input(decl("FILE"), str(target)) == str(target)
    assert coerce_input(decl("FILE"), target) == str(target)
    assert coerce_input(decl("FILE"), f"file://{target}") == str(target)


def test_file_missing():
    assert refusal(decl("FILE"), "/no/such/file.csv") == (
        "File not found: `/no/such/file.csv`.",
        "Invalid input for `x`, file not found: /no/such/file.csv, but received `/no/such/file.csv`",
    )


# --- coercion: Kestra's quirks and messages ----------------------------------------------

def test_boolean_yes_is_false_not_an_error():
    assert coerce_input(decl("BOOLEAN"), "yes") is False
    assert coerce_input(decl("BOOLEAN"), "1") is False


@pytest.mark.parametrize(("text", "message"), [
    ("1.5", "Not a whole number: `1.5`."),
    (" 1", "Not a whole number: ` 1`."),
    ("1_000", "Not a whole number: `1_000`."),
    ("3000000000", "Outside the INT range (-2147483648 to 2147483647): `3000000000`."),
])
def test_int_rejects_what_integer_value_of_rejects(text, message):
    kestra = f"Invalid input for `n`, Expected `INT` but received `{text}`, but received `{text}`"
    assert refusal(decl("INT", id="n"), text) == (message, kestra)


def test_int_rejects_bool_and_float():
    assert refusal(decl("INT"), True)[0] == "Not a whole number: `true`."
    assert refusal(decl("INT"), 1.0)[0] == "Not a whole number: `1.0`."


@pytest.mark.parametrize(("type_name", "bounds", "value", "message", "detail"), [
    ("INT", {"min": 18, "max": 99}, "200", "Must be between 18 and 99 (got 200).", "it must be less than `99`"),
    ("INT", {"min": 1, "max": 10}, "0", "Must be between 1 and 10 (got 0).", "it must be more than `1`"),
    ("INT", {"min": 1}, "0", "Must be at least 1 (got 0).", "it must be more than `1`"),
    ("INT", {"max": 10}, 11, "Must be at most 10 (got 11).", "it must be less than `10`"),
    ("FLOAT", {"min": 1, "max": 10}, "0.5", "Must be between 1.0 and 10.0 (got 0.5).", "it must be more than `1.0`"),
    ("DURATION", {"min": "PT1M", "max": "PT1H"}, "PT30S", "Must be between PT1M and PT1H (got PT30S).",
     "It must be more than `PT1M`"),
    ("DURATION", {"max": "PT1H"}, "PT2H", "Must be at most PT1H (got PT2H).", "It must be less than `PT1H`"),
])
def test_min_max(type_name, bounds, value, message, detail):
    assert refusal(decl(type_name, **bounds), value) == (
        message, f"Invalid input for `x`, {detail}, but received `{value}`")


def test_min_max_are_inclusive():
    assert coerce_input(decl("INT", min=1, max=10), "10") == 10
    assert coerce_input(decl("DURATION", min="PT1M"), "PT1M") == timedelta(minutes=1)


@pytest.mark.parametrize(("type_name", "bounds", "value", "message", "detail"), [
    ("DATE", {"after": "2024-01-01"}, "2023-12-31", "Must be on or after 2024-01-01 (got 2023-12-31).",
     "it must be after `2024-01-01`"),
    ("DATE", {"before": date(2024, 1, 1)}, "2024-01-02", "Must be on or before 2024-01-01 (got 2024-01-02).",
     "it must be before `2024-01-01`"),
    ("TIME", {"after": "09:00", "before": "17:00"}, "08:59", "Must be between 09:00 and 17:00 (got 08:59).",
     "it must be after `09:00`"),
    ("DATETIME", {"before": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:01Z",
     "Must be on or before 2024-01-01T00:00:00Z (got 2024-01-01T00:00:01Z).",
     "it must be before `2024-01-01T00:00:00Z`"),
])
def test_after_before(type_name, bounds, value, message, detail):
    assert refusal(decl(type_name, **bounds), value) == (
        message, f"Invalid input for `x`, {detail}, but received `{value}`")


def test_string_validator_must_match_the_whole_string():
    declaration = decl("STRING", validator="[a-z]+")
    assert coerce_input(declaration, "abc") == "abc"
    assert refusal(declaration, "abc1") == (
        "Must match the pattern `[a-z]+` (got `abc1`).",
        "Invalid input for `x`, it must match the pattern `[a-z]+`, but received `abc1`",
    )


def test_a_refused_secret_is_not_repeated_for_people():
    message, _kestra = refusal(decl("SECRET", validator="[0-9]{4}"), "hunter2")
    assert message == "Must match the pattern `[0-9]{4}`."


def test_select_out_of_list():
    assert refusal({"id": "year", "type": "SELECT", "values": [2019, 2020]}, "2021") == (
        "Must be one of 2019, 2020 (got `2021`).",
        "Invalid input for `year`, it must match the values `[2019, 2020]`, but received `2021`",
    )


def test_select_custom_values_and_not_required():
    for extra in ({"allowCustomValue": True}, {"allowInput": True}, {"required": False}):
        assert coerce_input(decl("SELECT", values=["a"], **extra), "zzz") == "zzz"


def test_multiselect_checks_each_element():
    declaration = decl("MULTISELECT", options=["a", "b"])
    assert refusal(declaration, '["a", "z"]') == (
        "Must be chosen from a, b (got `z`).",
        'Invalid input for `x`, it must match the values `[a, b]`, but received `["a", "z"]`',
    )
    assert coerce_input({**declaration, "allowCustomValue": True}, ["a", "z"]) == ["a", "z"]


def test_array_bad_element():
    assert refusal(decl("ARRAY", itemType="INT"), '[1, "x"]') == (
        "Item 2: Not a whole number: `x`.",
        'Invalid input for `x`, Unable to parse array element as `INT` on `x`, but received `[1, "x"]`',
    )


def test_array_not_a_list():
    message, kestra = refusal(decl("ARRAY", itemType="STRING"), '{"a": 1}')
    assert message == 'Not a list (like [1, 2] or ["a", "b"]): `{"a": 1}`.'
    assert 'Expected `ARRAY` but received `{"a": 1}`' in kestra


@pytest.mark.parametrize(("type_name", "value", "message", "detail"), [
    ("URI", "not a uri", "Not a URI (like https://example.com/data.csv): `not a uri`.",
     "Expected `URI` but received `not a uri`"),
    ("EMAIL", "nobody", "Not an email address: `nobody`.", "The input must be a valid email"),
])
def test_uri_and_email(type_name, value, message, detail):
    assert refusal(decl(type_name), value) == (message, f"Invalid input for `x`, {detail}, but received `{value}`")


def test_empty_email_is_valid():
    assert coerce_input(decl("EMAIL"), "") == ""


def test_invalid_json_says_why():
    message, kestra = refusal(decl("JSON"), "{oops")
    assert message.startswith("Not valid JSON: `{oops` (Expecting property name") and message.endswith(").")
    assert kestra.startswith("Invalid input for `x`, Expected `JSON` but received `{oops` with errors: Expecting")


def test_a_long_refused_value_is_cut_in_the_message_for_people():
    message, kestra = refusal(decl("INT"), "9" * 100 + "x")
    assert message == "Not a whole number: `" + "9" * 59 + "…`." and "9" * 100 + "x" in kestra


# --- resolution ---------------------------------------------------------------------------

def test_defaults_used_and_supplied_wins():
    declarations = [decl("STRING", id="a", defaults="d"), decl("INT", id="b", defaults=5)]
    assert resolve_inputs(declarations, {"b": "7"}) == {"a": "d", "b": 7}


def test_missing_required():
    assert problems_of([decl("STRING", id="taxi")], {}) == ["taxi: Required."]
    assert kestra_problems_of([decl("STRING", id="taxi")], {}) == [
        "Invalid input for `taxi`, missing required input, but received `null`"
    ]


def test_not_required_missing_is_none_and_undeclared_keys_ignored():
    assert resolve_inputs([decl("STRING", required=False)], {"other": 1}) == {"x": None}
    assert resolve_inputs([], None) == {}


def test_several_problems_at_once():
    declarations = [
        {"id": "year", "type": "SELECT", "values": ["2019", "2020"]},
        {"id": "n", "type": "INT"},
        {"id": "taxi", "type": "STRING"},
    ]
    assert problems_of(declarations, {"year": "2021", "n": "1.5"}) == [
        "year: Must be one of 2019, 2020 (got `2021`).",
        "n: Not a whole number: `1.5`.",
        "taxi: Required.",
    ]
    assert kestra_problems_of(declarations, {"year": "2021", "n": "1.5"}) == [
        "Invalid input for `year`, it must match the values `[2019, 2020]`, but received `2021`",
        "Invalid input for `n`, Expected `INT` but received `1.5`, but received `1.5`",
        "Invalid input for `taxi`, missing required input, but received `null`",
    ]


def test_nested_dotted_ids():
    declarations = [decl("STRING", id="nested.string"), decl("INT", id="nested.int", defaults=1)]
    assert resolve_inputs(declarations, {"nested.string": "s"}) == {"nested": {"string": "s", "int": 1}}


def test_depends_on_condition():
    declarations = [
        {"id": "cloud", "type": "SELECT", "values": ["aws", "gcp"]},
        {"id": "region", "type": "STRING", "defaults": "eu",
         "dependsOn": {"inputs": ["cloud"], "condition": "{{ inputs.cloud == 'aws' }}"}},
    ]
    assert resolve_inputs(declarations, {"cloud": "aws"}, tiny_render) == {"cloud": "aws", "region": "eu"}
    assert resolve_inputs(declarations, {"cloud": "gcp"}, tiny_render) == {"cloud": "gcp"}


def test_depends_on_a_disabled_or_failed_input_disables():
    declarations = [
        {"id": "a", "type": "BOOLEAN", "defaults": False},
        {"id": "b", "type": "STRING", "defaults": "x",
         "dependsOn": {"inputs": ["a"], "condition": "{{ inputs.a }}"}},
        {"id": "c", "type": "STRING", "defaults": "y", "dependsOn": {"inputs": ["b"]}},
    ]
    assert resolve_inputs(declarations, {}, tiny_render) == {"a": False}
    # a later input can be a dependency: it is resolved first
    reordered = [declarations[2], declarations[1], {"id": "a", "type": "INT"}]
    assert problems_of(reordered, {"a": "no"}, tiny_render) == ["a: Not a whole number: `no`."]


def test_without_render_conditions_are_not_evaluated():
    declarations = [{"id": "b", "type": "STRING", "defaults": "{{ inputs.a }}",
                     "dependsOn": {"inputs": [], "condition": "{{ false }}"}}]
    assert resolve_inputs(declarations, {}) == {"b": "{{ inputs.a }}"}


def test_expression_defaults_and_select_expression_are_rendered():
    declarations = [
        {"id": "a", "type": "STRING", "defaults": "hi"},
        {"id": "b", "type": "STRING", "defaults": "{{ inputs.a }}"},
        {"id": "c", "type": "SELECT", "expression": "{{ inputs.choices }}"},
        {"id": "choices", "type": "JSON", "defaults": '["p", "q"]'},
    ]

    def render(template: str, context: dict) -> Any:
        if "choices" in template:
            return json.dumps(["p", "q"])  # a renderer that prints lists as JSON text
        return tiny_render(template, context)

    expected = {"a": "hi", "b": "hi", "c": "q", "choices": ["p", "q"]}
    assert resolve_inputs(declarations, {"c": "q"}, render) == expected
    assert problems_of(declarations, {"c": "z"}, render) == ["c: Must be one of p, q (got `z`)."]
    assert kestra_problems_of(declarations, {"c": "z"}, render) == [
        "Invalid input for `c`, it must match the values `[p, q]`, but received `z`"
    ]


def test_unrendered_expression_accepts_any_value():
    declarations = [{"id": "c", "type": "SELECT", "expression": "{{ kv('X') }}"}]
    assert resolve_inputs(declarations, {"c": "anything"}) == {"c": "anything"}


def test_render_failure_is_reported():
    def broken(template: str, context: dict) -> Any:
        raise RuntimeError("boom")

    declarations = [{"id": "c", "type": "MULTISELECT", "expression": "{{ kv('X') }}"}]
    assert problems_of(declarations, {"c": ["a"]}, broken) == ["c: Cannot render its `expression`: boom."]
    assert kestra_problems_of(declarations, {"c": ["a"]}, broken) == [
        "Invalid input for `c`, Cannot render 'expression'. Cause: boom, but received `{{ kv('X') }}`"
    ]


def test_each_problem_names_its_input_once_and_keeps_kestras_words():
    declarations = [decl("STRING", id="who"), decl("INT", id="n"), decl("STRING", id="ok", defaults="x")]
    with pytest.raises(InputError) as caught:
        resolve_inputs(declarations, {"n": "1.5"})
    assert caught.value.problems == [
        InputProblem("who", "Required.", "Invalid input for `who`, missing required input, but received `null`"),
        InputProblem("n", "Not a whole number: `1.5`.",
                     "Invalid input for `n`, Expected `INT` but received `1.5`, but received `1.5`"),
    ]
    assert str(caught.value) == "who: Required.; n: Not a whole number: `1.5`."
    assert InputError(["not about one input"]).problems == [InputProblem(None, "not about one input")]
    assert str(InputError(["not about one input"])) == "not about one input"


def test_a_refused_secret_input_is_masked_in_both_wordings():
    [problem] = input_problems([decl("SECRET", id="pin", validator="[0-9]{4}")], {"pin": "hunter22"})
    assert "hunter22" not in problem.message and "hunter22" not in problem.kestra
    assert problem.kestra == "Invalid input for `pin`, it must match the pattern `[0-9]{4}`, but received `******`"


def test_unknown_supplied_names_are_errors_with_the_closest_input():
    declarations = [decl("INT", id="age"), decl("STRING", id="name")]
    check_names(declarations, ["age", "name"])
    with pytest.raises(InputError) as caught:
        check_names(declarations, ["agee", "zzz", "age"])
    assert [str(problem) for problem in caught.value.problems] == [
        "agee: Not an input of this flow; did you mean `age`?",
        "zzz: Not an input of this flow (its inputs: age, name).",
    ]
    with pytest.raises(InputError, match=r"x: Not an input of this flow \(it has no inputs\)\."):
        check_names([], ["x"])


def test_missing_inputs_are_required_ones_nothing_gives_a_value():
    declarations = [
        decl("STRING", id="given"), decl("STRING", id="missing"), decl("STRING", id="optional", required=False),
        decl("INT", id="defaulted", defaults=1),
        decl("STRING", id="depends", dependsOn={"inputs": ["given"]}),  # may be disabled: left to resolution
    ]
    assert missing_inputs(declarations, {"given": "a"}) == ["missing"]
    assert missing_inputs(declarations, {"given": "a", "missing": "b"}) == []


def test_input_id_and_is_required():
    assert input_id({"name": "legacy", "type": "STRING"}) == "legacy"
    assert input_id({"id": "new", "name": "old"}) == "new"
    assert is_required({}) is True and is_required({"required": False}) is False


# --- declaration checks ---------------------------------------------------------------------

def checked(text: str) -> list[tuple[str, str]]:
    return check_declarations(yaml.safe_load(text))


def test_valid_declarations_have_no_problems():
    assert checked("""
- {id: taxi, type: SELECT, displayName: Taxi type, values: [yellow, green], defaults: green}
- {id: nested.when, type: DATETIME, defaults: "2024-01-01T00:00:00Z", after: "2020-01-01T00:00:00Z"}
- {name: legacy, type: INT, min: 1, max: 9, required: false}
- {id: list, type: ARRAY, itemType: INT}
- {id: region, type: STRING, dependsOn: {inputs: [taxi], condition: "{{ inputs.taxi == 'green' }}"}}
""") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("- not a map", [("[0]", "an input must be a map with `id` and `type`, got `not a map`")]),
    ("- {type: STRING}", [("[0]", "`id` is required")]),
    ("- {id: _bad, type: STRING}", [("[0].id", "must match \"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$\", got '_bad'")]),
    ("- {id: a}", [("[0]", "`type` is required")]),
    ("- {id: a, type: STRNG}", [("[0].type", "Unknown input type 'STRNG'; did you mean STRING?")]),
    ("- {id: a, type: string}", [("[0].type", "Unknown input type 'string'; did you mean STRING?")]),
    ("- {id: a, type: STRING, default: x}",
     [("[0].default", "Unknown property 'default' for a STRING input; did you mean defaults?")]),
    ("- {id: a, type: STRING, min: 1}", [("[0].min", "Unknown property 'min' for a STRING input")]),
    ("- {id: a, type: INT, min: x}",
     [("[0].min", "must be a valid INT value: Not a whole number: `x`.")]),
    ("- {id: a, type: DURATION, max: 5}",
     [("[0].max", "must be a valid DURATION value: Not an ISO-8601 duration (like PT5M or P1D): `5`.")]),
    ("- {id: a, type: STRING, required: maybe}", [("[0].required", "must be true or false, got `maybe`")]),
    ("- {id: a, type: SELECT, values: a}", [("[0].values", "must be a list of strings, got `a`")]),
    ("- {id: a, type: SELECT}", [("[0]", "a SELECT input needs `values` or `expression`")]),
    ("- {id: a, type: MULTISELECT}", [("[0]", "a MULTISELECT input needs `values` or `expression`")]),
    ("- {id: a, type: ENUM}", [("[0]", "an ENUM input needs `values`")]),
    ("- {id: a, type: ARRAY}", [("[0]", "an ARRAY input needs `itemType`")]),
    ("- {id: a, type: ARRAY, itemType: ARRAY}", [("[0].itemType", "`itemType` cannot be `ARRAY`")]),
    ("- {id: a, type: ARRAY, itemType: INTEGER}",
     [("[0].itemType", "Unknown input type 'INTEGER'; did you mean INT?")]),
    ("- {id: a, type: STRING, validator: '[a-'}",
     [("[0].validator", "'[a-' is not a valid regular expression: unterminated character set at position 3")]),
    ("- {id: a, type: STRING, dependsOn: {input: [b]}}",
     [("[0].dependsOn", "Unknown property 'input' for dependsOn; did you mean inputs?")]),
])
def test_declaration_errors(text, expected):
    assert checked(text) == expected


def test_display_name_at_most_64_characters():
    declarations = [decl("STRING", displayName="x" * 64), decl("STRING", id="y", displayName="x" * 65)]
    assert check_declarations(declarations) == [
        ("[1].displayName", "size must be between 0 and 64 (it has 65 characters)")
    ]


def test_duplicate_ids():
    assert checked("- {id: a, type: STRING}\n- {id: b, type: INT}\n- {name: a, type: INT}") == [
        ("[2].id", "Duplicate input with name [a]")
    ]


def test_dependency_on_a_missing_input():
    assert checked("- {id: x, type: STRING, dependsOn: {inputs: [y]}}") == [
        ("[0].dependsOn.inputs[0]", "Input with id 'x' depends on a non-existent input 'y'.")
    ]


def test_dependency_cycle_reported_for_each_input_in_it():
    assert checked("""
- {id: x, type: STRING, dependsOn: {inputs: [y]}}
- {id: y, type: STRING, dependsOn: {inputs: [x]}}
""") == [
        ("[0].dependsOn.inputs", "Cycle dependency detected for input with id 'x': [x, y]"),
        ("[1].dependsOn.inputs", "Cycle dependency detected for input with id 'y': [y, x]"),
    ]


def test_not_a_list():
    assert check_declarations({"id": "a"}) == [("", "`inputs` must be a list of input maps, got `{'id': 'a'}`")]


def test_yaml_1_1_warnings():
    text = """
- {id: answer, type: STRING, defaults: yes}
- {id: pick, type: SELECT, values: [on, "off", maybe]}
- {id: many, type: MULTISELECT, values: [a, b], defaults: [a, no]}
- {id: flag, type: BOOLEAN, defaults: yes}
- {id: at, type: TIME, defaults: 10:15:30}
"""
    declarations = yaml.safe_load(text)
    warning = "value became a boolean (YAML 1.1 reads yes/no/on/off as booleans); quote it"
    assert declaration_warnings(declarations) == [
        ("[0].defaults", warning),
        ("[1].values[0]", warning),
        ("[2].defaults[1]", warning),
        ("[4].defaults", "value became a number (YAML 1.1 reads an unquoted 10:15:30 in base 60); quote it"),
    ]
    assert check_declarations(declarations) == []
