"""Kestra filter semantics, called as plain functions (expected values from Kestra/Java)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from jinja2 import StrictUndefined, Undefined, UndefinedError

from nb_orchestra.expressions.filters import FILTERS

F = FILTERS
MOMENT = datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=timezone(timedelta(hours=1)))


# --- strings ------------------------------------------------------------------------------------

def test_abbreviate() -> None:
    assert F["abbreviate"]("this is a long sentence.", 7) == "this..."
    assert F["abbreviate"]("short", 10) == "short"
    assert F["abbreviate"]("hello", 5) == "he..."  # Pebble cuts when the length is reached
    assert F["abbreviate"]("abcdef", 2) == "ab"
    with pytest.raises(ValueError, match="abbreviate"):
        F["abbreviate"]("abc", -1)


def test_abs() -> None:
    assert F["abs"](-3) == 3
    assert F["abs"](2.5) == 2.5
    with pytest.raises(ValueError, match="abs"):
        F["abs"]("x")
    with pytest.raises(ValueError, match="null"):
        F["abs"](None)


def test_base64() -> None:
    assert F["base64encode"]("héllo") == "aMOpbGxv"
    assert F["base64decode"]("aMOpbGxv") == "héllo"
    assert F["base64decode"]("YQ") == "a"
    with pytest.raises(ValueError, match="base64decode"):
        F["base64decode"]("***")


def test_capitalize_only_touches_the_first_character() -> None:
    assert F["capitalize"]("hello WORLD") == "Hello WORLD"
    assert F["capitalize"]("  hi") == "  Hi"
    assert F["capitalize"]("") == ""


def test_title_does_not_lower_case() -> None:
    assert F["title"]("hello wORLD-wide web") == "Hello WORLD-wide Web"


def test_upper_lower_trim() -> None:
    assert F["upper"]("abc") == "ABC"
    assert F["lower"]("ABC") == "abc"
    assert F["trim"]("\t a b \n") == "a b"
    assert F["upper"](None) is None
    with pytest.raises(ValueError, match="upper: expects a string"):
        F["upper"](12)


def test_urlencode_and_urldecode() -> None:
    assert F["urlencode"]("a b&c=d/é~*") == "a+b%26c%3Dd%2F%C3%A9%7E*"
    assert F["urldecode"]("a+b%26c%3Dd%2F%C3%A9") == "a b&c=d/é"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("md5", "5d41402abc4b2a76b9719d911017c592"),
        ("sha1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
        ("sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
        ("sha512", "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"
                   "2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"),
    ],
)
def test_hashes(name: str, expected: str) -> None:
    assert F[name]("hello") == expected


def test_slugify() -> None:
    assert F["slugify"]("Hello World!") == "hello-world"
    assert F["slugify"]("  Crème brûlée_2024 -- v2 ") == "creme-brulee-2024-v2"


def test_substrings() -> None:
    assert F["substringBefore"]("a.b.c", ".") == "a"
    assert F["substringBefore"]("abc", ".") == "abc"
    assert F["substringAfter"]("a.b.c", ".") == "b.c"
    assert F["substringAfter"]("abc", ".") == ""
    assert F["substringBeforeLast"]("a.b.c", ".") == "a.b"
    assert F["substringBeforeLast"]("abc", ".") == "abc"
    assert F["substringAfterLast"]("a.b.c", ".") == "c"
    assert F["substringAfterLast"]("abc", ".") == ""
    assert F["substringAfterLast"]("abc.", ".") == ""


def test_starts_and_ends_with() -> None:
    assert F["startsWith"]("kestra://file", "kestra://") is True
    assert F["endsWith"]("data.csv", ".json") is False


def test_escape_char() -> None:
    assert F["escapeChar"]("it's", "single") == "it\\'s"
    assert F["escapeChar"]('say "hi"', "double") == 'say \\"hi\\"'
    assert F["escapeChar"]("it's", "shell") == "it'\\''s"
    assert F["escapeChar"]({"a": ["it's", 1]}, "SINGLE") == {"a": ["it\\'s", "1"]}
    with pytest.raises(ValueError, match="'single', 'double' or 'shell'"):
        F["escapeChar"]("x", "triple")


def test_indent_and_nindent() -> None:
    assert F["indent"]("a\nb\nc", 2) == "a\n  b\n  c"
    assert F["indent"]("a\r\nb", 1, "\t") == "a\r\n\tb"
    assert F["nindent"]("a\nb", 2) == "\n  a\n  b"
    assert F["indent"]("", 4) == ""
    with pytest.raises(ValueError, match="indent: the amount"):
        F["indent"]("a", -1)


def test_string() -> None:
    assert F["string"](12) == "12"
    assert F["string"](True) == "true"
    assert F["string"]({"a": [1]}) == '{"a":[1]}'
    assert F["string"](None) is None


# --- split and replace ----------------------------------------------------------------------------

def test_split_uses_a_regex() -> None:
    assert F["split"]("a.b", "\\.") == ["a", "b"]
    assert F["last"](F["split"]("a.b", "\\.")) == "b"
    assert F["split"]("a1b22c", "\\d+") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "delimiter", "limit", "expected"),
    [
        ("a,b,,", ",", None, ["a", "b"]),
        ("a,b,,", ",", -1, ["a", "b", "", ""]),
        ("a,b,c", ",", 2, ["a", "b,c"]),
        (",a,b", ",", None, ["", "a", "b"]),
        ("", ",", None, [""]),
        (",", ",", None, []),
        ("abc", "", None, ["a", "b", "c"]),
        ("abc", ";", None, ["abc"]),
    ],
)
def test_split_follows_java(text: str, delimiter: str, limit: int | None, expected: list[str]) -> None:
    assert F["split"](text, delimiter, limit) == expected


def test_split_bad_regex() -> None:
    with pytest.raises(ValueError, match=r"split: .\(. is not a valid regular expression"):
        F["split"]("a(b", "(")


def test_replace_map_form() -> None:
    assert F["replace"]("a-b-c", {"-": "_"}) == "a_b_c"
    assert F["replace"]("I like cats", {"cats": "dogs", "I": "You"}) == "You like dogs"


def test_replace_two_string_form() -> None:
    assert F["replace"]("a-b", "-", "+") == "a+b"


def test_replace_regexp() -> None:
    assert F["replace"]("2024-01-31", {"(\\d+)-(\\d+)-(\\d+)": "$3/$2/$1"}, regexp=True) == "31/01/2024"
    assert F["replace"]("a1b2", {"\\d": ""}, True) == "ab"
    assert F["replace"]("a.b", {".": "!"}) == "a!b"  # not a regex by default
    assert F["replace"]("cost", {"t$": "\\$5"}, regexp=True) == "cos$5"


def test_replace_in_maps_and_lists() -> None:
    assert F["replace"]({"k": ["a-b", 1]}, {"-": "_"}) == {"k": ["a_b", "1"]}


def test_replace_errors() -> None:
    with pytest.raises(ValueError, match="replace"):
        F["replace"]("abc", 3)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        F["replace"]("abc", {"(": "x"}, regexp=True)


# --- collections -----------------------------------------------------------------------------------

@pytest.mark.parametrize("empty", [None, "", "   ", [], {}, Undefined(name="x"), StrictUndefined(name="x")])
def test_default_replaces_empty_values(empty: object) -> None:
    assert F["default"](empty, "x") == "x"


@pytest.mark.parametrize("value", [0, False, "a", [0], {"k": None}])
def test_default_keeps_values(value: object) -> None:
    assert F["default"](value, "x") == value


def test_first_and_last() -> None:
    assert F["first"]([1, 2, 3]) == 1
    assert F["last"]([1, 2, 3]) == 3
    assert F["first"]("hello") == "h"
    assert F["last"]("hello") == "o"
    assert F["first"]([]) is None
    with pytest.raises(ValueError, match="first"):
        F["first"]({"a": 1})


def test_jq_always_returns_a_list() -> None:
    assert F["jq"]([1, 2, 3], ".[0]") == [1]
    assert F["first"](F["jq"]([1, 2, 3], ".[0]")) == 1
    assert F["jq"]({"a": [{"b": 1}, {"b": 2}]}, ".a[].b") == [1, 2]
    assert F["jq"]('{"a": "x"}', ".a") == ["x"]  # a string is read as JSON text
    assert F["jq"]({"d": MOMENT}, ".d") == ["2013-09-08T15:19:12.123456Z"]
    with pytest.raises(ValueError, match="jq"):
        F["jq"]([1], ".[")


def test_join() -> None:
    assert F["join"](["a", "b"], ", ") == "a, b"
    assert F["join"]([1, True, None]) == "1truenull"


def test_length() -> None:
    assert F["length"]("abc") == 3
    assert F["length"]([1, 2]) == 2
    assert F["length"]({"a": 1}) == 1
    assert F["length"](None) == 0
    assert F["length"](42) == 0


def test_merge() -> None:
    assert F["merge"]([1, 2], [3]) == [1, 2, 3]
    assert F["merge"]({"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 3}
    assert F["merge"](None, [1]) == [1]
    with pytest.raises(ValueError, match="merge"):
        F["merge"]([1], {"a": 1})


def test_reverse_sort_rsort() -> None:
    assert F["reverse"]([1, 3, 2]) == [2, 3, 1]
    assert F["sort"]([3, 1, 2]) == [1, 2, 3]
    assert F["rsort"](["a", "c", "b"]) == ["c", "b", "a"]
    with pytest.raises(ValueError, match="sort: cannot compare"):
        F["sort"]([1, "a"])


def test_slice() -> None:
    assert F["slice"]([1, 2, 3, 4], 1, 3) == [2, 3]
    assert F["slice"]("hello", 1, 3) == "el"
    assert F["slice"]("hello", 2) == "llo"
    with pytest.raises(ValueError, match="toIndex must not be greater"):
        F["slice"]("abc", 0, 5)
    with pytest.raises(ValueError, match="greater than fromIndex"):
        F["slice"]("abc", 2, 1)


def test_keys_and_values() -> None:
    assert F["keys"]({"a": 1, "b": 2}) == ["a", "b"]
    assert F["keys"](["x", "y"]) == [0, 1]
    assert F["values"]({"a": 1, "b": 2}) == [1, 2]
    with pytest.raises(ValueError, match="values: expects a map"):
        F["values"]([1])


def test_flatten_chunk_distinct() -> None:
    assert F["flatten"]([[1, 2], 3, [[4]]]) == [1, 2, 3, [4]]
    assert F["chunk"]([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert F["distinct"]([1, 2, 1, "a", "a", {"k": 1}, {"k": 1}]) == [1, 2, "a", {"k": 1}]
    with pytest.raises(ValueError, match="chunk: the size"):
        F["chunk"]([1], 0)


# --- numbers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("12", None, 12),
        ("1.5", None, 1.5),
        ("-3", None, -3),
        ("1e3", None, 1000.0),
        ("0x1F", None, 31),
        ("12", "INT", 12),
        ("9999999999", "LONG", 9999999999),
        ("1.25", "FLOAT", 1.25),
        ("1.25", "DOUBLE", 1.25),
        ("1.50", "BIGDECIMAL", Decimal("1.50")),
        ("123456789012345678901234567890", "BIGINTEGER", 123456789012345678901234567890),
    ],
)
def test_number(text: str, kind: str | None, expected: object) -> None:
    result = F["number"](text, kind)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("text", "kind"), [("abc", None), ("1.5", "INT"), ("9999999999", "INT"), ("1", "TEXT")])
def test_number_errors(text: str, kind: str | None) -> None:
    with pytest.raises(ValueError, match=f"number: '{text}'"):
        F["number"](text, kind)


def test_number_needs_a_string() -> None:
    with pytest.raises(ValueError, match="can only be applied to a string"):
        F["number"](12)


@pytest.mark.parametrize(
    ("number", "pattern", "expected"),
    [
        (1234567.891, "#,###.00", "1,234,567.89"),
        (0.456, "#.##", "0.46"),
        (0.5, "#.00", ".50"),
        (0, "#.##", "0"),
        (2.5, "#", "2"),
        (3.5, "#", "4"),
        (7, "000", "007"),
        (-0.001, "0.00", "-0.00"),
        (2.675, "0.00", "2.67"),
        (-1234.5, "#,##0.###", "-1,234.5"),
        (1234567.12345, None, "1,234,567.123"),
        (12.3, "$#,##0.00 USD", "$12.30 USD"),
        (123456789, "#,##,###", "123,456,789"),
    ],
)
def test_number_format_like_java(number: float, pattern: str | None, expected: str) -> None:
    assert F["numberFormat"](number, pattern) == expected
    assert F["numberformat"](number, pattern) == expected


def test_number_format_errors() -> None:
    with pytest.raises(ValueError, match="expects a number"):
        F["numberFormat"]("12", "#")
    with pytest.raises(ValueError, match="unsupported pattern"):
        F["numberFormat"](12, "#%")


# --- dates -----------------------------------------------------------------------------------------

def test_date_filter() -> None:
    assert F["date"]("2019-03-01T09:00:00Z", "yyyy-MM") == "2019-03"
    assert F["date"]("2019-03-01T09:00:00Z", "yyyy-MM-dd'T'HH:mm") == "2019-03-01T09:00"
    assert F["date"]("2019-03-01T09:00:00Z") == "2019-03-01T09:00:00.000000Z"
    assert F["date"](None, "yyyy") is None


def test_date_filter_time_zone() -> None:
    assert F["date"]("2019-03-01T09:00:00Z", "yyyy-MM-dd HH:mm XXX", timeZone="Europe/Paris") == (
        "2019-03-01 10:00 +01:00")
    assert F["date"](MOMENT, "iso", "Europe/Paris") == "2013-09-08T17:19:12.123456+02:00"
    local = MOMENT.replace(tzinfo=None)
    assert F["date"](local, "yyyy-MM-dd HH:mm:ss.SSSSSSXXX", timeZone="Europe/Paris") == (
        "2013-09-08 16:19:12.123456+02:00")


def test_date_filter_existing_format_and_types() -> None:
    assert F["date"]("July 24, 2001", "yyyy-MM-dd", existingFormat="MMMM dd, yyyy") == "2001-07-24"
    assert F["date"](date(2024, 1, 31), "iso_sec") == "2024-01-31T12:00:00Z"
    assert F["date"](1378653552, "iso_sec", timeZone="Europe/Paris") == "2013-09-08T17:19:12+02:00"
    with pytest.raises(ValueError, match="not a date"):
        F["date"]("not a date", "yyyy")


def test_date_add() -> None:
    assert F["dateAdd"]("2019-03-01T09:00:00Z", -1, "DAYS") == "2019-02-28T09:00:00.000000Z"
    assert F["dateAdd"](MOMENT, -1, "DAYS", timeZone="Europe/Paris") == "2013-09-07T17:19:12.123456+02:00"
    assert F["dateAdd"]("2024-01-31T10:00:00Z", 1, "MONTHS", "yyyy-MM-dd") == "2024-02-29"
    assert F["dateAdd"]("2024-02-29T10:00:00Z", 1, "YEARS", "yyyy-MM-dd") == "2025-02-28"
    assert F["dateAdd"]("2024-01-01T00:00:00Z", 2, "WEEKS", "yyyy-MM-dd") == "2024-01-15"
    assert F["dateAdd"]("2024-01-01T00:00:00Z", 90, "MINUTES", "HH:mm") == "01:30"
    assert F["dateAdd"]("2024-01-01T00:00:00Z", 1500, "MILLIS", "iso_instant") == "2024-01-01T00:00:01.500Z"


def test_date_add_across_daylight_saving() -> None:
    paris = "Europe/Paris"
    assert F["dateAdd"]("2024-03-30T12:00:00", 1, "DAYS", timeZone=paris) == "2024-03-31T12:00:00.000000+02:00"
    assert F["dateAdd"]("2024-03-31T00:30:00", 2, "HOURS", timeZone=paris) == "2024-03-31T03:30:00.000000+02:00"


def test_date_add_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unknown unit 'FORTNIGHTS'"):
        F["dateAdd"]("2024-01-01T00:00:00Z", 1, "FORTNIGHTS")


def test_timestamps() -> None:
    assert F["timestamp"](MOMENT, timeZone="Europe/Paris") == 1378653552
    assert F["timestampMilli"](MOMENT) == 1378653552123
    assert F["timestampMicro"](MOMENT) == 1378653552123456
    assert F["timestampNano"](MOMENT) == 1378653552123456000
    assert F["timestampMicro"]("2013-09-08T16:19:12.123456+01:00") == 1378653552123456
    assert F["timestamp"]("1970-01-01T00:00:00Z") == 0
    assert F["timestamp"](MOMENT) > F["timestamp"](F["dateAdd"](MOMENT, -1, "DAYS"))


# --- serialisation -----------------------------------------------------------------------------------

def test_to_json_and_alias() -> None:
    assert F["toJson"]("foo") == '"foo"'
    assert F["toJson"](True) == "true"
    assert F["toJson"](None) == "null"
    assert F["json"]({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    dates = {"d": MOMENT, "day": date(2024, 1, 2)}
    assert F["toJson"](dates) == '{"d":"2013-09-08T15:19:12.123456Z","day":"2024-01-02"}'


def test_yaml_filter() -> None:
    assert F["yaml"]({"a": 1, "b": ["x"]}) == "a: 1\nb:\n - x\n"  # Kestra indents sequences (INDENT_ARRAYS)


def test_class_name() -> None:
    assert F["className"]("a") == "java.lang.String"
    assert F["className"](1) == "java.lang.Integer"
    assert F["className"](2**40) == "java.lang.Long"
    assert F["className"]({}) == "java.util.LinkedHashMap"
    assert F["className"](MOMENT) == "java.time.ZonedDateTime"


# --- undefined values ----------------------------------------------------------------------------------

def test_strict_undefined_raises_in_other_filters() -> None:
    with pytest.raises(UndefinedError, match="'missing' is undefined"):
        F["upper"](StrictUndefined(name="missing"))
    with pytest.raises(UndefinedError):
        F["split"]("a.b", StrictUndefined(name="missing"))


def test_plain_undefined_is_refused_with_the_filter_name() -> None:
    with pytest.raises(ValueError, match="length: the value is undefined"):
        F["length"](Undefined(name="missing"))


def test_every_filter_is_registered() -> None:
    expected = {
        "abbreviate", "abs", "base64encode", "base64decode", "capitalize", "title", "upper", "lower", "trim",
        "default", "first", "last", "join", "length", "merge", "reverse", "sort", "rsort", "slice", "split",
        "replace", "urlencode", "urldecode", "numberFormat", "numberformat", "sha1", "sha256", "sha512", "md5",
        "date", "dateAdd", "timestamp", "timestampMilli", "timestampMicro", "timestampNano", "toJson", "json",
        "jq", "keys", "values", "flatten", "chunk", "distinct", "number", "slugify", "substringBefore",
        "substringAfter", "substringBeforeLast", "substringAfterLast", "startsWith", "endsWith", "escapeChar",
        "indent", "nindent", "string", "className", "yaml", "toIon",
    }
    assert set(FILTERS) == expected
