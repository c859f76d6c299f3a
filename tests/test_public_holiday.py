"""The PublicHoliday condition (io.kestra.plugin.core.condition.PublicHoliday and its legacy names),
with the calendars of the ``holidays`` package. Facts from Kestra's PublicHolidayTest."""

from __future__ import annotations

import sys
from datetime import datetime

import pytest

import nb_orchestra
from nb_orchestra.model import date_conditions
from nb_orchestra.model.condition_types import check_condition, parse_condition
from nb_orchestra.model.conditions import ConditionContext, ConditionError
from nb_orchestra.model.triggers import ScheduleTrigger, check_trigger

from .conftest import flow_text

CONDITION = "io.kestra.plugin.core.condition.PublicHoliday"
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"


def holiday(date: str, type_: str = CONDITION, variables: dict | None = None, **props: str) -> bool:
    condition = parse_condition({"type": type_, "date": date, **props})
    return condition.test(ConditionContext(variables=lambda: dict(variables or {})))


@pytest.mark.parametrize("date, props, result", [
    ("2023-07-14", {"country": "FR"}, True),  # PublicHolidayTest.valid
    ("2023-01-01", {"country": "FR"}, True),
    ("2023-03-08", {"country": "DE", "subDivision": "BE"}, True),  # Women's Day, in Berlin only
    ("2023-01-02", {"country": "FR"}, False),  # PublicHolidayTest.invalid
    ("2023-01-03", {"country": "FR"}, False),
    ("2023-03-08", {"country": "DE"}, False),
    ("2023-03-08", {"country": "DE", "subDivision": "BY"}, False),
    ("2023-03-08", {"country": "de", "subDivision": "DE-BE"}, True),  # ISO 3166-2's full code
    ("2023-03-08", {"country": "DE", "subDivision": "be"}, True),
    ("2023-03-08", {"country": "DE", "subDivision": " "}, False),  # blank: the whole country
    ("2023-07-14T23:30:00+02:00", {"country": "FR"}, True),  # a date-time: its own day
])
def test_public_holidays(date, props, result):
    assert holiday(date, **props) is result


def test_legacy_names_are_accepted():
    for legacy in ("io.kestra.core.models.conditions.types.PublicHolidayCondition",
                   "io.kestra.plugin.core.condition.PublicHolidayCondition"):
        assert check_condition({"type": legacy, "country": "FR"}) == []
        assert holiday("2023-07-14", legacy, country="FR") is True


def test_country_and_date_are_rendered():
    variables = {"vars": {"country": "FR", "day": "2023-07-14"}}
    assert holiday("{{ vars.day }}", country="{{ vars.country }}", variables=variables) is True


def test_without_a_country_the_default_locale_is_used(monkeypatch):
    # PublicHolidayTest.valid: 2023-01-01 with no country is a holiday in the default locale's country
    for variable in ("LC_ALL", "LC_CTYPE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert holiday("2023-01-01") is True
    assert holiday("2023-07-14") is True  # France's, not another country's
    monkeypatch.setenv("LC_ALL", "C")  # it wins over LANG, and names no country
    with pytest.raises(ConditionError, match="no country given, and the default locale names none"):
        holiday("2023-01-01")


def test_an_unknown_country_or_subdivision_is_a_short_error():
    with pytest.raises(ConditionError, match="no public holiday calendar for the country 'XX'$"):
        holiday("2023-01-01", country="XX")
    with pytest.raises(ConditionError, match="no public holiday calendar for the subdivision 'ZZ' of country 'DE'$"):
        holiday("2023-01-01", country="DE", subDivision="ZZ")


def test_without_the_holidays_package_the_error_names_the_extra(monkeypatch):
    date_conditions._calendar.cache_clear()
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(ConditionError, match=r"pip install 'nb-orchestra\[holidays\]'"):
        holiday("2023-01-01", country="FR")
    date_conditions._calendar.cache_clear()


def test_properties_that_are_not_strings_are_located():
    problems = check_trigger({"id": "s", "type": SCHEDULE, "cron": "@daily",
                              "conditions": [{"type": CONDITION, "country": ["FR"]}]})
    assert problems == [("conditions[0].country", "must be a string")]


def test_a_schedule_skips_the_ticks_on_public_holidays():
    # Kestra's example: work days are neither public holidays nor weekends
    trigger = ScheduleTrigger.from_dict({
        "id": "workdays", "type": SCHEDULE, "cron": "0 9 * * *", "timezone": "Europe/Paris",
        "conditions": [{"type": "io.kestra.plugin.core.condition.Not", "conditions": [
            {"type": CONDITION, "country": "FR"}, {"type": "io.kestra.plugin.core.condition.Weekend"}]}]})
    assert trigger.allows(datetime.fromisoformat("2023-07-13T09:00:00+02:00")) is True  # a Thursday
    assert trigger.allows(datetime.fromisoformat("2023-07-14T09:00:00+02:00")) is False  # Bastille Day
    assert trigger.allows(datetime.fromisoformat("2023-07-15T09:00:00+02:00")) is False  # a Saturday
    variables = trigger.variables(datetime.fromisoformat("2023-07-13T09:00:00+02:00"))
    assert variables["next"] == datetime.fromisoformat("2023-07-17T09:00:00+02:00")


def test_a_flow_with_the_condition_loads():
    flow = nb_orchestra.load_flow(flow_text(f"""
        tasks:
          - id: hello
            type: io.kestra.plugin.core.log.Log
            message: hi
        triggers:
          - id: daily
            type: {SCHEDULE}
            cron: "@daily"
            conditions:
              - type: {CONDITION}
                country: FR
                subDivision: "{{{{ vars.region }}}}"
        """))
    (trigger,) = flow.triggers
    assert isinstance(trigger, ScheduleTrigger)
    assert trigger.conditions == (
        date_conditions.PublicHoliday(country="FR", sub_division="{{ vars.region }}"),)
