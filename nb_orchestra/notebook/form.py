"""An ipywidgets form for a flow's inputs, validated the way an execution resolves them.

Each input type has a small builder (``_BUILDERS``) that returns the field's widget and a
``read`` function turning the widget's value into the raw value :func:`resolve_inputs`
accepts. An empty field reads as None, so resolution falls back to ``defaults`` as Kestra
does. Only ipywidgets 8 core widgets are used: no custom JavaScript.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import yaml

from nb_orchestra import expressions
from nb_orchestra.config import settings
from nb_orchestra.errors import InputError, InputProblem
from nb_orchestra.inputs import input_id, is_required, resolve_inputs
from nb_orchestra.inputs.coercion import allowed_values, java_text, must, parse_value

if TYPE_CHECKING:
    from nb_orchestra.api import Flow

_JAVA_INT_MAX = 2**31 - 1
_JAVA_FLOAT_MAX = 3.4028235e38
_MUTED = "color: var(--jp-ui-font-color2, #757575)"
_ERROR = "color: var(--jp-error-color1, #d32f2f)"
# How a value of these types is written, shown under the field.
_FORMATS = {
    "DATETIME": "A date and time, read in UTC.",
    "DURATION": "An ISO-8601 duration: PT30S, PT5M, PT1H30M, P1D.",
    "JSON": "JSON text.",
    "YAML": "YAML text.",
    "URI": "A URI with a scheme and a host.",
}


@dataclass
class _Control:
    """A field's input widget and how to read it for ``resolve_inputs`` (None when empty)."""

    widget: W.ValueWidget
    read: Callable[[], Any]


Builder = Callable[[dict, Any], _Control]


def _typed(type_name: str, raw: Any) -> Any:
    """``raw`` parsed as a ``type_name`` value to prefill a widget; None when it cannot be."""
    if raw is None:
        return None
    try:
        return parse_value(type_name, raw)
    except (ValueError, KeyError):  # a `{{ }}` default, a bad value, an unknown type
        return None


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def _item_text(item: Any) -> str:
    """One list item as a user types it: JSON for maps and lists, Kestra's text otherwise."""
    return json.dumps(item) if isinstance(item, (dict, list)) else java_text(item)


# --- builders: (declaration, prefill value or None) -> _Control -------------------------

def _text(
    display: Callable[[Any], str] = java_text,
    kind: type[W.Text] | type[W.Textarea] | None = None,
    placeholder: str = "",
) -> Builder:
    """A text field passed on as typed; ``kind`` None picks Textarea for a multi-line value."""
    def build(_declaration: dict, initial: Any) -> _Control:
        text = "" if initial is None else display(initial)
        widget_class = kind or (W.Textarea if "\n" in text else W.Text)
        widget = widget_class(value=text, placeholder=placeholder)
        return _Control(widget, lambda: widget.value or None)
    return build


def _number(plain: type[W.ValueWidget], bounded: type[W.ValueWidget], limit: float) -> Builder:
    """IntText/FloatText, Bounded* with ``min``/``max``; a blank Text when nothing is prefilled.

    Number widgets cannot be empty: a 0 shown for a required input without a default would
    run silently, where Kestra asks for a value. So such a field starts as blank text.
    """
    def build(declaration: dict, initial: Any) -> _Control:
        if initial is None:
            return _text(placeholder=str(declaration["type"]).lower())(declaration, None)
        low, high = (_typed(declaration["type"], declaration.get(key)) for key in ("min", "max"))
        if low is None and high is None:
            widget = plain(value=initial)
        else:
            widget = bounded(value=initial, min=-limit if low is None else low, max=limit if high is None else high)
        return _Control(widget, lambda: widget.value)
    return build


def _checkbox(_declaration: dict, initial: Any) -> _Control:
    widget = W.Checkbox(value=bool(initial), indent=False)
    return _Control(widget, lambda: widget.value)


def _picker(widget_class: type[W.ValueWidget], **options: Any) -> Builder:
    """DatePicker / DatetimePicker (UTC-aware values) / TimePicker; they can be empty."""
    def build(_declaration: dict, initial: Any) -> _Control:
        widget = widget_class(value=initial, **options)
        return _Control(widget, lambda: widget.value)
    return build


def _custom_allowed(declaration: dict) -> bool:
    return bool(declaration.get("allowCustomValue") or declaration.get("allowInput"))


def _select(declaration: dict, initial: Any) -> _Control:
    """Dropdown (RadioButtons with ``isRadio``); Combobox for custom values or ``expression``."""
    options = allowed_values(declaration)
    if options is None or _custom_allowed(declaration):
        combo = W.Combobox(options=options or [], value=initial or "", ensure_option=False)
        return _Control(combo, lambda: combo.value or None)
    if initial is None and options and declaration.get("autoSelectFirst"):
        initial = options[0]
    widget_class = W.RadioButtons if declaration.get("isRadio") else W.Dropdown
    widget = widget_class(options=options, value=initial if initial in options else None)
    return _Control(widget, lambda: widget.value)


def _multiselect(declaration: dict, initial: Any) -> _Control:
    """SelectMultiple; TagsInput (any text) for custom values or ``expression``."""
    options = allowed_values(declaration)
    chosen = [java_text(item) for item in initial or []]
    if options is None or _custom_allowed(declaration):
        widget: W.ValueWidget = W.TagsInput(value=chosen, allow_duplicates=False,
                                            placeholder=", ".join(options or []))
    else:
        widget = W.SelectMultiple(options=options, value=[item for item in chosen if item in options])
    return _Control(widget, lambda: list(widget.value) or None)


def _array(_declaration: dict, initial: Any) -> _Control:
    """A Textarea, one item per line (blank lines skipped); ``itemType`` parses each item."""
    widget = W.Textarea(value="\n".join(_item_text(item) for item in initial or []),
                        placeholder="one item per line")

    def read() -> list[str] | None:
        return [line.strip() for line in widget.value.splitlines() if line.strip()] or None
    return _Control(widget, read)


def _save_upload(upload: Mapping[str, Any]) -> str:
    """Write an uploaded file under ``<home>/uploads/<random>/`` and return its absolute path."""
    folder = settings.home / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (Path(str(upload.get("name") or "")).name or "upload")
    path.write_bytes(bytes(upload["content"]))
    return str(path.resolve())


def _file(declaration: dict, initial: Any) -> _Control:
    """FileUpload; the upload is saved to a file whose path is the input's value."""
    extensions = declaration.get("allowedFileExtensions") or []
    accept = ",".join(ext if ext.startswith(".") else f".{ext}" for ext in extensions)
    widget = W.FileUpload(accept=accept, multiple=False,
                          description=Path(initial).name if initial else "Upload")
    saved: list[str] = []

    def save(change: dict) -> None:
        saved[:] = [_save_upload(upload) for upload in change["new"]]
    widget.observe(save, "value")
    return _Control(widget, lambda: saved[0] if saved else initial)


_BUILDERS: dict[str, Builder] = {
    "STRING": _text(),
    "ENUM": _select,
    "SELECT": _select,
    "MULTISELECT": _multiselect,
    "INT": _number(W.IntText, W.BoundedIntText, _JAVA_INT_MAX),
    "FLOAT": _number(W.FloatText, W.BoundedFloatText, _JAVA_FLOAT_MAX),
    "BOOLEAN": _checkbox,
    "BOOL": _checkbox,
    "DATE": _picker(W.DatePicker),
    "DATETIME": _picker(W.DatetimePicker),
    "TIME": _picker(W.TimePicker, step=1),
    "DURATION": _text(placeholder="ISO-8601, e.g. PT5M"),
    "JSON": _text(lambda value: json.dumps(value, indent=2), kind=W.Textarea),
    "YAML": _text(lambda value: yaml.safe_dump(value, sort_keys=False), kind=W.Textarea),
    "ARRAY": _array,
    "SECRET": _text(kind=W.Password),
    "FILE": _file,
    "URI": _text(placeholder="https://…"),
    "EMAIL": _text(placeholder="name@example.com"),
}


# --- one field, the form ---------------------------------------------------------------

class _Field:
    """One input: label, widget, help text and error line in a VBox (class ``nbo-field``)."""

    def __init__(self, declaration: dict, raw: Any):
        self.id = input_id(declaration)
        type_name = str(declaration.get("type"))
        initial = _typed(type_name, raw)
        self.control = _BUILDERS.get(type_name, _BUILDERS["STRING"])(declaration, initial)
        self.control.widget.add_class("nbo-input-" + re.sub(r"[^\w-]", "-", self.id))
        self.depends_on: list[str] = list((declaration.get("dependsOn") or {}).get("inputs") or [])
        self.error = W.HTML("")
        self.error.add_class("nbo-field-error")
        parts = [self._label(declaration, type_name), self.control.widget]
        if help_text := self._help(declaration, prefilled=initial is not None):
            parts.append(help_text)
        self.box = W.VBox([*parts, self.error], layout=W.Layout(margin="0 0 8px 0"))
        self.box.add_class("nbo-field")

    def _label(self, declaration: dict, type_name: str) -> W.HTML:
        name = html.escape(str(declaration.get("displayName") or self.id))
        star = f' <span class="nbo-required" style="{_ERROR}" title="required">*</span>'
        label = W.HTML(f"<b>{name}</b>{star if is_required(declaration) else ''}"
                       f' <small style="{_MUTED}">{html.escape(type_name)}</small>')
        label.add_class("nbo-label")
        return label

    @staticmethod
    def _help(declaration: dict, prefilled: bool) -> W.HTML | None:
        """The description, then hints on one line: the bounds (``min``/``max``, ``after``/``before``,
        ``validator``), how the type is written, item type and file extensions, the default."""
        lines = [html.escape(str(declaration["description"])).replace("\n", "<br>")] \
            if declaration.get("description") else []
        hints = [html.escape(f"Must {rule}.") for rule in [must(declaration)] if rule]
        type_name = str(declaration.get("type"))
        if type_name in _FORMATS:
            hints.append(html.escape(_FORMATS[type_name]))
        if declaration.get("itemType"):
            hints.append("Items of type " + _code(str(declaration["itemType"])) + ".")
        if declaration.get("allowedFileExtensions"):
            hints.append("Files: " + html.escape(", ".join(map(str, declaration["allowedFileExtensions"]))) + ".")
        if declaration.get("defaults") is not None:
            default = _code(java_text(declaration["defaults"]))
            hints.append(f"Default {default}." if prefilled else f"Left empty: default {default}.")
        lines += [" · ".join(hints)] if hints else []
        if not lines:
            return None
        help_text = W.HTML(f'<div style="font-size: 0.85em; {_MUTED}">{"<br>".join(lines)}</div>')
        help_text.add_class("nbo-help")
        return help_text

    def show_errors(self, problems: list[InputProblem]) -> None:
        """Each problem in red under the field (which names the input already)."""
        self.error.value = "".join(f'<div style="{_ERROR}">{html.escape(p.message)}</div>' for p in problems)


class InputForm:
    """ipywidgets form for a flow's inputs; each Execute validates, then calls ``on_execute``."""

    def __init__(
        self,
        flow: Flow,
        values: Mapping[str, Any] | None = None,
        on_execute: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.flow = flow
        self.on_execute = on_execute
        supplied = values or {}
        self.fields: dict[str, _Field] = {}
        for declaration in flow.inputs:
            ident = input_id(declaration)
            candidates = (supplied.get(ident), declaration.get("prefill"), declaration.get("defaults"))
            raw = next((value for value in candidates if value is not None), None)
            self.fields[ident] = field = _Field(declaration, raw)
            field.control.widget.observe(lambda _change, field=field: self._changed(field), "value")
        self.button = W.Button(description="Execute", button_style="primary", icon="play")
        self.button.add_class("nbo-execute")
        self.button.on_click(lambda _button: self.submit())
        self.status = W.HTML("")
        self.status.add_class("nbo-status")
        title = W.HTML(f"<b>{html.escape(self._name)}</b> inputs")
        self.widget = W.VBox([title, *(f.box for f in self.fields.values()), self.button, self.status])
        self.widget.add_class("nbo-form")
        self._executions = 0
        self._refresh_visibility()

    @property
    def _name(self) -> str:
        return f"{self.flow.namespace}.{self.flow.id}"

    def values(self) -> dict[str, Any]:
        """Current raw values keyed by input id; None for an empty field."""
        return {ident: field.control.read() for ident, field in self.fields.items()}

    def submit(self) -> bool:
        """Validate as an execution would; on success call ``on_execute(values)``.

        Problems go in red under their fields (and the status line); nothing is called then.
        An InputError raised by ``on_execute`` is shown the same way.
        """
        values = self.values()
        try:
            resolve_inputs(self.flow.inputs, values, render=self._render)
        except InputError as exc:
            self._show_problems(exc.problems)
            return False
        self._show_problems([])
        self._executions += 1
        number = self._executions
        if self.on_execute is not None:
            self.status.value = f"Starting execution #{number}…"
            self.button.disabled = True
            try:
                self.on_execute(values)
            except InputError as exc:
                self._show_problems(exc.problems)
                return False
            finally:
                self.button.disabled = False
        self.status.value = f"Execution #{number} submitted. Change values and Execute again for another."
        return True

    def _render(self, template: str, context: dict[str, Any]) -> Any:
        """Conditions, expressions and ``{{ }}`` defaults, rendered as the engine renders them."""
        flow_vars = {"id": self.flow.id, "namespace": self.flow.namespace, "revision": self.flow.revision}
        return expressions.render_typed(template, {**context, "flow": flow_vars})

    def _show_problems(self, problems: list[InputProblem]) -> None:
        placed: dict[str, list[InputProblem]] = {}
        unplaced: list[InputProblem] = []
        for problem in problems:
            if problem.input_id in self.fields:
                placed.setdefault(problem.input_id, []).append(problem)
            else:
                unplaced.append(problem)
        for ident, field in self.fields.items():
            field.show_errors(placed.get(ident, []))
        self._refresh_visibility()
        if not problems:
            self.status.value = ""
            return
        summary = f"{len(problems)} problem(s) with the inputs; see the fields marked in red."
        self.status.value = "<br>".join(f'<span style="{_ERROR}">{html.escape(str(line))}</span>'
                                        for line in [summary, *unplaced])

    def _changed(self, field: _Field) -> None:
        """An edited field loses its error; fields depending on it may appear or hide."""
        field.show_errors([])
        self._refresh_visibility()

    def _refresh_visibility(self) -> None:
        """Hide a field (without an error) while one of its ``dependsOn`` inputs has no value."""
        for field in self.fields.values():
            waiting = any(self.fields[d].control.read() is None for d in field.depends_on if d in self.fields)
            field.box.layout.display = "none" if waiting and not field.error.value else None

    # --- display ------------------------------------------------------------------------

    def _describe(self, declaration: dict) -> str:
        parts = [str(declaration.get("type")), "required" if is_required(declaration) else "optional"]
        if declaration.get("defaults") is not None:
            parts.append(f"default {java_text(declaration['defaults'])}")
        return f"{input_id(declaration)} ({', '.join(parts)})"

    def _text_summary(self) -> str:
        described = ", ".join(self._describe(d) for d in self.flow.inputs) or "no inputs"
        return f"Input form for {self._name}: {described}"

    def _html_table(self) -> str:
        """A static table of the inputs, for nbconvert, GitHub and notebooks without a kernel."""
        rows = []
        for declaration in self.flow.inputs:
            default, display_name = declaration.get("defaults"), declaration.get("displayName")
            cells = [
                _code(input_id(declaration)) + (f" ({html.escape(str(display_name))})" if display_name else ""),
                html.escape(str(declaration.get("type"))),
                "yes" if is_required(declaration) else "no",
                "" if default is None else _code(java_text(default)),
                html.escape(str(declaration.get("description") or "")),
            ]
            rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("Input", "Type", "Required", "Default", "Description"))
        return (f'<table class="nbo-form-static"><caption>Input form for <b>{html.escape(self._name)}</b>'
                f" (a live form needs a running kernel)</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget view, plus a text/plain summary and a static text/html table."""
        widget_repr = getattr(self.widget, "_repr_mimebundle_", None)  # None once closed
        bundle = dict(widget_repr(**kwargs) or {}) if callable(widget_repr) else {}
        bundle.update({"text/plain": self._text_summary(), "text/html": self._html_table()})
        return bundle

    def __repr__(self) -> str:
        return self._text_summary()
