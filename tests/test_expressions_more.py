"""More of Kestra's expression language: yaml/toIon/fromIon, id, printContext, fileExists, randomPort,
blocks, raw blocks, dynamic keys that are undefined, zoned date-times and the quarter pattern letter.

Expected values come from Kestra's Pebble tests (core/src/test/java/io/kestra/core/runners/pebble/).
"""

from __future__ import annotations

import json
import re
import socket
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions import render, render_typed
from nb_orchestra.expressions.formats import from_ion, to_ion, to_yaml

PLUS_TWO = timezone(timedelta(hours=2))
ZONED = datetime(2013, 9, 8, 16, 19, tzinfo=PLUS_TWO)  # ZonedDateTime.parse("2013-09-08T16:19:00+02")
SECOND = {
    "string": "string",
    "int": 1,
    "float": 1.123,
    "list": ["string", 1, 1.123],
    "bool": True,
    "date": ZONED,
    "map": {"string": "string", "int": 1, "float": 1.123},
}
VARS = {"vars": {"second": SECOND}}
BLOCK = {"block": {"test": {"child": "awesome"}}, "inner": "test"}


def r(template: str, context: dict | None = None) -> str:
    return render(template, context or {})


# ----------------------------------------------------------------------------- yaml filter (YamlFilterTest)

@pytest.mark.parametrize(("key", "text"), [
    ("string", "string\n"),
    ("int", "1\n"),
    ("float", "1.123\n"),
    ("list", " - string\n - 1\n - 1.123\n"),
    ("bool", "true\n"),
    ("date", "2013-09-08T16:19:00+02:00\n"),
    ("map", "string: string\nint: 1\nfloat: 1.123\n"),
])
def test_yaml_filter_as_kestra_writes_it(key: str, text: str) -> None:
    assert r(f"{{{{ vars.second.{key} | yaml }}}}", VARS) == text


def test_yaml_filter_never_writes_document_markers() -> None:
    for value in ("string", 1, True, 1.5, "a\nb", ["x"], {"k": "v"}):
        text = to_yaml(value)
        assert "..." not in text and not text.startswith("---")
    assert r("{{ null | yaml }}") == "null"  # no newline: Kestra returns the text "null"
    assert to_yaml([]) == "[]\n"
    assert to_yaml({}) == "{}\n"


def test_yaml_filter_indentation_of_nested_values() -> None:
    value = {"a": [{"x": 1, "z": [1, 2]}, [3, 4], [], {}], "s": {"t": 1}}
    assert to_yaml(value) == (
        "a:\n"
        " -\n"
        "  x: 1\n"
        "  z:\n"
        "   - 1\n"
        "   - 2\n"
        " -\n"
        "   - 3\n"
        "   - 4\n"
        " - []\n"
        " - {}\n"
        "s:\n"
        "  t: 1\n"
    )


@pytest.mark.parametrize(("text", "yaml_text"), [
    ("true", '"true"'),
    ("no", '"no"'),
    ("null", '"null"'),
    ("", '""'),
    ("123", "123"),  # Jackson's MINIMIZE_QUOTES keeps numbers in text unquoted
    ("a: b", '"a: b"'),
    ("a:b", "a:b"),
    ("# x", '"# x"'),
    ("a#b", "a#b"),
    ("[x]", '"[x]"'),
    ("a, b", '"a, b"'),
    (" lead", "' lead'"),
    ("it's", "it's"),
    ("line1\nline2", "|-\n  line1\n  line2"),
    ("line1\nline2\n", "|\n  line1\n  line2"),
])
def test_yaml_quotes_only_where_needed(text: str, yaml_text: str) -> None:
    assert to_yaml(text) == yaml_text + "\n"


def test_yaml_keys_that_read_as_keywords_or_numbers_are_quoted() -> None:
    assert to_yaml({"y": 1, "n": 2, "1k": 3, "key": 4}) == '"y": 1\n"n": 2\n"1k": 3\nkey: 4\n'


def test_yaml_dates_and_null_values() -> None:
    value = {"instant": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "day": date(2024, 1, 2), "none": None}
    assert to_yaml(value) == "instant: 2024-01-02T03:04:05Z\nday: 2024-01-02\nnone: null\n"


def test_yaml_of_an_unserializable_value_is_an_error() -> None:
    with pytest.raises(ValueError, match="Unable to transform to yaml value .* with type 'object'"):
        to_yaml({"a": object()})
    with pytest.raises(TemplateError, match="Unable to transform to yaml"):
        r("{% macro m() %}x{% endmacro %}{{ m | yaml }}")


# ----------------------------------------------------------------------------- yaml function (YamlFunctionTest)

YAML_TEXT = """\
# comment
string: string
int: 123
bool: true
float: 1.23
instant: "1918-02-24T00:00:00Z"
date: "1991-08-20"
time: "23:59:59"
duration: "PT5M6S"
'null':
object:
  key: "value"
  child:
    key: "value"
array:
  - string
"""


@pytest.mark.parametrize(("path", "text"), [
    ("string", "string"), ("int", "123"), ("bool", "true"), ("float", "1.23"),
    ("instant", "1918-02-24T00:00:00Z"), ("date", "1991-08-20"), ("time", "23:59:59"),
    ("object.child.key", "value"), ("array[0]", "string"),
])
def test_yaml_function(path: str, text: str) -> None:
    assert r(f"{{{{ yaml(yaml).{path} }}}}", {"yaml": YAML_TEXT}) == text


def test_yaml_function_refuses_bad_input() -> None:
    with pytest.raises(TemplateError, match="Invalid yaml"):
        r("{{ yaml('a: [') }}")
    with pytest.raises(TemplateError, match="expects an argument 'yaml' with type string"):
        r("{{ yaml(1) }}")


# ----------------------------------------------------------------------------- toIon (ToIonFilterTest)

@pytest.mark.parametrize(("key", "text"), [
    ("string", '"string"'),
    ("int", "1"),
    ("float", "1.123e0"),  # Kestra's test has the Java float 1.123F, widened: 1.1230000257492065e0
    ("list", '["string",1,1.123e0]'),
    ("bool", "true"),
    ("date", 'ZonedDateTime::"2013-09-08T16:19:00+02:00"'),
    ("map", '{string:"string",int:1,float:1.123e0}'),
])
def test_to_ion_filter(key: str, text: str) -> None:
    assert r(f"{{{{ vars.second.{key} | toIon }}}}", VARS) == text


def test_to_ion_special_values() -> None:
    assert r('{{ {"empty_object":{}} | toIon }}') == "{empty_object:{}}"
    assert r("{{ null | toIon }}") == "null"
    assert to_ion(1.1230000257492065) == "1.1230000257492065e0"
    assert to_ion(1e20) == "1e20"
    assert to_ion(Decimal("1.50")) == "1.50"
    assert to_ion({"a b": 1, "null": 2, "ok_1": 3}) == "{'a b':1,'null':2,ok_1:3}"
    assert to_ion(datetime(2024, 4, 21, 23, 0, tzinfo=timezone.utc)) == "2024-04-21T23:00:00.000Z"
    assert to_ion(date(2024, 1, 2)) == "2024-01-02"
    assert to_ion(datetime(2024, 1, 2, 3, 4, 5)) == 'LocalDateTime::"2024-01-02T03:04:05"'
    paris = datetime(2024, 1, 2, 3, 4, tzinfo=ZoneInfo("Europe/Paris"))
    assert to_ion(paris) == 'ZonedDateTime::"2024-01-02T03:04:00+01:00[Europe/Paris]"'


def test_to_ion_refuses_bad_input() -> None:
    with pytest.raises(TemplateError):
        r("{{ | toIon }}")
    with pytest.raises(TemplateError):
        r("{{ {not: json} | toIon }}")
    with pytest.raises(ValueError, match="Unable to transform to ion value"):
        to_ion([object()])


# ----------------------------------------------------------------------------- fromIon (FromIonFunctionTest)

def test_from_ion_function() -> None:
    ion = "{date:2024-04-21T23:00:00.000Z, title:\"Main_Page\",views:109787}"
    assert r(f"{{{{ fromIon('{ion}').title }}}}") == "Main_Page"
    assert r("{{ fromIon(null) }}") == ""
    assert render_typed(f"{{{{ fromIon('{ion}').views }}}}", {}) == 109787


def test_from_ion_reads_ion_values() -> None:
    value = from_ion(
        "{a:1, b:[1.5, 2e0, \"x\", sym, 'quoted sym'], c:null.string, d:2024-04-21T23:10:00.000Z,"
        " e:2024-04-21T23:10:00+02:00, f:ZonedDateTime::\"2013-09-08T16:19:00+02:00\", g:(a + b), // comment\n"
        " h:/* x */ 0x1F, i:'''long ''' '''text''', j:2024-04-21T00:00:00Z, k:+inf}"
    )
    assert value == {
        "a": 1, "b": [Decimal("1.5"), 2.0, "x", "sym", "quoted sym"], "c": None,
        "d": datetime(2024, 4, 21, 23, 10, tzinfo=timezone.utc),
        "e": datetime(2024, 4, 21, 23, 10, tzinfo=PLUS_TWO),
        "f": ZONED, "g": ["a", "+", "b"], "h": 31, "i": "long text",
        "j": date(2024, 4, 21),  # a UTC midnight reads as a LocalDate, as in Kestra
        "k": float("inf"),
    }
    assert from_ion("1 2 3") == [1, 2, 3]
    assert from_ion(to_ion(SECOND)) == SECOND


@pytest.mark.parametrize("template", [
    "{{ fromIon() }}",
    "{{ fromIon('{not: ion') }}",
    "{{ fromIon('[1, 2') }}",
    "{{ fromIon('{a 1}') }}",
    "{{ fromIon(\"'unterminated\") }}",
    "{{ fromIon('{{ aGVsbG8= }}') }}",
    "{{ fromIon(1) }}",
])
def test_from_ion_refuses_bad_input(template: str) -> None:
    with pytest.raises(TemplateError, match="fromIon|Invalid ion"):
        r(template)


def test_from_ion_error_names_the_problem() -> None:
    with pytest.raises(TemplateError, match=r"Invalid ion: expected ',' or '\}'"):
        r("{{ fromIon('{not: ion') }}")


# ----------------------------------------------------------------------------- id, printContext, randomPort

def test_id_is_a_new_base62_id() -> None:
    first, second = r("{{ id() }}"), r("{{ id() }}")
    assert re.fullmatch(r"[0-9A-Za-z]{22}", first)
    assert first != second


def test_print_context_and_fetch_context() -> None:
    context = {"test": "value", "array": ["a", "b", "c"], "_runtime": object()}
    printed = json.loads(r("{{ printContext() }}", context))
    assert printed == {"test": "value", "array": ["a", "b", "c"]}
    assert json.loads(r("{{ fetchContext() }}", context)) == printed


def test_print_context_keeps_a_variable_named_like_a_function() -> None:
    assert json.loads(r("{{ printContext() }}", {"uuid": "mine"})) == {"uuid": "mine"}


def test_random_port_is_free() -> None:
    port = render_typed("{{ randomPort() }}", {})
    assert isinstance(port, int) and 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", port))  # free when it was given


# ----------------------------------------------------------------------------- fileExists

class FileRuntime:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, path: str, namespace: str | None = None) -> str:
        if path not in self.files:
            raise TemplateError(f"read(): no file at {path}")
        return self.files[path]


def test_file_exists() -> None:
    context: dict[str, Any] = {"_runtime": FileRuntime({"kestra:///a.txt": "x"}), "flow": {"namespace": "n"}}
    assert r("{{ fileExists('kestra:///a.txt') }}", context) == "true"
    assert r("{{ fileExists('kestra:///b.txt') }}", context) == "false"


def test_file_exists_needs_a_running_flow_and_a_path(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="needs a running flow"):
        r("{{ fileExists('kestra:///a.txt') }}")
    with pytest.raises(TemplateError):
        r("{{ fileExists(missing) }}", {"_runtime": FileRuntime({})})


# ----------------------------------------------------------------------------- blocks and raw

def test_block_tag_and_block_function() -> None:
    # PebbleVariableRendererTest.macro
    assert r('{% block "post" %} content {% endblock %}{{ block("post") }}') == " content  content "
    assert r("{% block head %}[{{ x }}]{% endblock %}-{{ block('head') }}", {"x": 1}) == "[1]-[1]"
    assert r('{% block "a b" %}x{% endblock %}{{ block("a b") }}') == "xx"


def test_block_function_of_an_unknown_block() -> None:
    with pytest.raises(TemplateError, match="no block named 'nope'"):
        r("{{ block('nope') }}")


def test_a_variable_named_block_hides_the_function() -> None:
    assert r("{{ block.test.child }}", BLOCK) == "awesome"


@pytest.mark.parametrize(("template", "text"), [
    ("See some code {% raw %}{{ var }}{% endraw %}", "See some code {{ var }}"),
    ("See some code {%raw%}{{ var }}{%endraw%}", "See some code {{ var }}"),
    ("See some code {%-  raw%}{{ var }}{%endraw -%}", "See some code {{ var }}"),
    ("See some code {% raw %}{{ var }}{% endraw %} and some other code {% raw %}{{ var2 }}{% endraw %}",
     "See some code {{ var }} and some other code {{ var2 }}"),
    ("a {%- raw -%} b {%- endraw -%} c", "a  b  c"),
])
def test_raw_blocks_keep_the_whitespace_around_them(template: str, text: str) -> None:
    assert r(template, {"var": "1"}) == text


def test_verbatim_still_trims() -> None:
    assert r("a {%- verbatim %}{{ x }}{% endverbatim -%} b") == "a{{ x }}b"


# ----------------------------------------------------------------------------- undefined dynamic keys

@pytest.mark.parametrize("template", [
    "{{ block[inner].child }}",
    "{{ inner.bla is not defined ? block.test.child : null }}",
    "{{ block.test.child is defined ? block.test.child : inner.bla }}",
    "{{ block[inner].child is defined ? block[inner].child : null }}",
    "{{ block[missing].child is defined ? null : block[inner].child }}",
    "{{ block[missing].child is not defined ? (block[missing2].child is not defined ? block[inner].child : null)"
    " : null }}",
    "{{ missing is defined ? null : block.test.child }}",
    "{{ block[inner].child ?? null }}",
    "{{ block[missing].child ?? block[inner].child }}",
    "{{ block[missing].child ?? block[missing2].child ?? block[inner].child }}",
    "{{ missing ?? block.test.child }}",
    "{{ block['test']['child'] }}",
    "{{ block[inner]['child'] }}",
])
def test_first_defined_with_dynamic_keys(template: str) -> None:
    assert r(template, BLOCK) == "awesome"


@pytest.mark.parametrize("template", [
    "{{ missing is defined ? missing : missing2 }}",
    "{{ missing ?? missing2 }}",
    "{{ get missing }}",
])
def test_nothing_defined_is_an_error(template: str) -> None:
    with pytest.raises(TemplateError):
        r(template, BLOCK)


def test_an_undefined_dynamic_key_is_named_in_the_error() -> None:
    with pytest.raises(TemplateError, match="Unable to find `missing`"):
        r("{{ block[missing].child }}", BLOCK)


def test_undefined_key_default_and_coalescing() -> None:
    assert r("{{ block[missing] | default('d') }}", BLOCK) == "d"
    assert r("{{ block[missing] ??? 'u' }}", BLOCK) == "u"
    assert r("{{ list[3] is defined ? bla : null }}", {"list": ["a"]}) == ""


# ----------------------------------------------------------------------------- zoned date-times

def test_zoned_date_time_prints_as_java_zoned_date_time() -> None:
    # PebbleVariableRendererTest.out: ZonedDateTime.parse("2013-09-08T16:19:00+02") prints 2013-09-08T16:19+02:00
    assert r("{{ date }}", {"date": ZONED}) == "2013-09-08T16:19+02:00"
    assert r("{{ d }}", {"d": ZONED.replace(second=5, microsecond=120000)}) == "2013-09-08T16:19:05.120+02:00"
    assert r("{{ d }}", {"d": ZONED.replace(microsecond=123456)}) == "2013-09-08T16:19:00.123456+02:00"
    paris = datetime(2013, 9, 8, 16, 19, tzinfo=ZoneInfo("Europe/Paris"))
    assert r("{{ d }}", {"d": paris}) == "2013-09-08T16:19+02:00[Europe/Paris]"
    assert r("{{ 'at ' ~ d }}", {"d": ZONED}) == "at 2013-09-08T16:19+02:00"


def test_utc_date_times_print_as_instants_and_json_uses_utc() -> None:
    assert r("{{ d }}", {"d": datetime(2013, 9, 8, 14, 19, tzinfo=timezone.utc)}) == "2013-09-08T14:19:00Z"
    assert r("{{ [d] }}", {"d": ZONED}) == '["2013-09-08T14:19:00Z"]'  # Kestra's JSON mapper: its zone, UTC
    assert r("{{ d | toJson }}", {"d": ZONED}) == '"2013-09-08T14:19:00Z"'


def test_nanosecond_timestamps() -> None:
    moment = datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=timezone(timedelta(hours=1)))
    # DateFilterTest.instantnano
    assert r('{{ zoned | timestampNano(timeZone="Europe/Paris") }}', {"zoned": moment}) == "1378653552123456000"
    # an epoch number of nanoseconds reads as such (to the microsecond)
    assert r("{{ 1378653552123456789 | date('iso') }}") == "2013-09-08T15:19:12.123456Z"
    assert r("{{ 1378653552123456789 | date('iso', timeZone='Europe/Paris') }}") == (
        "2013-09-08T17:19:12.123456+02:00")
    assert r("{{ 1378653552123456789 | timestampNano }}") == "1378653552123456000"


@pytest.mark.parametrize(("pattern", "text"), [
    ("Q", "3"), ("QQ", "03"), ("QQQ", "Q3"), ("QQQQ", "3rd quarter"), ("QQQQQ", "3"),
    ("q", "3"), ("qqq", "Q3"), ("yyyy-'Q'Q", "2013-Q3"),
])
def test_quarter_pattern_letter(pattern: str, text: str) -> None:
    assert r(f'{{{{ d | date("{pattern}") }}}}', {"d": ZONED}) == text


def test_quarters_of_the_year() -> None:
    quarters = [r("{{ d | date('QQQQ') }}", {"d": datetime(2024, month, 1, tzinfo=timezone.utc)})
                for month in (1, 4, 7, 10, 12)]
    assert quarters == ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter", "4th quarter"]


def test_quarter_when_parsing() -> None:
    assert r("{{ '2013-Q3-09-08' | date('yyyy-MM-dd', existingFormat='yyyy-QQQ-MM-dd') }}") == "2013-09-08"
    with pytest.raises(TemplateError, match="not in quarter 1"):
        r("{{ '2013-Q1-09-08' | date('yyyy-MM-dd', existingFormat='yyyy-QQQ-MM-dd') }}")
