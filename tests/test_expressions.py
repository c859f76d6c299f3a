"""Kestra (Pebble) expression semantics on the sandboxed Jinja2 engine."""

from __future__ import annotations

import base64
import threading
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions import is_truthy, render, render_typed, render_value, to_text
from nb_orchestra.expressions.environment import compile_template
from nb_orchestra.expressions.pebble import translate


@pytest.fixture
def ctx() -> dict:
    return {
        "flow": {"id": "demo", "namespace": "company.team"},
        "inputs": {"user": "bob", "taxi": "green", "opt": None, "cols": ["brand", "price"], "n": 7},
        "outputs": {
            "my-task": {"value": "hyphen"},
            "make_data": {"values": {"data": 42}},
            "items": {"keys": "k", "items": "i", "get": "g"},
        },
        "vars": {"a": "{{ inputs.user }}", "b": "{{ vars.a }}-y"},
    }


def r(template: str, context: dict | None = None) -> str:
    return render(template, context or {})


# ----------------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (["a", "b"], '["a","b"]'),
        ({"k": 1}, '{"k":1}'),
        (("x", 1), '["x",1]'),
        ({"é": "ü"}, '{"é":"ü"}'),
        ({"d": date(2013, 10, 25), "n": None, "b": False}, '{"d":"2013-10-25","n":null,"b":false}'),
        (True, "true"),
        (False, "false"),
        (None, ""),
        (date(2013, 10, 25), "2013-10-25"),
        (time(14, 19), "14:19"),
        (time(14, 19, 5), "14:19:05"),
        (timedelta(minutes=5, seconds=6), "PT5M6S"),
        (1.0, "1.0"),
        (3.65, "3.65"),
        (1e10, "1.0E10"),
        (12345678.0, "1.2345678E7"),
        (1e-5, "1.0E-5"),
        (0.001, "0.001"),
        (-2.5e-7, "-2.5E-7"),
        (42, "42"),
        (Decimal("1.50"), "1.50"),
        (Decimal("1E+3"), "1000"),
        ({"big": 1e16}, '{"big":1.0E16}'),
        ("text", "text"),
    ],
)
def test_to_text(value, text):
    assert to_text(value) == text


def test_to_text_datetime():
    moment = datetime(2024, 7, 9, 6, 17, 1, 171193, tzinfo=timezone.utc)
    assert to_text(moment) == "2024-07-09T06:17:01.171193Z"
    assert to_text({"at": moment}) == '{"at":"2024-07-09T06:17:01.171193Z"}'


def test_printing_in_templates(ctx):
    assert r("{{ inputs.cols }}", ctx) == '["brand","price"]'
    assert r("{{ {'k': 1} }}", ctx) == '{"k":1}'
    assert r("{{ 1 == 2 }}|{{ true }}", ctx) == "false|true"
    assert r("[{{ inputs.opt }}]", ctx) == "[]"
    assert r("{{ 7 / 2.0 }} {{ 2.0 * 3 }}", ctx) == "3.5 6.0"


# ----------------------------------------------------------------------------- rendering basics


def test_fast_path_returns_the_same_object():
    text = "no braces here"
    assert render(text, {}) is text
    assert render_typed(text, {}) is text


def test_trailing_newline_and_block_newlines_are_kept():
    assert r("a\n") == "a\n"
    assert r("{% if true %}\nx\n{% endif %}\n") == "\nx\n\n"


def test_whitespace_control():
    assert r("a  {{- 'b' -}}  c") == "abc"


def test_render_typed(ctx):
    assert render_typed(" {{ inputs.cols }} ", ctx) == ["brand", "price"]
    assert render_typed("{{ 1 + 2 }}", ctx) == 3
    assert render_typed("{{ inputs.opt }}", ctx) is None
    assert render_typed("{{ 1 == 1 }}", ctx) is True
    assert render_typed("{{ {'a': [1]} }}", ctx) == {"a": [1]}
    assert render_typed("n={{ inputs.n }}", ctx) == "n=7"
    assert render_typed("{{ inputs.n }}{{ inputs.n }}", ctx) == "77"


def test_render_typed_raises_on_undefined(ctx):
    expected = r"Unable to find `nope` used in the expression `\{\{ inputs.nope \}\}` at line 1"
    with pytest.raises(TemplateError, match=expected):
        render_typed("{{ inputs.nope }}", ctx)


def test_render_value(ctx):
    value = {"{{ inputs.user }}": ["{{ inputs.n }}", 3, {"x": "{{ inputs.taxi }}"}], "n": None}
    assert render_value(value, ctx) == {"bob": ["7", 3, {"x": "green"}], "n": None}
    assert render_value({"k": "{{ inputs.n }}"}, ctx, typed=True) == {"k": 7}
    assert render_value(5, ctx) == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("false", False), ("0", False), ("-0", False), (" false \n", False),
     (False, False), (0, False), ("False", True), ("true", True), ("no", True), (True, True), (1, True),
     ("0.0", True), ([], True)],
)
def test_is_truthy(value, expected):
    assert is_truthy(value) is expected


# ----------------------------------------------------------------------------- strict undefined


def test_undefined_root_and_key_raise(ctx):
    with pytest.raises(TemplateError) as err:
        r("{{ inputs.nope }}", ctx)
    assert str(err.value) == "Unable to find `nope` used in the expression `{{ inputs.nope }}` at line 1"
    with pytest.raises(TemplateError, match="Unable to find `foo`"):
        r("{{ foo }}", ctx)
    with pytest.raises(TemplateError, match="Unable to find `x`"):
        r("{{ inputs.opt.x }}", ctx)


def test_undefined_raises_in_operations(ctx):
    for template in ("{{ inputs.nope | upper }}", "{{ inputs.nope ~ 'a' }}", "{{ inputs.nope + 1 }}",
                     "{% if inputs.nope %}x{% endif %}", "{% for x in inputs.nope %}{% endfor %}",
                     "{{ inputs.nope == 1 }}", "{{ inputs.nope | length }}", "{{ inputs.nope < 1 }}"):
        with pytest.raises(TemplateError, match="Unable to find `nope`"):
            r(template, ctx)


def test_undefined_escape_hatches(ctx):
    assert r("{{ inputs.nope ?? 'a' }}", ctx) == "a"
    assert r("{{ inputs.nope.deeper.still ?? 'a' }}", ctx) == "a"
    assert r("{{ inputs.opt ?? 'a' }}", ctx) == "a"
    assert r("{{ inputs.nope ??? 'a' }}", ctx) == "a"
    assert r("[{{ inputs.opt ??? 'a' }}]", ctx) == "[]"
    assert r("{{ inputs.nope | default('d') }}", ctx) == "d"
    defined = "{{ inputs.nope is defined }} {{ inputs.user is defined }} {{ inputs.nope.x is not defined }}"
    assert r(defined, ctx) == "false true true"
    nulls = "{{ inputs.nope is null }} {{ inputs.opt is null }} {{ inputs.user is not null }}"
    assert r(nulls, ctx) == "true true true"
    assert r("{{ inputs.nope is empty }}", ctx) == "true"


def test_error_line_and_expression(ctx):
    with pytest.raises(TemplateError) as err:
        r("line one\n\nok {{ inputs.user }} {{ inputs.zz | upper }}", ctx)
    assert str(err.value) == "Unable to find `zz` used in the expression `{{ inputs.zz | upper }}` at line 3"
    with pytest.raises(TemplateError, match="at line 4"):
        r("{{ inputs.user\n}}\n{% if true %}\n{{ inputs.zz }}{% endif %}", ctx)


def test_error_line_after_raw_block_and_multiline_tags(ctx):
    template = "{% raw %}\n{{ a }}\n{% endraw %}\n{{\n inputs.user\n}}\n{% if true\n %}{{ inputs.zz }}{% endif %}"
    with pytest.raises(TemplateError, match=r"`\{\{ inputs.zz \}\}` at line 8"):
        r(template, ctx)


def test_script_like_template(ctx):
    script = "import json\ndata = {'a': 1}\nprint(f\"{data}\")\nuser = '{{ inputs.user }}'\n"
    assert r(script, ctx) == "import json\ndata = {'a': 1}\nprint(f\"{data}\")\nuser = 'bob'\n"


def test_hyphenated_id_hint(ctx):
    with pytest.raises(TemplateError) as err:
        r("{{ outputs.my-task.value }}", ctx)
    message = str(err.value)
    assert "`{{ outputs.my-task.value }}`" in message
    assert "outputs['my-task'].value" in message
    assert r("{{ outputs['my-task'].value }}", ctx) == "hyphen"


def test_errors_are_template_errors_with_cause(ctx):
    with pytest.raises(TemplateError) as err:
        r("{{ 1 / 0 }}", ctx)
    assert str(err.value) == "Error in the expression `{{ 1 / 0 }}` at line 1: / by zero"
    assert isinstance(err.value.__cause__, ZeroDivisionError)


@pytest.mark.parametrize("template", ["{{ 1 + }}", "{{ (1 }}", "{{ 'abc }}", "{% if %}x{% endif %}",
                                      "{{ x | nosuchfilter }}", "{% with a = 1 %}{% endwith %}", "{{ }}"])
def test_syntax_errors(template):
    with pytest.raises(TemplateError, match="Syntax error in the expression"):
        r(template)


def test_syntax_error_message():
    with pytest.raises(TemplateError) as err:
        r("{{ 1 + }}")
    assert str(err.value).startswith("Syntax error in the expression `{{ 1 + }}`: ")


# ----------------------------------------------------------------------------- attribute lookup and sandbox


def test_mapping_keys_before_attributes(ctx):
    assert r("{{ outputs.make_data.values.data }}", ctx) == "42"
    assert r("{{ outputs.items.keys }}{{ outputs.items.items }}{{ outputs.items.get }}", ctx) == "kig"
    assert r("{{ inputs.cols[1] }} {{ inputs['user'] }}", ctx) == "price bob"


def test_dict_methods_are_not_reachable(ctx):
    with pytest.raises(TemplateError, match="Unable to find `keys`"):
        r("{{ inputs.keys() }}", ctx)


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__ }}", "{{ inputs.__dict__ }}", "{{ cycler.__init__.__globals__ }}",
     "{{ [].__class__.__base__.__subclasses__() }}", "{{ self }}", "{{ self._TemplateReference__context }}",
     "{{ lipsum.__globals__ }}", "{{ joiner }}", "{{ namespace }}", "{{ dict }}", "{{ inputs.cols.append(1) }}",
     "{{ _runtime }}", "{{ inputs.user.__class__.__mro__ }}", "{{ inputs | attr('__class__') }}"],
)
def test_sandbox_escapes_are_refused(ctx, template):
    ctx["_runtime"] = object()
    with pytest.raises(TemplateError):
        r(template, ctx)


def test_runtime_is_not_a_variable(ctx):
    ctx["_runtime"] = object()
    with pytest.raises(TemplateError, match="Unable to find `_runtime`"):
        r("{{ _runtime }}", ctx)
    with pytest.raises(TemplateError, match="cannot be assigned"):
        r("{% set _runtime = 1 %}", ctx)


# ----------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 7 / 2 }}", "3"),
        ("{{ -7 / 2 }}", "-3"),
        ("{{ 7 / -2 }}", "-3"),
        ("{{ 7 / 2.0 }}", "3.5"),
        ("{{ 7 % 3 }}", "1"),
        ("{{ -7 % 3 }}", "-1"),
        ("{{ 7 % -3 }}", "1"),
        ("{{ 'a' + 1 }}", "a1"),
        ("{{ 1 + 'a' }}", "1a"),
        ("{{ 'a' + null }}", "anull"),
        ("{{ 1 + 2 * 3 }}", "7"),
        ("{{ (1 + 2) * 3 }}", "9"),
        ("{{ 10 - 2 - 3 }}", "5"),
        ("{{ [1] + 2 }}", "[1,2]"),
        ("{{ [1] + [2, 3] }}", "[1,2,3]"),
        ("{{ 1 == 1.0 }}", "true"),
        ("{{ '1' == 1 }}", "false"),
        ("{{ true == 1 }}", "false"),
        ("{{ 1 equals 1 }}", "true"),
        ("{{ 1 != 2 }}", "true"),
        ("{{ null == null }}", "true"),
        ("{{ 2 > 1 and 1 >= 1 }}", "true"),
        ("{{ 1 < 0 or 0 <= -1 }}", "false"),
        ("{{ 'x' and 'y' }}", "true"),
        ("{{ 'a' ~ 'b' | upper }}", "AB"),
        ("{{ 'a' ~ 1 ~ null ~ true }}", "a1true"),
        ("{{ 'l' ~ [1, 'a'] ~ {'k': 1} }}", "l[1, a]{k=1}"),
        ("{{ 1 + 2 | abs }}", "3"),
        ("{{ not true == false }}", "true"),
        ("{{ not 1 == 2 }}", "false"),
        ("{{ -2 * 3 }}", "-6"),
        ("{{ 1..3 }}", "[1,2,3]"),
        ("{{ 1..3 | length }}", "3"),
        ("{% for i in 0..2 %}{{ i }}{% endfor %}", "012"),
    ],
)
def test_operators(template, expected):
    assert r(template) == expected


def test_not_binds_tightest(ctx):
    # Pebble: (not 1) == 2 -> false == 2 -> false; Jinja2 alone would say not (1 == 2) -> true
    assert r("{{ not inputs.n == 7 }}", ctx) == "false"


def test_contains():
    assert r("{{ [1, 2] contains 1 }} {{ [1, 2] contains 3 }}") == "true false"
    assert r("{{ {'a': 1} contains 'a' }} {{ {'a': 1} contains 'b' }}") == "true false"
    assert r("{{ 'abc' contains 'bc' }} {{ 'abc' contains 'x' }}") == "true false"
    assert r("{{ [1, 2, 3] contains [1, 3] }} {{ [1, 2] contains [1, 4] }}") == "true false"
    assert r("{{ ['a'] contains 'a' and true }}") == "true"


def test_coalescing(ctx):
    assert r("{{ nope ?? also_nope ?? 'c' }}", ctx) == "c"
    assert r("{{ inputs.user ?? 'x' }}", ctx) == "bob"
    assert r("{{ inputs.opt ?? inputs.nope ?? inputs.taxi }}", ctx) == "green"
    assert r("{{ nope ?? inputs.user | upper }}", ctx) == "BOB"
    assert r("{{ nope ??? inputs.opt ?? 'z' }}", ctx) == "z"
    with pytest.raises(TemplateError, match="Unable to find `raise`"):
        r("{{ nope ?? raise }}", ctx)


def test_coalescing_does_not_evaluate_the_unused_side(ctx):
    assert r("{{ inputs.user ?? (inputs.nope | upper) }}", ctx) == "bob"
    assert r("{{ true ? 'a' : (inputs.nope | upper) }}", ctx) == "a"


def test_ternary(ctx):
    assert r("{{ true ? 'y' : 'n' }}{{ false ? 'y' : 'n' }}") == "yn"
    assert r("{{ inputs.n > 5 ? 'big' : 'small' }}", ctx) == "big"
    assert r("{{ false ? 1 : true ? 2 : 3 }}") == "2"
    assert r("{{ 1 == 1 ? 'a' ~ 'b' : 'c' }}") == "ab"


def test_null_literal(ctx):
    assert r("{{ inputs.opt == null }} {{ inputs.user == null }} {{ null }}|{{ none }}", ctx) == "true false |"


def test_strings_are_not_mangled():
    assert r("{{ 'a ? b : c' }}") == "a ? b : c"
    assert r("{{ 'x..y ?? z' ~ \"contains\" }}") == "x..y ?? zcontains"
    assert r("{{ 'it\\'s' }}") == "it's"
    assert r("{{ '}}' }}") == "}}"
    assert r("{{ {'a': {'b': 1}} }}") == '{"a":{"b":1}}'


def test_string_interpolation(ctx):
    assert r('{{ "hello #{inputs.user}!" }}', ctx) == "hello bob!"
    assert r('{{ "n=#{inputs.n + 1} #{ {\'a\': 1}.a }" }}', ctx) == "n=8 1"
    assert r("{{ 'no #{interpolation}' }}", ctx) == "no #{interpolation}"


# ----------------------------------------------------------------------------- tags


def test_if_elseif_else(ctx):
    template = "{% if inputs.n > 10 %}a{% elseif inputs.n > 5 %}b{% else %}c{% endif %}"
    assert r(template, ctx) == "b"


def test_for_loop_index_is_zero_based():
    assert r("{% for i in [10, 20] %}{{ loop.index }}{% endfor %}") == "01"
    template = ("{% for i in ['a', 'b', 'c'] %}"
                "{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }},{% endfor %}")
    assert r(template) == "2truefalse3,1falsefalse3,0falsetrue3,"


def test_for_loop_over_map_yields_entries():
    assert r("{% for e in {'a': 1, 'b': 2} %}{{ e.key }}={{ e.value }};{% endfor %}") == "a=1;b=2;"


def test_for_else_and_null():
    assert r("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty"
    assert r("{% for x in null %}x{% else %}empty{% endfor %}") == "empty"


def test_set_filter_macro():
    assert r("{% set x = 1 + 2 %}{{ x }}") == "3"
    assert r("{% filter upper %}abc{% endfilter %}") == "ABC"
    assert r("{% macro hi(name='you') %}hi {{ name }}{% endmacro %}{{ hi() }} {{ hi('bob') }}") == "hi you hi bob"


def test_raw_and_verbatim_are_untouched():
    assert r("{% raw %}{{ x ?? y }} {% if %}{% endraw %}") == "{{ x ?? y }} {% if %}"
    assert r("{% verbatim %}{{ a..b }}{% endverbatim %}!") == "{{ a..b }}!"
    assert translate("{% raw %}{{ 'a' ? }}{% endraw %}").source == "{% raw %}{{ 'a' ? }}{% endraw %}"


def test_comments():
    assert r("a{# {{ nope }} #}b") == "ab"


# ----------------------------------------------------------------------------- tests (is)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 2 is even }}{{ 3 is even }}", "truefalse"),
        ("{{ 3 is odd }}{{ 2 is odd }}", "truefalse"),
        ("{{ [1] is iterable }}{{ 'a' is iterable }}{{ {'a': 1} is iterable }}", "truefalsefalse"),
        ("{{ {'a': 1} is map }}{{ [1] is map }}", "truefalse"),
        ("{{ '{\"a\": 1}' is json }}{{ 'nope' is json }}", "truefalse"),
        ("{{ '' is empty }}{{ '  ' is empty }}{{ [] is empty }}{{ {} is empty }}{{ null is empty }}{{ 'a' is empty }}",
         "truetruetruetruetruefalse"),
        ("{{ 1 is not null }}{{ 1 is not empty }}", "truetrue"),
    ],
)
def test_is_tests(template, expected):
    assert r(template) == expected


# ----------------------------------------------------------------------------- functions


def test_render_function_classic(ctx):
    ctx["inputs"]["x"] = "X"
    ctx["vars"] = {"a": "{{ inputs.x }}", "b": "{{ vars.a }}-y"}
    assert r("{{ vars.b }}", ctx) == "{{ vars.a }}-y"
    assert r("{{ render(vars.b) }}", ctx) == "X-y"
    assert r("{{ renderOnce(vars.b) }}", ctx) == "{{ inputs.x }}-y"
    assert r("{{ render(vars.b, recursive=false) }}", ctx) == "{{ inputs.x }}-y"


def test_render_function_maps_lists_and_scope(ctx):
    ctx["vars"]["m"] = {"{{ inputs.taxi }}": ["{{ inputs.user }}", 1]}
    assert r("{{ render(vars.m) }}", ctx) == '{"green":["bob",1]}'
    assert r("{% set s = 'S' %}{{ render('{{ s }}') }}", ctx) == "S"
    assert r("{% for i in [1, 2] %}{{ render('{{ i }}{{ loop.index }}') }}{% endfor %}", ctx) == "1021"


def test_render_function_keeps_raw_blocks(ctx):
    ctx["vars"]["r"] = "{% raw %}{{ keep }}{% endraw %} {{ vars.a }}"
    assert r("{{ render(vars.r) }}", ctx) == "{{ keep }} bob"


def test_render_function_limits_passes(ctx):
    ctx["vars"]["loop"] = "{{ vars.loop }}x"
    with pytest.raises(TemplateError, match="Too many rendering attempts"):
        r("{{ render(vars.loop) }}", ctx)


def test_render_function_errors_name_both_expressions(ctx):
    with pytest.raises(TemplateError) as err:
        r("{{ render('{{ nope }}') }}", ctx)
    assert "`{{ render('{{ nope }}') }}`" in str(err.value)
    assert "Unable to find `nope` used in the expression `{{ nope }}`" in str(err.value)


class FakeRuntime:
    def __init__(self):
        self.calls = []

    def kv(self, namespace, key, error_on_missing, inherit=False):
        self.calls.append((namespace, key, error_on_missing))
        return {"stored": [1, 2]}

    def secret(self, name):
        return f"secret-{name}"

    def read(self, uri, namespace=None):
        return f"content of {uri}"


def test_kv(ctx):
    runtime = FakeRuntime()
    ctx["_runtime"] = runtime
    assert r("{{ kv('k') }}", ctx) == '{"stored":[1,2]}'
    assert r("{{ kv('k', 'other.ns', false).stored[1] }}", ctx) == "2"
    assert r("{{ kv('k', namespace='x', errorOnMissing=false) | length }}", ctx) == "1"
    assert runtime.calls == [("company.team", "k", True), ("other.ns", "k", False), ("x", "k", False)]
    assert render_typed("{{ kv('k') }}", ctx) == {"stored": [1, 2]}


def test_kv_without_runtime(ctx):
    with pytest.raises(TemplateError, match=r"kv\(\) needs a running flow"):
        r("{{ kv('k') }}", ctx)


def test_secret_and_read_with_runtime(ctx):
    ctx["_runtime"] = FakeRuntime()
    assert r("{{ secret('TOKEN') }}|{{ read('kestra:///f.txt') }}", ctx) == "secret-TOKEN|content of kestra:///f.txt"


def test_secret_from_environment(monkeypatch):
    monkeypatch.setenv("SECRET_MY_TOKEN", base64.b64encode("s3cr€t".encode()).decode())
    assert r("{{ secret('MY_TOKEN') }}") == "s3cr€t"
    monkeypatch.delenv("SECRET_MY_TOKEN")
    with pytest.raises(TemplateError, match="SECRET_MY_TOKEN"):
        r("{{ secret('MY_TOKEN') }}")


def test_read_without_runtime():
    with pytest.raises(TemplateError, match=r"read\(\) needs a running flow"):
        r("{{ read('kestra:///x') }}")


# ----------------------------------------------------------------------------- filters and dates of the other module


def test_kestra_filters_and_dates_combined(ctx):
    ctx["trigger"] = {"date": datetime(2019, 3, 1, 9, tzinfo=timezone.utc)}
    ctx["execution"] = {"startDate": datetime(2024, 7, 9, 6, 17, 1, 171193, tzinfo=timezone.utc)}
    template = "{{ inputs.taxi ~ '_tripdata_' ~ (trigger.date | date('yyyy-MM')) ~ '.csv' }}"
    assert r(template, ctx) == "green_tripdata_2019-03.csv"
    assert r("{{ trigger.date ?? execution.startDate | date('yyyy-MM-dd') }}", ctx) == "2019-03-01"
    assert r("{{ nope ?? execution.startDate | date('yyyy-MM-dd') }}", ctx) == "2024-07-09"
    assert r("{{ execution.startDate }}", ctx) == "2024-07-09T06:17:01.171193Z"
    assert r("{{ '' | default('x') }} {{ nope | default('y') }}", ctx) == "x y"
    assert r("{{ 'a.b' | split('\\\\.') | last }}", ctx) == "b"
    assert r("{{ fromJson('{\"a\": [1]}').a }}", ctx) == "[1]"
    with pytest.raises(TemplateError, match="Unable to find `trigger`"):
        r("{{ trigger.date | date('yyyy-MM') }}", {"inputs": {}})


# ----------------------------------------------------------------------------- caching and threads


def test_templates_are_compiled_once():
    source = "cache {{ 'probe' }} test"
    assert compile_template(source) is compile_template(source)


def test_concurrent_renders(ctx):
    errors = []

    def work(n: int) -> None:
        local = {**ctx, "inputs": {**ctx["inputs"], "n": n}}
        for _ in range(200):
            if render("{{ inputs.n * 2 }}-{% for i in 0..2 %}{{ loop.index }}{% endfor %}", local) != f"{n * 2}-012":
                errors.append(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
