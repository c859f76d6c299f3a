"""One expression cannot freeze or exhaust the interpreter: user regular expressions run with a time
limit, and ranges and string widths are bounded, each with a clear error."""

from __future__ import annotations

import re
import time

import pytest

import nb_orchestra
from nb_orchestra.errors import InputError, TemplateError
from nb_orchestra.expressions.patterns import REGEX_TIMEOUT

SLOW = "(a|aa)+$"
TEXT = "a" * 5000 + "!"


def elapsed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def test_a_catastrophic_replace_fails_after_the_time_limit():
    def render() -> None:
        with pytest.raises(TemplateError, match="took more than 1 s on this text"):
            nb_orchestra.render("{{ text | replace({pattern: 'x'}, regexp=true) }}", {"text": TEXT, "pattern": SLOW})
    assert elapsed(render) < REGEX_TIMEOUT + 5


def test_a_catastrophic_split_fails_after_the_time_limit():
    def render() -> None:
        with pytest.raises(TemplateError, match="split: the regular expression"):
            nb_orchestra.render("{{ text | split(pattern) }}", {"text": TEXT, "pattern": SLOW})
    assert elapsed(render) < REGEX_TIMEOUT + 5


def test_a_catastrophic_validator_is_an_input_error():
    flow = f"""
id: guarded
namespace: security
inputs:
  - id: word
    type: STRING
    validator: "{SLOW}"
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: ok
"""
    with pytest.raises(InputError, match="took more than"):
        nb_orchestra.run(flow, inputs={"word": TEXT})


@pytest.mark.parametrize(("expression", "message"), [
    ("{{ range(0, 10000000000) | length }}", "more than the 1,000,000 a template may make"),
    ("{{ 'x'.ljust(10000000000) }}", "ljust(): a width above 10,000,000"),
    ("{{ 'x'.zfill(10000000000) }}", "zfill(): a width above"),
    ("{{ '{:>100000000000}'.format(1) }}", "format(): a width above"),
])
def test_sizes_are_bounded(expression, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        nb_orchestra.render(expression)


def test_ordinary_uses_still_work():
    assert nb_orchestra.render("{{ range(1, 3) }}") == "[1,2,3]"
    assert nb_orchestra.render("{{ 'a-b' | split('-') }}") == '["a","b"]'
    assert nb_orchestra.render("{{ '7'.zfill(3) }}") == "007"
    assert nb_orchestra.render("{{ 'ab' | replace({'(a)': '$1$1'}, regexp=true) }}") == "aab"
