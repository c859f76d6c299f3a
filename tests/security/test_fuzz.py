"""A small fuzz test (hypothesis, bounded examples): whatever a user types as a flow, an input or an
expression ends in a result or a short user error, in bounded time, and no secret value shows."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import nb_orchestra
from nb_orchestra.errors import UserError
from nb_orchestra.views.html import execution_report_html
from nb_orchestra.views.text import execution_tree

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SECONDS_PER_CASE = 3.0

YAML_PIECES = st.sampled_from([
    "id: f\n", "namespace: n\n", "tasks:\n", "  - id: t\n", "    type: io.kestra.plugin.core.log.Log\n",
    "    message: hi\n", "inputs:\n", "  - id: x\n", "    type: STRING\n", "&a [1, *a]\n", "x: &b {k: *b}\n",
    "- *a\n", "<<: *a\n", "{{ outputs.t.value }}\n", ": : :\n", "  \t\n", "\x00", "\ud800", "'unclosed\n",
    "? [1]\n: 2\n", "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* *'\n",
    "timeout: P99999999999999D\n", "    retry: {type: constant}\n",
])
EXPRESSION_PIECES = st.sampled_from([
    "{{", "}}", "{%", "%}", " x ", "inputs.x", "|", "upper", "(", ")", "'a'", "1", "+", "??", "range(0, 99)",
    "'(a|aa)+$'", "split(", "replace(", "jq(", "'$ENV'", "secret('K')", "render(", "_nbo_scope", "__class__",
    "[", "]", ",", ".", "ljust(99999999999)", "'x' * 3", "now()",
])
INPUT_TYPES = ["STRING", "INT", "FLOAT", "BOOL", "BOOLEAN", "DATE", "DATETIME", "TIME", "DURATION", "JSON", "YAML",
               "URI", "EMAIL", "ARRAY", "SECRET"]


def bounded(action) -> object:
    started = time.monotonic()
    try:
        return action()
    except UserError as exc:
        assert "Traceback" not in str(exc)
        return exc
    finally:
        assert time.monotonic() - started < SECONDS_PER_CASE


@FUZZ
@given(st.lists(YAML_PIECES, max_size=12).map("".join))
def test_any_flow_text_is_a_flow_or_a_located_user_error(text):
    bounded(lambda: nb_orchestra.load_flow(text + "\n"))


@FUZZ
@given(st.lists(EXPRESSION_PIECES, max_size=10).map("".join))
def test_any_expression_renders_or_is_a_template_error(template):
    bounded(lambda: nb_orchestra.render(template, {"inputs": {"x": "v"}}))


@FUZZ
@given(st.sampled_from(INPUT_TYPES), st.text(max_size=40))
def test_any_input_value_is_accepted_or_an_input_error(input_type, value):
    flow = (f"id: f\nnamespace: n\ninputs:\n  - id: x\n    type: {input_type}\n"
            "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: '{{ inputs.x }}'\n")
    bounded(lambda: nb_orchestra.load_flow(flow) and nb_orchestra.api.create(flow, {"x": value}))


@FUZZ
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=6, max_size=24))
@example("</div>")  # found by the fuzzer: text the HTML tree holds anyway
@example("pw=***")
def test_no_secret_input_shows_in_any_channel(secret):
    flow = ("id: f\nnamespace: n\ninputs:\n  - id: pw\n    type: SECRET\n"
            "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: 'pw={{ inputs.pw }}'\n")
    nb_orchestra.configure(record=False)
    try:
        ex = nb_orchestra.run(flow, inputs={"pw": secret})
        other = nb_orchestra.run(flow, inputs={"pw": "another-secret"})
    finally:
        nb_orchestra.configure(record=True)

    def channels(run):
        return ["\n".join(log.message for log in run.logs), execution_tree(run), execution_report_html(run)]

    shown = "\n".join([*channels(ex), json.dumps(ex.to_dict(), default=str, ensure_ascii=False)])
    from nb_orchestra.secrets import mask

    assert secret not in mask(shown, ex.secrets)
    # A secret may be text every page holds anyway ("</div>", "pw=***"): it must show no more often
    # than in the same run with another secret.
    for with_secret, without in zip(channels(ex), channels(other), strict=True):
        assert with_secret.count(secret) <= without.count(secret)
