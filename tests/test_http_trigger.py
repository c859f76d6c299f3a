"""io.kestra.plugin.core.http.Trigger: validation, and polls of a real HTTP server on 127.0.0.1 driven by the
scheduler on a FakeClock (one poll per interval the test moves the clock by)."""

from __future__ import annotations

import base64
import socket
from datetime import timedelta

import pytest

import nb_orchestra
from nb_orchestra.errors import FlowValidationError
from nb_orchestra.model.http_trigger import DEFAULT_CONDITION, DEFAULT_INTERVAL, HttpTrigger
from nb_orchestra.secrets import set_secret
from nb_orchestra.triggers import FakeClock
from nb_orchestra.triggers.http_poll import PollResult, poll

from . import test_http, test_scheduler
from .conftest import flow_text

server = test_http.server  # fixture: test_http's server on 127.0.0.1
clock, scheduler = test_scheduler.clock, test_scheduler.scheduler  # fixtures: a FakeClock, the scheduler on it

START = "2024-01-01T00:00:00+00:00"  # the FakeClock's start, as in test_scheduler
PATIENCE = 30.0  # seconds settle() may wait for polls and executions (a busy 2-core machine)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_flow(trigger: str, flow_id: str = "polled",
              message: str = "{{ trigger.code }} {{ trigger.body }} {{ trigger.headers['Content-Type'][0] }}") -> str:
    return flow_text(f"""
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{message}"
    triggers:
      - id: http
        type: io.kestra.plugin.core.http.Trigger
{trigger}
    """, flow_id=flow_id)


def started(flow_id: str = "polled"):
    from nb_orchestra.engine.launch import recent

    return [e for e in recent if e.flow_id == flow_id]


def row(scheduler):
    [found] = [r for r in scheduler.rows() if r.trigger_id == "http"]
    return found


def load_problems(trigger: str) -> list[str]:
    with pytest.raises(FlowValidationError) as err:
        nb_orchestra.load_flow(http_flow(trigger))
    return [p.message for p in err.value.problems]


# -- declaration --------------------------------------------------------------------------------------


def test_defaults_and_the_legacy_type():
    flow = nb_orchestra.load_flow(http_flow("        uri: http://example.invalid/x").replace(
        "io.kestra.plugin.core.http.Trigger", "io.kestra.plugin.fs.http.Trigger"))
    [trigger] = flow.triggers
    assert isinstance(trigger, HttpTrigger)
    assert (trigger.response_condition, trigger.interval, trigger.uri) == (
        DEFAULT_CONDITION, DEFAULT_INTERVAL, "http://example.invalid/x")
    assert trigger.kind == "http.Trigger"


def test_missing_uri_is_refused():
    assert "missing required property 'uri' for an HTTP trigger" in load_problems("        interval: PT1M")


def test_unknown_property_is_refused_with_a_suggestion():
    [problem] = load_problems("        uri: http://x\n        responseConditon: '{{ true }}'")
    assert problem.startswith("unknown property 'responseConditon' for an HTTP trigger")
    assert "responseCondition" in problem.replace("responseConditon", "")


@pytest.mark.parametrize("interval, message", [
    ("soon", "'soon' is not an ISO-8601 duration"),
    ("PT0S", "must be a positive duration"),
])
def test_bad_interval_is_refused(interval, message):
    [problem] = load_problems(f"        uri: http://x\n        interval: {interval}")
    assert message in problem


def test_bad_method_options_and_encrypt_body_are_refused():
    problems = load_problems("        uri: http://x\n        method: FETCH\n        encryptBody: maybe\n"
                             "        options:\n          retries: 3")
    assert any("'FETCH' is not one of GET" in p for p in problems)
    assert any("unknown option 'retries'" in p for p in problems)
    assert any("must be true or false" in p for p in problems)


# -- polling ------------------------------------------------------------------------------------------


def test_a_true_condition_starts_one_execution_per_poll_with_the_response_as_trigger(scheduler, clock, server):
    nb_orchestra.register_flow(http_flow(f"        uri: {server}/json\n        interval: PT30S"))
    assert row(scheduler).next_fire.isoformat() == "2024-01-01T00:00:30+00:00"  # first poll: one interval on
    for polls in (1, 2):
        clock.advance(seconds=30)
        scheduler.settle(PATIENCE)  # the poll is answered and the execution it started has ended
        assert len(started()) == polls
    execution = started()[0]
    assert execution.state == "SUCCESS"
    assert execution.trigger["code"] == 200 and execution.trigger["uri"] == f"{server}/json"
    assert [log.message for log in execution.logs] == ['200 {"hello":"world","n":[1,2]} application/json']
    assert execution.trigger["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    assert row(scheduler).next_fire is not None and row(scheduler).warning is None


def test_a_false_condition_starts_nothing_and_polls_again(scheduler, clock, server):
    nb_orchestra.register_flow(http_flow(f"        uri: {server}/missing\n        interval: PT10S"))
    for next_poll in ("2024-01-01T00:00:20+00:00", "2024-01-01T00:00:30+00:00"):
        clock.advance(seconds=10)
        scheduler.settle(PATIENCE)
        assert row(scheduler).next_fire.isoformat() == next_poll  # polled, answered: one interval from now
    assert started() == []  # 404: the default condition (statusCode < 400) is false
    assert row(scheduler).warning is None


def test_a_server_that_is_down_is_a_warning_and_polling_goes_on(scheduler, clock, server, capsys):
    port = closed_port()
    nb_orchestra.register_flow(http_flow(f"        uri: http://127.0.0.1:{port}/x\n        interval: PT10S"))
    clock.advance(seconds=10)
    scheduler.settle(PATIENCE)
    assert f"cannot reach http://127.0.0.1:{port}/x" in row(scheduler).warning
    assert row(scheduler).enabled and row(scheduler).next_fire.isoformat() == "2024-01-01T00:00:20+00:00"
    assert "WARN trigger tests.polled.http: cannot reach" in capsys.readouterr().err
    # the server comes back (the flow now points at it): the next poll starts an execution
    nb_orchestra.register_flow(http_flow(f"        uri: {server}/json\n        interval: PT10S"))
    clock.advance(seconds=10)
    scheduler.settle(PATIENCE)
    assert [e.state for e in started()] == ["SUCCESS"] and row(scheduler).warning is None


def test_a_custom_condition_reads_the_response_body(scheduler, clock, server):
    nb_orchestra.register_flow(http_flow(
        f"        uri: {server}/json\n        interval: PT5S\n"
        "        responseCondition: \"{{ json(response.body).hello == 'world' and response.statusCode == 200 }}\"",
        message="{{ json(trigger.body).n[1] }}"))
    nb_orchestra.register_flow(http_flow(
        f"        uri: {server}/json\n        interval: PT5S\n"
        "        responseCondition: \"{{ json(response.body).hello == 'mars' }}\"", flow_id="never"))
    clock.advance(seconds=5)
    scheduler.settle(PATIENCE)
    assert [log.message for log in started()[0].logs] == ["2"]
    assert started("never") == []


def test_a_condition_that_does_not_render_is_a_warning(scheduler, clock, server):
    nb_orchestra.register_flow(http_flow(
        f"        uri: {server}/json\n        interval: PT5S\n        responseCondition: \"{{{{ nope.here }}}}\""))
    clock.advance(seconds=5)
    scheduler.settle(PATIENCE)
    assert row(scheduler).warning.startswith("responseCondition:")
    assert started() == []


def test_the_interval_is_honoured(scheduler, clock, server):
    nb_orchestra.register_flow(http_flow(f"        uri: {server}/json\n        interval: PT1M"))
    clock.advance(seconds=59)
    scheduler.settle(PATIENCE)
    assert started() == [] and row(scheduler).next_fire.isoformat() == "2024-01-01T00:01:00+00:00"
    clock.advance(seconds=1)
    scheduler.settle(PATIENCE)
    assert len(started()) == 1
    assert row(scheduler).next_fire == clock.now() + timedelta(minutes=1)


def test_stop_after_disables_the_trigger(scheduler, clock, server):
    nb_orchestra.register_flow(http_flow(f"        uri: {server}/json\n        interval: PT5S\n"
                                         "        stopAfter: [SUCCESS]"))
    clock.advance(seconds=5)
    scheduler.settle(PATIENCE)
    assert not row(scheduler).enabled
    clock.advance(seconds=60)
    scheduler.settle(PATIENCE)
    assert len(started()) == 1


def test_credentials_never_show_in_warnings_or_request_logs(server, capsys):
    set_secret("API_TOKEN", "tok-123456")
    try:
        flow = nb_orchestra.load_flow(http_flow(
            f"        uri: http://127.0.0.1:{closed_port()}/x\n"
            "        headers:\n          X-Api-Key: \"{{ secret('API_TOKEN') }}\"\n"
            "        options:\n          logs: [REQUEST_HEADERS]\n"
            "          auth: {type: BASIC, username: ann, password: s3cr3t-pw}"))
        result = poll(flow, flow.triggers[0], FakeClock(START).now())
    finally:
        set_secret("API_TOKEN", None)
    assert result.warning is not None and "cannot reach" in result.warning
    logged = capsys.readouterr().err
    assert "X-Api-Key: ******" in logged and "Authorization: Basic ******" in logged
    for secret in ("tok-123456", "s3cr3t-pw", base64.b64encode(b"ann:s3cr3t-pw").decode()):
        assert secret not in logged and secret not in result.warning


def test_basic_auth_reaches_the_server_and_a_refusal_is_no_execution(server):
    flow = nb_orchestra.load_flow(http_flow(
        f"        uri: {server}/auth\n        options:\n"
        "          auth: {type: BASIC, username: user, password: pass}"))
    result = poll(flow, flow.triggers[0], FakeClock(START).now())
    assert result.variables is not None and (result.variables["code"], result.variables["body"]) == (200, "welcome")
    anonymous = nb_orchestra.load_flow(http_flow(f"        uri: {server}/auth"))
    assert poll(anonymous, anonymous.triggers[0], FakeClock(START).now()) == PollResult()  # 401: condition false


def test_flow_triggers_shows_why_the_last_poll_failed(scheduler, clock, ip):
    from IPython.utils.capture import capture_output

    port = closed_port()
    nb_orchestra.register_flow(http_flow(f"        uri: http://127.0.0.1:{port}/x\n        interval: PT10S"))
    clock.advance(seconds=10)
    scheduler.settle(PATIENCE)
    with capture_output() as captured:
        ip.run_line_magic("flow", "triggers")
    shown = captured.stdout + "".join(str(o.data.get("text/plain", "")) for o in captured.outputs)
    assert "warning" in shown and f"cannot reach http://127.0.0.1:{port}/x" in shown


def test_the_response_a_poll_hands_to_its_execution_holds_no_secret(server):
    set_secret("API_TOKEN", "tok-654321")
    try:
        flow = nb_orchestra.load_flow(http_flow(f"        uri: \"{server}/json?key={{{{ secret('API_TOKEN') }}}}\""))
        result = poll(flow, flow.triggers[0], FakeClock(START).now())
    finally:
        set_secret("API_TOKEN", None)
    assert result.variables is not None and "tok-654321" not in repr(result.variables)
    assert "key=******" in result.variables["uri"]
