"""Secret values (SECRET inputs and secret() reads) never leave the engine in clear: not in logs,
trees, JSON, the store, labels, loop values, subflows or a saved notebook's HTML."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse

import pytest

import nb_orchestra
from nb_orchestra.config import settings
from nb_orchestra.store import close_store, recorder
from nb_orchestra.store.sqlite import FILE_NAME
from nb_orchestra.views.html import execution_report_html
from nb_orchestra.views.text import execution_tree

PASSWORD = "Tr0ub4dor&3-horse"

FLOW = """
id: leaky
namespace: security
inputs:
  - id: password
    type: SECRET
labels:
  owner: "{{ secret('API_KEY') }}"
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "pw={{ inputs.password }} b64={{ inputs.password | base64encode }} url={{ inputs.password | urlencode }}"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["{{ secret('API_KEY') }}", "plain"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
  - id: keep
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.password }}"
  - id: child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: security
    flowId: child
    inputs:
      token: "{{ secret('API_KEY') }}"
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "bad {{ inputs.password }}"
"""
CHILD = """
id: child
namespace: security
inputs:
  - id: token
    type: STRING
tasks:
  - id: echo
    type: io.kestra.plugin.core.log.Log
    message: "child got {{ inputs.token }}"
"""
API_KEY = "sk-live-0123456789"


def forms(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode().rstrip("="), urllib.parse.quote(value, safe="")]


def assert_hidden(text: str, where: str) -> None:
    for secret in (PASSWORD, API_KEY):
        for form in forms(secret):
            assert form not in text, f"{form!r} leaks in {where}"


@pytest.fixture
def leaky():
    settings.store = None
    recorder.start_recording()
    nb_orchestra.set_secret("API_KEY", API_KEY)
    nb_orchestra.register_flow(CHILD)
    ex = nb_orchestra.run(FLOW, inputs={"password": PASSWORD})
    recorder.flush()
    yield ex
    nb_orchestra.set_secret("API_KEY", None)
    recorder.stop_recording()
    close_store()


def test_the_run_still_uses_the_clear_values(leaky):
    assert leaky.state == "FAILED"
    assert leaky.outputs["keep"]["value"] == PASSWORD  # Python objects are the user's own
    assert leaky.inputs["password"] == PASSWORD


def test_logs_trees_and_reports_hide_every_form(leaky):
    children = [ex for ex in nb_orchestra.api.recent_executions() if ex.flow_id == "child"]
    for ex in (leaky, *children):
        assert_hidden("\n".join(f"{log.value} {log.message}" for log in ex.logs), f"logs of {ex.flow_id}")
        assert_hidden(execution_tree(ex), "the text tree")
        assert_hidden(execution_report_html(ex), "the HTML report")
    assert "******" in execution_tree(leaky) and "******" in execution_report_html(leaky)


def test_the_store_holds_no_secret_bytes(leaky, isolated_home):
    data = (isolated_home / FILE_NAME).read_bytes()
    for wal in isolated_home.glob(FILE_NAME + "-wal"):
        data += wal.read_bytes()
    for secret in (PASSWORD, API_KEY):
        for form in forms(secret):
            assert form.encode() not in data


def test_the_cli_json_and_logs_hide_them(tmp_path, isolated_home):
    flow = tmp_path / "leaky.yaml"
    flow.write_text(FLOW.replace("  - id: child\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: "
                                 "security\n    flowId: child\n    inputs:\n      token: \"{{ secret('API_KEY') }}\"\n",
                                 ""))
    env = {**os.environ, "SECRET_API_KEY": base64.b64encode(API_KEY.encode()).decode()}
    run = [sys.executable, "-m", "nb_orchestra", "run", str(flow), "--home", str(isolated_home),
           "--input", f"password={PASSWORD}"]
    printed = subprocess.run(run + ["--json"], capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(printed.stdout)["state"] == "FAILED"
    assert_hidden(printed.stdout + printed.stderr, "--json")
    tree = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert_hidden(tree.stdout + tree.stderr, "the CLI's tree and live logs")
    logs = subprocess.run([sys.executable, "-m", "nb_orchestra", "logs", "--home", str(isolated_home)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert "pw=******" in logs.stdout
    assert_hidden(logs.stdout, "nb-orchestra logs")


def test_a_template_cannot_switch_masking_off():
    nb_orchestra.set_secret("API_KEY", API_KEY)
    try:
        ex = nb_orchestra.run("""
id: sneaky
namespace: security
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(\\"{{ secret('API_KEY') }}\\", _nbo_scope={'_runtime': null}) }}"
""")
    finally:
        nb_orchestra.set_secret("API_KEY", None)
    assert_hidden("\n".join(log.message for log in ex.logs), "a render() with an internal keyword")


def test_masked_forms_include_encodings():
    from nb_orchestra.secrets import SecretValues, mask

    hidden = SecretValues([PASSWORD])
    text = " ".join(forms(PASSWORD) + [PASSWORD.replace("&", "&amp;")])
    assert mask(text, hidden) == " ".join(["******"] * 4)


def test_flow_outputs_magic_masks_what_the_saved_notebook_keeps(leaky):
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nb_orchestra")
    shown = ip.run_line_magic("flow", f"outputs {leaky.id}")
    assert_hidden(repr(shown), "%flow outputs")
    assert shown["keep"]["value"] == "******"


def test_a_refused_secret_input_is_not_repeated_in_the_error():
    flow = """
id: guarded
namespace: security
inputs:
  - id: pin
    type: SECRET
    validator: "[0-9]{4}"
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: ok
"""
    with pytest.raises(nb_orchestra.InputError) as info:
        nb_orchestra.run(flow, inputs={"pin": "letmein-now"})
    assert "letmein-now" not in str(info.value) and info.value.problems[0].input_id == "pin"


def test_ex_outputs_shown_in_a_cell_is_masked_but_reads_clear(leaky):
    from IPython.lib.pretty import pretty

    assert_hidden(pretty(leaky.outputs), "ex.outputs as a cell's value")
    assert_hidden(repr(leaky.outputs), "repr(ex.outputs)")
    assert leaky.outputs.keep.value == PASSWORD
