"""The %%flow input form: widgets per input type, prefill, validation on Execute, fallbacks.

Widgets are built without a kernel (comm's no-op DummyComm), and their trait values asserted.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import ipywidgets as W
import pytest
import yaml

import nb_orchestra
from nb_orchestra.errors import InputError, InputProblem
from nb_orchestra.inputs import resolve_inputs
from nb_orchestra.notebook.form import InputForm

from .conftest import flow_text

UTC = timezone.utc
LOG = [{"id": "log", "type": "io.kestra.plugin.core.log.Log", "message": "hi"}]


def make_flow(*inputs: dict[str, Any]):
    return nb_orchestra.load_flow(flow_text(yaml.safe_dump({"inputs": list(inputs), "tasks": LOG})))


def make_form(*inputs: dict[str, Any], values=None, calls: list | None = None) -> InputForm:
    on_execute = calls.append if calls is not None else None
    return InputForm(make_flow(*inputs), values=values, on_execute=on_execute)


def widget(form: InputForm, ident: str) -> W.Widget:
    return form.fields[ident].control.widget


def errors(form: InputForm, ident: str) -> str:
    return form.fields[ident].error.value


def one(type_name: str, **properties: Any) -> dict[str, Any]:
    return {"id": "x", "type": type_name, **properties}


# --- widget per type, prefill -----------------------------------------------------------

@pytest.mark.parametrize(("declaration", "widget_class", "value"), [
    (one("STRING", defaults="hi"), W.Text, "hi"),
    (one("STRING", defaults="line 1\nline 2"), W.Textarea, "line 1\nline 2"),
    (one("INT", defaults=5), W.IntText, 5),
    (one("INT", defaults=5, min=1, max=10), W.BoundedIntText, 5),
    (one("FLOAT", defaults=1.5), W.FloatText, 1.5),
    (one("FLOAT", defaults=1.5, max=2), W.BoundedFloatText, 1.5),
    (one("BOOLEAN", defaults="true"), W.Checkbox, True),
    (one("BOOL", defaults=False), W.Checkbox, False),
    (one("SELECT", values=["a", "b"], defaults="b"), W.Dropdown, "b"),
    (one("SELECT", values=["a", "b"], isRadio=True, defaults="a"), W.RadioButtons, "a"),
    (one("ENUM", values=["a", "b"], defaults="a"), W.Dropdown, "a"),
    (one("SELECT", values=["a"], allowCustomValue=True, defaults="z"), W.Combobox, "z"),
    (one("SELECT", expression="{{ kv('CHOICES') }}"), W.Combobox, ""),
    (one("MULTISELECT", values=["a", "b", "c"], defaults=["a", "c"]), W.SelectMultiple, ("a", "c")),
    (one("MULTISELECT", values=["a"], allowCustomValue=True, defaults=["z"]), W.TagsInput, ["z"]),
    (one("DATE", defaults="2042-12-03"), W.DatePicker, date(2042, 12, 3)),
    (one("DATETIME", defaults="2042-04-02T06:20:42+02:00"), W.DatetimePicker,
     datetime(2042, 4, 2, 4, 20, 42, tzinfo=UTC)),
    (one("TIME", defaults="10:15:30"), W.TimePicker, time(10, 15, 30)),
    (one("DURATION", defaults="PT90S"), W.Text, "PT1M30S"),
    (one("JSON", defaults={"a": [1]}), W.Textarea, '{\n  "a": [\n    1\n  ]\n}'),
    (one("YAML", defaults={"a": 1}), W.Textarea, "a: 1\n"),
    (one("ARRAY", itemType="INT", defaults=[1, 2]), W.Textarea, "1\n2"),
    (one("SECRET", defaults="s3cret"), W.Password, "s3cret"),
    (one("FILE"), W.FileUpload, ()),
    (one("URI", defaults="https://kestra.io"), W.Text, "https://kestra.io"),
    (one("EMAIL"), W.Text, ""),
])
def test_each_type_gets_its_widget_prefilled_with_the_default(declaration, widget_class, value):
    control = widget(make_form(declaration), "x")
    assert type(control) is widget_class
    assert control.value == value


def test_a_number_without_a_value_starts_as_blank_text_not_zero():
    form = make_form(one("INT"), {"id": "f", "type": "FLOAT", "required": False})
    assert type(widget(form, "x")) is W.Text and widget(form, "x").value == ""
    assert form.values() == {"x": None, "f": None}


def test_bounds_without_the_other_side_use_java_limits():
    control = widget(make_form(one("INT", defaults=5, min=1)), "x")
    assert (control.min, control.max) == (1, 2**31 - 1)


def test_supplied_values_win_over_prefill_and_defaults():
    form = make_form(one("STRING", defaults="d", prefill="p"), {"id": "y", "type": "STRING", "prefill": "p"},
                     values={"x": "given"})
    assert form.values() == {"x": "given", "y": "p"}


def test_select_auto_select_first_and_a_default_outside_the_values_is_left_blank():
    form = make_form(one("SELECT", values=["a", "b"], autoSelectFirst=True),
                     {"id": "y", "type": "SELECT", "values": ["a"], "defaults": "zz"})
    assert widget(form, "x").value == "a"
    assert widget(form, "y").value is None


def test_each_widget_has_its_css_class_and_the_form_its_own():
    form = make_form(one("STRING"), {"id": "nested.name", "type": "INT", "defaults": 1})
    assert "nbo-form" in form.widget._dom_classes
    assert "nbo-input-x" in widget(form, "x")._dom_classes
    assert "nbo-input-nested-name" in widget(form, "nested.name")._dom_classes
    assert "nbo-execute" in form.button._dom_classes and form.button.button_style == "primary"
    assert "nbo-field-error" in form.fields["x"].error._dom_classes


def test_labels_required_marker_and_help_text():
    form = make_form(one("STRING", displayName="Your <name>", description="Who runs it"),
                     {"id": "opt", "type": "STRING", "required": False})
    label, _control, help_text, _error = form.fields["x"].box.children
    assert "Your &lt;name&gt;" in label.value and "nbo-required" in label.value and "STRING" in label.value
    assert "Who runs it" in help_text.value and "nbo-help" in help_text._dom_classes
    opt_label = form.fields["opt"].box.children[0]
    assert "<b>opt</b>" in opt_label.value and "nbo-required" not in opt_label.value
    assert len(form.fields["opt"].box.children) == 3  # no help line without a description


def help_of(form: InputForm, ident: str) -> str:
    return next(child.value for child in form.fields[ident].box.children if "nbo-help" in child._dom_classes)


def test_help_shows_bounds_format_and_default_under_the_field():
    form = make_form(one("INT", min=18, max=99, defaults=30, description="Your age"),
                     {"id": "wait", "type": "DURATION", "min": "PT1M"},
                     {"id": "day", "type": "DATE", "before": "2030-01-01"},
                     {"id": "code", "type": "STRING", "validator": "[A-Z]{3}"},
                     {"id": "nums", "type": "ARRAY", "itemType": "INT"})
    assert help_of(form, "x") == ('<div style="font-size: 0.85em; color: var(--jp-ui-font-color2, #757575)">'
                                  "Your age<br>Must be between 18 and 99. · Default <code>30</code>.</div>")
    assert "Must be at least PT1M. · An ISO-8601 duration: PT30S" in help_of(form, "wait")
    assert "Must be on or before 2030-01-01." in help_of(form, "day")
    assert "Must match the pattern `[A-Z]{3}`." in help_of(form, "code")
    assert "Items of type <code>INT</code>." in help_of(form, "nums")


def test_a_default_that_cannot_be_prefilled_is_named_in_the_help_and_used_when_empty():
    calls: list = []
    form = make_form(one("DATETIME", defaults="{{ now() }}"), calls=calls)
    assert widget(form, "x").value is None
    assert "Left empty: default <code>{{ now() }}</code>" in form.fields["x"].box.children[2].value
    assert form.submit() and calls == [{"x": None}]
    execution = nb_orchestra.run(form.flow, inputs=calls[0])
    assert execution.state == "SUCCESS" and isinstance(execution.inputs["x"], datetime)


# --- Execute: validation and on_execute ---------------------------------------------------

def test_missing_required_input_shows_an_error_under_it_and_does_not_execute():
    calls: list = []
    form = make_form(one("STRING"), {"id": "ok", "type": "STRING", "defaults": "d"}, calls=calls)
    assert form.submit() is False
    assert calls == []
    assert ">Required.</div>" in errors(form, "x")  # the field names its input, its message does not
    assert errors(form, "ok") == ""
    assert "1 problem(s)" in form.status.value


def test_invalid_int_and_select_out_of_values_say_what_is_wrong():
    form = make_form(one("INT"), {"id": "year", "type": "SELECT", "values": [2019, 2020], "defaults": 2021})
    widget(form, "x").value = "1.5"
    assert not form.submit()
    assert "Not a whole number: `1.5`." in errors(form, "x")
    assert "Must be one of 2019, 2020 (got `2021`)." in errors(form, "year")
    assert "2 problem(s)" in form.status.value


def test_int_outside_javas_range_is_an_error():
    form = make_form(one("INT", defaults=1))
    widget(form, "x").value = 2**31
    assert not form.submit() and "Outside the INT range" in errors(form, "x")


def test_error_text_is_escaped():
    form = make_form(one("STRING", validator="[a-z]+"))
    widget(form, "x").value = "<b>"
    assert not form.submit()
    assert "&lt;b&gt;" in errors(form, "x") and "<b>" not in errors(form, "x")


def test_valid_submit_calls_on_execute_with_values_resolve_inputs_accepts():
    calls: list = []
    form = make_form(
        {"id": "user", "type": "STRING"},
        {"id": "count", "type": "INT"},
        {"id": "ratio", "type": "FLOAT", "defaults": 0.5},
        {"id": "flag", "type": "BOOL"},
        {"id": "day", "type": "DATE", "defaults": "2042-12-03"},
        {"id": "at", "type": "TIME", "required": False},
        {"id": "color", "type": "SELECT", "values": ["red", "blue"]},
        calls=calls,
    )
    widget(form, "user").value = "ana"
    widget(form, "count").value = "7"
    widget(form, "flag").value = True
    widget(form, "color").value = "blue"
    widget(form, "at").value = time(8, 30)
    assert form.submit() is True
    assert calls == [form.values()]
    assert resolve_inputs(form.flow.inputs, calls[0]) == {
        "user": "ana", "count": 7, "ratio": 0.5, "flag": True, "day": date(2042, 12, 3),
        "at": time(8, 30), "color": "blue",
    }
    assert "Execution #1" in form.status.value
    assert not form.button.disabled


def test_errors_clear_after_a_good_submit_and_each_execute_calls_again():
    calls: list = []
    form = make_form(one("STRING"), calls=calls)
    form.submit()
    widget(form, "x").value = "a"
    assert errors(form, "x") == ""  # editing a field clears its error
    form.button.click()
    form.button.click()
    assert calls == [{"x": "a"}, {"x": "a"}]
    assert "Execution #2" in form.status.value


def test_an_input_error_from_on_execute_is_shown_like_a_validation_error():
    def refuse(_values: dict) -> None:
        raise InputError([InputProblem("x", "too late"), "the flow is busy"])

    form = InputForm(make_flow(one("STRING", defaults="a")), on_execute=refuse)
    assert form.submit() is False
    assert "too late" in errors(form, "x")
    assert "the flow is busy" in form.status.value
    assert not form.button.disabled


def test_array_lines_become_a_list_parsed_with_item_type():
    calls: list = []
    form = make_form(one("ARRAY", itemType="INT"), calls=calls)
    widget(form, "x").value = "1\n\n 2 \n3"
    assert form.values() == {"x": ["1", "2", "3"]}
    assert form.submit()
    assert resolve_inputs(form.flow.inputs, calls[0]) == {"x": [1, 2, 3]}
    widget(form, "x").value = "1\nnope"
    assert not form.submit() and "Item 2: Not a whole number: `nope`." in errors(form, "x")


def test_array_of_json_items_round_trips_through_the_textarea():
    form = make_form(one("ARRAY", itemType="JSON", defaults=[{"a": 1}, [2]]))
    assert widget(form, "x").value == '{"a": 1}\n[2]'
    assert resolve_inputs(form.flow.inputs, form.values()) == {"x": [{"a": 1}, [2]]}


def test_multiselect_gives_a_list_and_empty_means_no_value():
    form = make_form(one("MULTISELECT", values=["a", "b", "c"]),
                     {"id": "tags", "type": "MULTISELECT", "allowCustomValue": True, "values": ["a"]})
    widget(form, "x").value = ("c", "a")
    widget(form, "tags").value = ["anything"]
    assert form.values() == {"x": ["c", "a"], "tags": ["anything"]}
    assert resolve_inputs(form.flow.inputs, form.values()) == {"x": ["c", "a"], "tags": ["anything"]}
    widget(form, "x").value = ()
    assert form.values()["x"] is None
    assert not form.submit() and "Required." in errors(form, "x")


@pytest.mark.parametrize(("type_name", "good", "typed", "bad", "message"), [
    ("DURATION", "PT5M", timedelta(minutes=5), "5 minutes", "Not an ISO-8601 duration (like PT5M or P1D): "),
    ("JSON", '{"a": 1}', {"a": 1}, "{a: 1", "Not valid JSON: `{a: 1` ("),
    ("YAML", "a: [1, 2]", {"a": [1, 2]}, "a: [1", "Not valid YAML: `a: [1` ("),
    ("URI", "https://kestra.io/x", "https://kestra.io/x", "not a uri", "Not a URI"),
    ("EMAIL", "a@b.io", "a@b.io", "nobody", "Not an email address: `nobody`."),
])
def test_text_typed_inputs_are_validated_on_submit(type_name, good, typed, bad, message):
    calls: list = []
    form = make_form(one(type_name), calls=calls)
    widget(form, "x").value = bad
    assert not form.submit() and message in errors(form, "x")
    widget(form, "x").value = good
    assert form.submit()
    assert resolve_inputs(form.flow.inputs, calls[0]) == {"x": typed}


def test_file_upload_is_saved_under_home_uploads_and_passed_as_a_path(isolated_home):
    calls: list = []
    form = make_form(one("FILE", allowedFileExtensions=[".csv", "txt"]), calls=calls)
    upload = widget(form, "x")
    assert upload.accept == ".csv,.txt" and not upload.multiple
    assert not form.submit() and "Required." in errors(form, "x")
    upload.value = ({"name": "../data.csv", "type": "text/csv", "size": 3, "content": memoryview(b"a,b"),
                     "last_modified": datetime.now(UTC)},)
    path = Path(form.values()["x"])
    assert path.read_bytes() == b"a,b" and path.name == "data.csv"
    assert path.is_relative_to(isolated_home.resolve() / "uploads")
    assert form.submit()
    assert resolve_inputs(form.flow.inputs, calls[0]) == {"x": str(path)}


def test_a_supplied_file_path_is_kept_until_something_is_uploaded(tmp_path):
    existing = tmp_path / "in.txt"
    existing.write_text("x")
    form = make_form(one("FILE"), values={"x": str(existing)})
    assert widget(form, "x").description == "in.txt"
    assert form.values() == {"x": str(existing)}


def test_depends_on_hides_a_field_until_its_dependency_has_a_value():
    form = make_form({"id": "mode", "type": "SELECT", "values": ["fast", "slow"]},
                     {"id": "speed", "type": "INT", "dependsOn": {"inputs": ["mode"]}})
    speed_box = form.fields["speed"].box
    assert speed_box.layout.display == "none"
    widget(form, "mode").value = "fast"
    assert speed_box.layout.display is None
    assert not form.submit() and "Required." in errors(form, "speed")
    widget(form, "mode").value = None
    assert speed_box.layout.display is None  # a field with an error stays visible


# --- display fallbacks --------------------------------------------------------------------

def test_mimebundle_keeps_the_widget_view_and_adds_text_and_html():
    form = make_form({"id": "user", "type": "STRING", "description": "a <b>name</b>"},
                     {"id": "year", "type": "INT", "required": False, "defaults": 2020, "displayName": "Year"})
    bundle = form._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == form.widget.model_id
    assert bundle["text/plain"] == (
        "Input form for tests.test: user (STRING, required), year (INT, optional, default 2020)")
    assert repr(form) == bundle["text/plain"]
    page = bundle["text/html"]
    assert page.startswith("<table") and "tests.test" in page
    assert "<td><code>year</code> (Year)</td><td>INT</td><td>no</td><td><code>2020</code></td>" in page
    assert "a &lt;b&gt;name&lt;/b&gt;" in page


def test_mimebundle_of_a_closed_form_still_has_the_static_fallbacks():
    form = make_form(one("STRING"))
    form.widget.close()
    assert set(form._repr_mimebundle_()) == {"text/plain", "text/html"}
