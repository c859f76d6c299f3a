"""The jq filter sees its input and nothing of the process: no environment, files or further inputs."""

from __future__ import annotations

import base64
import time

import pytest

import nb_orchestra
from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions.jq_sandbox import JQ_TIMEOUT


@pytest.fixture
def secret_in_environment(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", base64.b64encode(b"hunter2").decode())
    monkeypatch.setenv("NB_ORCHESTRA_STORE", "postgresql://kestra:pa55word@localhost/db")


@pytest.mark.parametrize("program", [
    "$ENV.SECRET_TOKEN", "$ENV", "env", "env.NB_ORCHESTRA_STORE", "[env] | length", "input", "inputs",
    "$__loc__", 'import "os" as os; .', 'include "x"; .', "input_filename",
])
def test_programs_reaching_outside_are_refused_with_a_clear_message(secret_in_environment, program):
    with pytest.raises(TemplateError, match="is not available in expressions"):
        nb_orchestra.render("{{ 1 | jq(program) }}", {"program": program})


def test_interpolated_environment_reads_nothing(secret_in_environment):
    rendered = nb_orchestra.render('{{ 1 | jq(program) | first }}', {"program": '"\\($ENV.SECRET_TOKEN)"'})
    assert rendered == "null" and "aHVudGVyMg" not in rendered


def test_ordinary_programs_and_keys_named_env_still_work():
    assert nb_orchestra.render("{{ data | jq('.a.env') | first }}", {"data": {"a": {"env": 3}}}) == "3"
    assert nb_orchestra.render("{{ [1, 2] | jq('map(. + 1)') }}") == "[[2,3]]"
    assert nb_orchestra.render("{{ 1 | jq('def f: . * 2; f') | first }}") == "2"
    assert nb_orchestra.render("{{ {'x': 'envoy'} | jq('.x') | first }}") == "envoy"


def test_a_program_that_never_ends_is_stopped_and_the_next_one_runs():
    started = time.monotonic()
    with pytest.raises(TemplateError, match="took more than"):
        nb_orchestra.render("{{ 1 | jq('def f: f; f') }}")
    assert time.monotonic() - started < JQ_TIMEOUT + 5
    assert nb_orchestra.render("{{ 1 | jq('. + 1') | first }}") == "2"


def test_a_task_timeout_stops_an_endless_program_at_once():
    started = time.monotonic()
    ex = nb_orchestra.run("""
id: endless_jq
namespace: security
tasks:
  - id: spin
    type: io.kestra.plugin.core.log.Log
    message: "{{ 1 | jq('def f: f; f') }}"
    timeout: PT1S
""")
    assert time.monotonic() - started < JQ_TIMEOUT
    assert ex.state == "FAILED" and "Timeout" in ex.taskrun("spin").message
