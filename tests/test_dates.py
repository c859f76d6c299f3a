"""Java date patterns, date conversion and the pure global functions (expected values from Java)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from nb_orchestra.expressions.dates import (
    compile_pattern,
    format_datetime,
    format_instant,
    to_datetime,
)
from nb_orchestra.expressions.functions import FUNCTIONS

# The moment of Kestra's own DateFilterTest: 2013-09-08T16:19:12.123456+01:00.
MOMENT = datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd", "2013-09-08"),
        ("yyyy_MM", "2013_09"),
        ("y yy yyy yyyy uuuu", "2013 13 2013 2013 2013"),
        ("M MM MMM MMMM", "9 09 Sep September"),
        ("d dd D DDD", "8 08 251 251"),
        ("H HH h hh a", "17 17 5 05 PM"),
        ("m mm s ss", "19 19 12 12"),
        ("S SSS SSSSSS SSSSSSSSS", "1 123 123456 123456000"),
        ("E EEE EEEE", "Sun Sun Sunday"),
        ("X XX XXX x xx xxx Z", "+02 +0200 +02:00 +02 +0200 +02:00 +0200"),
        ("z VV", "CEST Europe/Paris"),
        ("yyyy-MM-dd'T'HH:mm", "2013-09-08T17:19"),
        ("'at' HH 'o''clock'", "at 17 o'clock"),
        ("''yyyy''", "'2013'"),
        ("yyyy[-MM]", "2013-09"),
    ],
)
def test_patterns_in_paris(pattern: str, expected: str) -> None:
    assert format_datetime(MOMENT, pattern, "Europe/Paris") == expected


def test_offset_letters_in_utc() -> None:
    assert format_datetime(MOMENT, "X XX XXX x xx xxx Z z VV") == "Z Z Z +00 +0000 +00:00 +0000 UTC UTC"


def test_offset_letters_for_a_fixed_offset() -> None:
    assert format_datetime(MOMENT, "X XXX z VV", "+05:30") == "+0530 +05:30 +05:30 +05:30"


@pytest.mark.parametrize(
    ("name", "paris", "utc"),
    [
        ("iso", "2013-09-08T17:19:12.123456+02:00", "2013-09-08T15:19:12.123456Z"),
        ("iso_milli", "2013-09-08T17:19:12.123+02:00", "2013-09-08T15:19:12.123Z"),
        ("iso_sec", "2013-09-08T17:19:12+02:00", "2013-09-08T15:19:12Z"),
        ("sql", "2013-09-08 17:19:12.123456", "2013-09-08 15:19:12.123456"),
        ("sql_milli", "2013-09-08 17:19:12.123", "2013-09-08 15:19:12.123"),
        ("sql_seq", "2013-09-08 17:19:12", "2013-09-08 15:19:12"),
        ("sql_sec", "2013-09-08 17:19:12", "2013-09-08 15:19:12"),
        ("iso_date_time", "2013-09-08T17:19:12.123456+02:00[Europe/Paris]", "2013-09-08T15:19:12.123456Z[UTC]"),
        ("iso_zoned_date_time", "2013-09-08T17:19:12.123456+02:00[Europe/Paris]",
         "2013-09-08T15:19:12.123456Z[UTC]"),
        ("iso_date", "2013-09-08+02:00", "2013-09-08Z"),
        ("iso_time", "17:19:12.123456+02:00", "15:19:12.123456Z"),
        ("iso_offset_time", "17:19:12.123456+02:00", "15:19:12.123456Z"),
        ("iso_local_date", "2013-09-08", "2013-09-08"),
        ("iso_local_time", "17:19:12.123456", "15:19:12.123456"),
        ("iso_local_date_time", "2013-09-08T17:19:12.123456", "2013-09-08T15:19:12.123456"),
        ("iso_instant", "2013-09-08T15:19:12.123456Z", "2013-09-08T15:19:12.123456Z"),
        ("iso_ordinal_date", "2013-251+02:00", "2013-251Z"),
        ("iso_week_date", "2013-W36-7+02:00", "2013-W36-7Z"),
        ("rfc_1123_date_time", "Sun, 8 Sep 2013 17:19:12 +0200", "Sun, 8 Sep 2013 15:19:12 GMT"),
    ],
)
def test_named_formats(name: str, paris: str, utc: str) -> None:
    assert format_datetime(MOMENT, name, "Europe/Paris") == paris
    assert format_datetime(MOMENT, name) == utc


def test_iso_local_time_trims_the_fraction() -> None:
    assert format_datetime(MOMENT.replace(microsecond=120000), "iso_local_time") == "15:19:12.12"
    assert format_datetime(MOMENT.replace(microsecond=0), "iso_local_time") == "15:19:12"


@pytest.mark.parametrize("pattern", ["YYYY", "yyyy-MM-dd b", "QQQQQQ", "ddd", "HHH", "aa", "MMMMM", "V", "yyyy'T"])
def test_unsupported_patterns_raise(pattern: str) -> None:
    with pytest.raises(ValueError):
        format_datetime(MOMENT, pattern)


def test_unsupported_letter_message_names_the_letter() -> None:
    with pytest.raises(ValueError, match="letter 'Y' is not supported"):
        compile_pattern("YYYY")


def test_compiled_patterns_are_cached() -> None:
    assert compile_pattern("yyyy-MM-dd") is compile_pattern("yyyy-MM-dd")


def test_localized_styles_are_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        format_datetime(MOMENT, "medium")


def test_non_english_locale_is_refused_only_for_names() -> None:
    assert format_datetime(MOMENT, "yyyy-MM", locale="fr") == "2013-09"
    assert format_datetime(MOMENT, "MMM", locale="en_US") == "Sep"
    with pytest.raises(ValueError, match="English"):
        format_datetime(MOMENT, "MMMM", locale="fr")


def test_format_instant() -> None:
    assert format_instant(datetime(2024, 7, 9, 6, 17, 1, 171193, tzinfo=timezone.utc)) == "2024-07-09T06:17:01.171193Z"
    assert format_instant(datetime(2019, 1, 1, 9, tzinfo=timezone.utc)) == "2019-01-01T09:00:00Z"
    assert format_instant(datetime(2019, 1, 1, 9, 0, 0, 170000, tzinfo=timezone.utc)) == "2019-01-01T09:00:00.170Z"
    assert format_instant(MOMENT) == "2013-09-08T15:19:12.123456Z"


def test_to_datetime_iso_strings() -> None:
    assert to_datetime("2019-03-01T09:00:00Z") == datetime(2019, 3, 1, 9, tzinfo=timezone.utc)
    assert format_instant(to_datetime("2013-09-08T16:19:12.123456+01")) == "2013-09-08T15:19:12.123456Z"
    assert format_instant(to_datetime("2013-09-08T17:19:12.5+02:00[Europe/Paris]")) == "2013-09-08T15:19:12.500Z"
    assert format_instant(to_datetime("2013-09-08T17:19")) == "2013-09-08T17:19:00Z"


def test_to_datetime_local_strings_use_the_time_zone() -> None:
    paris = "Europe/Paris"
    assert format_datetime(to_datetime("2013-09-08T17:19:12", time_zone=paris), "iso", paris) == (
        "2013-09-08T17:19:12.000000+02:00")
    assert format_datetime(to_datetime("2013-09-08", time_zone=paris), "iso", paris) == (
        "2013-09-08T00:00:00.000000+02:00")


def test_to_datetime_returns_the_requested_zone() -> None:
    result = to_datetime("2019-03-01T09:00:00Z", time_zone="Europe/Paris")
    assert (result.hour, result.utcoffset()) == (10, timedelta(hours=1))


def test_to_datetime_python_values() -> None:
    assert to_datetime(datetime(2020, 1, 1, 10)) == datetime(2020, 1, 1, 10, tzinfo=timezone.utc)
    assert to_datetime(date(2020, 1, 1)) == datetime(2020, 1, 1, 12, tzinfo=timezone.utc)
    naive_in_paris = to_datetime(datetime(2020, 1, 1, 10), time_zone="Europe/Paris")
    assert naive_in_paris.hour == 10 and naive_in_paris.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1378653552, "2013-09-08T15:19:12Z"),
        (1378653552123, "2013-09-08T15:19:12.123Z"),
        (1378653552123456, "2013-09-08T15:19:12.123456Z"),
        (1378653552123456000, "2013-09-08T15:19:12.123456Z"),
        (1378653552.5, "2013-09-08T15:19:12.500Z"),
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_to_datetime_epoch_numbers(number: float, expected: str) -> None:
    assert format_instant(to_datetime(number)) == expected


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("July 24, 2001", "MMMM dd, yyyy", "2001-07-24T00:00:00Z"),
        ("08.09.2023", "dd.MM.yyyy", "2023-09-08T00:00:00Z"),
        ("08092023", "ddMMyyyy", "2023-09-08T00:00:00Z"),
        ("20230908 1705", "yyyyMMdd HHmm", "2023-09-08T17:05:00Z"),
        ("2023-09-08 05:05 PM", "yyyy-MM-dd hh:mm a", "2023-09-08T17:05:00Z"),
        ("2023-09-08T17:05:00.250+02:00", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2023-09-08T15:05:00.250Z"),
        ("23/251 10", "yy/DDD HH", "2023-09-08T10:00:00Z"),
        ("Fri 8 Sep 2023 10:00 Europe/Paris", "EEE d MMM yyyy HH:mm VV", "2023-09-08T08:00:00Z"),
        ("Tue, 08 Feb 2022 19:38:26 GMT", "rfc_1123_date_time", "2022-02-08T19:38:26Z"),
        ("2022-02-08T19:38:26+01:00", "iso_sec", "2022-02-08T18:38:26Z"),
        ("2022-02-08T19:38:26.000001Z", "iso", "2022-02-08T19:38:26.000001Z"),
    ],
)
def test_to_datetime_with_existing_format(text: str, pattern: str, expected: str) -> None:
    assert format_instant(to_datetime(text, pattern)) == expected


def test_existing_format_and_time_zone_like_kestra() -> None:
    result = to_datetime("Tue, 08 Feb 2022 19:38:26 GMT", "rfc_1123_date_time", "Europe/Paris")
    assert format_datetime(result, "iso", "Europe/Paris") == "2022-02-08T20:38:26.000000+01:00"


@pytest.mark.parametrize(
    ("value", "pattern"),
    [("2019-03-01 09:00:00", None), ("yesterday", None), ("2019-02-30", None), ("2023-09", "yyyy-MM"),
     ("Sat 8 Sep 2023", "EEE d MMM yyyy"), ("2023/09/08", "yyyy-MM-dd"), (True, None), ([2019], None)],
)
def test_to_datetime_errors_name_the_value(value: object, pattern: str | None) -> None:
    with pytest.raises(ValueError, match=re.escape(str(value)) if not isinstance(value, bool) else "boolean"):
        to_datetime(value, pattern)


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        to_datetime("2019-03-01T09:00:00Z", time_zone="Mars/Olympus")


def test_now_is_formatted_text() -> None:
    text = FUNCTIONS["now"]()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", text)
    assert FUNCTIONS["now"]("yyyy") == str(datetime.now(timezone.utc).year)
    paris = FUNCTIONS["now"](timeZone="Europe/Paris", format="XXX")
    assert paris in ("+01:00", "+02:00")
    assert FUNCTIONS["now"](format="iso_local_date") == datetime.now(timezone.utc).date().isoformat()


def test_from_json_and_its_alias() -> None:
    assert FUNCTIONS["fromJson"]('{"a": [1, 2.5, true, null]}') == {"a": [1, 2.5, True, None]}
    assert FUNCTIONS["json"]('"x"') == "x"
    assert FUNCTIONS["fromJson"](None) is None
    with pytest.raises(ValueError, match="expects an argument 'json' with type string"):
        FUNCTIONS["fromJson"](12)
    with pytest.raises(ValueError, match="Invalid json"):
        FUNCTIONS["fromJson"]("{nope")


def test_yaml_function() -> None:
    assert FUNCTIONS["yaml"]("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}
    with pytest.raises(ValueError, match="expects an argument 'yaml' with type string"):
        FUNCTIONS["yaml"](None)
    with pytest.raises(ValueError, match="Invalid yaml"):
        FUNCTIONS["yaml"]("a: [1")


def test_uuid() -> None:
    first, second = FUNCTIONS["uuid"](), FUNCTIONS["uuid"]()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
    assert first != second


def test_random_int() -> None:
    values = {FUNCTIONS["randomInt"](1, 4) for _ in range(300)}
    assert values == {1, 2, 3}
    assert FUNCTIONS["randomInt"](5, 5) == 5
    with pytest.raises(ValueError, match="upper is less than lower"):
        FUNCTIONS["randomInt"](5, 1)
    with pytest.raises(ValueError, match="integer"):
        FUNCTIONS["randomInt"]("1", 5)


def test_range_is_inclusive() -> None:
    assert FUNCTIONS["range"](1, 3) == [1, 2, 3]
    assert FUNCTIONS["range"](0, 10, 5) == [0, 5, 10]
    assert FUNCTIONS["range"](3, 1, -1) == [3, 2, 1]
    assert FUNCTIONS["range"]("a", "c") == ["a", "b", "c"]
    assert FUNCTIONS["range"](3, 1) == []
    with pytest.raises(ValueError, match="different from 0"):
        FUNCTIONS["range"](1, 3, 0)
    with pytest.raises(ValueError, match="numbers or strings of length 1"):
        FUNCTIONS["range"]("ab", "c")


def test_max_and_min() -> None:
    assert FUNCTIONS["max"](1, 5.5, 3) == 5.5
    assert FUNCTIONS["min"](4, -2, 3) == -2
    assert FUNCTIONS["max"]() is None
    with pytest.raises(ValueError, match="cannot compare"):
        FUNCTIONS["max"](1, "a")

