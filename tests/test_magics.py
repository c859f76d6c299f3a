"""%%flow and %flow in a real IPython InteractiveShell."""

from __future__ import annotations

import _thread
import re
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest
from IPython.utils.capture import capture_output

from nb_orchestra import Execution, registry
from nb_orchestra.engine import launch
from nb_orchestra.errors import ExecutionInterrupted
from nb_orchestra.triggers import current_scheduler
from nb_orchestra.views.svg import STATE_COLORS

HELLO = """%%flow {options}
id: hello-demo
namespace: demo
inputs:
  - id: user
    type: STRING
    defaults: Ann
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello, {{{{ inputs.user }}}}!"
  - id: numbers
    type: io.kestra.plugin.core.output.OutputValues
    values:
      n: "{{{{ 40 + 2 }}}}"
      items: [1, 2]
"""


@pytest.fixture
def ip(ip):
    """conftest's shell, as a terminal IPython: no kernel, no earlier run bound."""
    ip.user_ns.pop("hello_demo", None)
    if hasattr(ip, "kernel"):
        delattr(ip, "kernel")
    return ip


def cell(ip, text: str):
    with capture_output() as captured:
        result = ip.run_cell(textwrap.dedent(text))
    return result, captured


def test_load_ext_twice_is_harmless(ip):
    ip.run_line_magic("load_ext", "nb_orchestra")
    ip.run_line_magic("reload_ext", "nb_orchestra")
    assert "flow" in ip.magics_manager.magics["cell"]
    assert "flow" in ip.magics_manager.magics["line"]
    result, _ = cell(ip, HELLO.format(options=""))
    assert result.success


def test_flow_cell_runs_and_binds_the_execution_with_python_types(ip):
    result, captured = cell(ip, HELLO.format(options=""))
    assert result.success, captured.stdout
    ex = ip.user_ns["hello_demo"]
    assert isinstance(ex, Execution) and ex.state == "SUCCESS"
    assert ex.outputs.numbers.values == {"n": "42", "items": [1, 2]}
    assert ex.outputs["numbers"]["values"]["n"] == "42"
    html = captured.outputs[-1].data["text/html"]
    assert "SUCCESS" in html and "greet" in html and "Hello, Ann!" in html
    assert "└─ ✓ numbers  SUCCESS" in captured.outputs[-1].data["text/plain"]


def test_inputs_and_out_name(ip):
    result, _ = cell(ip, HELLO.format(options="-i user=Bo -o run1"))
    assert result.success
    assert ip.user_ns["run1"].inputs == {"user": "Bo"}
    assert [log.message for log in ip.user_ns["run1"].logs] == ["Hello, Bo!"]
    assert "hello_demo" not in ip.user_ns


def test_a_misspelt_input_name_fails_the_cell_with_a_did_you_mean(ip, capsys):
    result = ip.run_cell(HELLO.format(options="-i usr=Bo"))
    assert not result.success and "hello_demo" not in ip.user_ns and not launch.recent
    out = capsys.readouterr().out
    assert "InputError: usr: Not an input of this flow; did you mean `user`?" in out and "Traceback" not in out
    result = ip.run_cell("%flow run hello-demo -i user=Bo -i colour=red")
    assert not result.success and not launch.recent
    assert "colour: Not an input of this flow (its inputs: user)." in capsys.readouterr().out


def test_a_bad_input_value_names_the_input_once(ip, capsys):
    result = ip.run_cell(HELLO.replace("type: STRING", "type: INT").format(options="-i user=abc"))
    assert not result.success
    assert "InputError: user: Not a whole number: `abc`.\n" in capsys.readouterr().out


def test_a_variable_holding_something_else_is_never_overwritten(ip, capsys):
    ip.user_ns["hello_demo"] = 123
    result, captured = cell(ip, HELLO.format(options=""))
    assert result.success
    assert ip.user_ns["hello_demo"] == 123
    assert captured.stderr.strip() == (
        "nb_orchestra: `hello_demo` already holds a int; the execution was not bound to it (use -o NAME)")


def test_invalid_flow_fails_the_cell_with_a_located_message(ip, capsys):
    result = ip.run_cell("%%flow\nid: bad\nnamespace: demo\ntasks:\n  - id: a\n    type: Logg\n")
    assert not result.success
    out = capsys.readouterr().out
    assert ("line 6, column 5: tasks[0].type: unknown task type 'Logg'; "
            "did you mean io.kestra.plugin.core.log.Log?") in out
    assert "    6 |     type: Logg" in out and "Traceback" not in out


def test_failed_execution_fails_the_cell_unless_allowed(ip, capsys):
    flow = """%%flow {options}
    id: broken
    namespace: demo
    tasks:
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: nope
    """
    result = ip.run_cell(textwrap.dedent(flow.format(options="")))
    assert not result.success
    assert "ended FAILED:\n  `boom` failed: nope\n" in capsys.readouterr().out
    assert ip.user_ns["broken"].state == "FAILED"
    result = ip.run_cell(textwrap.dedent(flow.format(options="--allow-failure -o again")))
    assert result.success and ip.user_ns["again"].state == "FAILED"


def test_no_run_only_registers(ip):
    result, captured = cell(ip, HELLO.format(options="--no-run"))
    assert result.success
    assert captured.stdout.strip() == "Registered demo.hello-demo (revision 1): 2 tasks, 1 input, 0 triggers"
    assert registry.find_flow("demo", "hello-demo").revision == 1
    assert "hello_demo" not in ip.user_ns


def test_missing_required_input_headless_names_the_inputs(ip, capsys):
    flow = "%%flow\nid: needs\nnamespace: demo\ninputs:\n  - id: who\n    type: STRING\n" \
           "tasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
    result = ip.run_cell(flow)
    assert not result.success
    assert ("MissingInputs: flow demo.needs needs a value for: who. Nobody can fill in a form here: "
            "pass -i who=VALUE or give the inputs defaults.") in capsys.readouterr().out


def test_missing_required_input_shows_the_form_in_a_live_front_end(ip):
    ip.kernel = SimpleNamespace(_allow_stdin=True)  # what ipykernel sets for JupyterLab's requests
    flow = "%%flow\nid: needs\nnamespace: demo\ninputs:\n  - id: who\n    type: STRING\n" \
           "tasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: 'hi {{ inputs.who }}'\n" \
           "  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT0.3S\n"
    result, captured = cell(ip, flow)
    assert result.success
    form_output, runs_output = captured.outputs[-2].data, captured.outputs[-1].data
    assert form_output["text/plain"].startswith("Input form for demo.needs: who (STRING, required)")
    assert "needs" not in ip.user_ns  # nothing ran yet
    form = find_widget(form_output)
    execute = find_child(form, "nbo-execute")
    execute.click()  # empty required field: an error next to it, nothing runs
    assert "needs" not in ip.user_ns
    assert "Required." in find_child(form, "nbo-field-error").value
    assert set(runs_output) == {"text/html", "text/plain"}  # no run yet: static, no widget
    find_child(form, "nbo-input-who").value = "Zoe"
    with capture_output() as clicked:
        execute.click()
    ex = ip.user_ns["needs"]
    live = clicked.outputs[0]  # the runs' display turns into a box of live widgets
    assert live.update and live.transient == captured.outputs[-1].transient
    runs = find_widget(live.data)
    assert "nbo-live" in runs.children[0]._dom_classes
    final = ended_display(ex)  # once nothing runs: every run's final tree, static
    assert ex.state == "SUCCESS" and [log.message for log in ex.logs] == ["hi Zoe"]
    assert final["transient"] == live.transient and set(final["data"]) == {"text/html", "text/plain"}
    assert final["data"]["text/html"].count('class="nbo-exec"') == 1 and "✓ demo.needs" in final["data"]["text/plain"]
    assert runs.comm is None
    with capture_output() as clicked:
        execute.click()  # each Execute starts a new execution, newest first
    again = ip.user_ns["needs"]
    assert again is not ex and "application/vnd.jupyter.widget-view+json" in clicked.outputs[0].data
    final = ended_display(again)
    assert final["data"]["text/html"].count('class="nbo-exec"') == 2
    assert final["data"]["text/html"].index(again.id) < final["data"]["text/html"].index(ex.id)


def find_widget(data):
    from ipywidgets.widgets.widget import _instances

    return _instances[data["application/vnd.jupyter.widget-view+json"]["model_id"]]


def find_child(widget, css_class):
    """Depth-first search of a widget tree for the first widget with ``css_class``."""
    if css_class in getattr(widget, "_dom_classes", ()):
        return widget
    for child in getattr(widget, "children", ()):
        found = find_child(child, css_class)
        if found is not None:
            return found
    return None


def test_background_run_returns_at_once_and_finishes(ip):
    ip.kernel = SimpleNamespace(_allow_stdin=True)
    started = time.monotonic()
    result, captured = cell(ip, """%%flow --background
    id: slow
    namespace: demo
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.5S
    """)
    assert result.success and time.monotonic() - started < 0.4
    ex = ip.user_ns["slow"]
    assert ex.state in ("CREATED", "RUNNING")
    shown = captured.outputs[-1]
    assert "application/vnd.jupyter.widget-view+json" in shown.data and "demo.slow" in shown.data["text/html"]
    view = find_widget(shown.data)
    final = ended_display(ex)
    # the display is replaced, through its id, by the final tree: static HTML and text, no widget
    assert final["transient"]["display_id"] == shown.transient["display_id"] and final["update"]
    assert set(final["data"]) == {"text/html", "text/plain"}
    assert "SUCCESS" in final["data"]["text/html"] and "✓ demo.slow" in final["data"]["text/plain"]
    assert view.comm is None and all(child.comm is None for child in view.children)  # closed, children too


def ended_display(ex: Execution) -> dict:
    """The last display message published after ``ex`` ends (by its drawer thread)."""
    with capture_output() as later:
        assert ex.wait(5)
        deadline = time.monotonic() + 5
        while not later.outputs and time.monotonic() < deadline:
            time.sleep(0.02)
    assert later.outputs, "no display update after the end"
    out = later.outputs[-1]
    return {"data": out.data, "transient": out.transient, "update": out.update}


def test_live_view_redraws_a_few_times_a_second_not_per_event(ip):
    ip.kernel = SimpleNamespace(_allow_stdin=False)
    result, captured = cell(ip, """%%flow
    id: busy
    namespace: demo
    tasks:
      - id: loop
        type: io.kestra.plugin.core.flow.ForEach
        values: "{{ range(1, 3000) }}"
        tasks:
          - id: r
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }}"
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.6S
    """)
    assert result.success
    duration = ip.user_ns["busy"].duration
    updates = [o for o in captured.outputs if o.update]
    assert 2 <= len(updates) <= duration / 0.2 + 2  # 6,000 task-run events, a handful of redraws
    assert "SUCCESS" in updates[-1].data["text/html"]
    final = updates[-1].data["text/html"]
    assert "3002/3002 task runs done" in final  # the header's totals (3,000 iterations, the loop, nap)
    assert "3000/3000" in final and "▕██████████▏" in final  # the loop: one progress row
    assert "3000 finished</summary>" in final and "… 2950 more finished" in final  # folded, first 50 listed
    sizes = [len(o.data["text/html"]) for o in updates]
    assert max(sizes[:-1]) < 8_000 and sizes[-1] < 60_000, sizes  # running: counts; the end: 50 listed


def test_interrupt_kills_the_execution_and_keeps_it_bound(ip):
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    result, captured = cell(ip, """%%flow
    id: sleepy
    namespace: demo
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT30S
    """)
    ex = ip.user_ns["sleepy"]
    assert not result.success and isinstance(result.error_in_exec, ExecutionInterrupted)
    assert ex.state == "KILLED"
    assert "KILLED" in captured.outputs[-1].data["text/plain"]  # the tree ends KILLED
    assert result.error_in_exec._render_traceback_() == [f"Interrupted: execution {ex.id} KILLED"]


def test_line_magics(ip, capsys):
    cell(ip, HELLO.format(options=""))
    ex = ip.user_ns["hello_demo"]
    _, captured = cell(ip, "%flow list")
    assert "demo       hello-demo  1" in captured.outputs[-1].data["text/plain"]
    _, captured = cell(ip, "%flow show hello-demo")
    assert "id: hello-demo" in captured.outputs[0].data["text/plain"]
    assert "image/svg+xml" in captured.outputs[1].data
    _, captured = cell(ip, "%flow executions demo.hello-demo")
    assert ex.id in captured.outputs[-1].data["text/plain"]
    _, captured = cell(ip, f"%flow logs {ex.id[:6]} --level INFO")
    assert "greet: Hello, Ann!" in captured.stdout
    ip.run_cell("out = %flow outputs")
    assert ip.user_ns["out"]["numbers"]["values"]["n"] == "42"
    ip.run_cell('value = %flow eval "{{ (outputs.numbers.values.n | number) * 2 }} {{ inputs.user }}"')
    assert ip.user_ns["value"] == "84 Ann"
    _, captured = cell(ip, "%flow run hello-demo -i user=Cy -o third")
    assert ip.user_ns["third"].inputs == {"user": "Cy"}
    _, captured = cell(ip, "%flow validate hello-demo")
    assert captured.stdout.startswith("OK demo.hello-demo: 2 tasks")
    _, captured = cell(ip, "%flow gantt")
    assert "image/svg+xml" in captured.outputs[-1].data
    _, captured = cell(ip, "%flow kill")
    assert captured.stdout.strip() == "no running execution"


def test_kill_and_resume_from_line_magics(ip):
    ip.kernel = SimpleNamespace(_allow_stdin=True)
    cell(ip, """%%flow --background
    id: pausing
    namespace: demo
    tasks:
      - id: wait
        type: io.kestra.plugin.core.flow.Pause
    """)
    ex = ip.user_ns["pausing"]
    deadline = time.monotonic() + 5
    while ex.state != "PAUSED" and time.monotonic() < deadline:
        time.sleep(0.01)
    _, captured = cell(ip, "%flow resume")
    assert captured.stdout.strip() == f"resumed {ex.id}"
    assert ex.wait(5) and ex.state == "SUCCESS"
    cell(ip, """%%flow --background
    id: sleepy
    namespace: demo
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT30S
    """)
    _, captured = cell(ip, "%flow kill")
    assert "kill requested: demo.sleepy" in captured.stdout
    assert ip.user_ns["sleepy"].wait(5) and ip.user_ns["sleepy"].state == "KILLED"


def test_flow_run_expands_python_values_like_other_magics(ip):
    cell(ip, HELLO.format(options="--no-run"))
    ip.user_ns.update(flow_name="hello-demo", who="Ada Lovelace", n=2)
    result, captured = cell(ip, "%flow run $flow_name -i user=$who -o by_dollar")
    assert result.success, captured.stderr
    assert ip.user_ns["by_dollar"].inputs == {"user": "Ada Lovelace"}  # one argument, spaces and all
    cell(ip, "%flow run {flow_name} -i 'user={who.split()[0]} x{n + 1}' -o run_{n}")
    assert ip.user_ns["run_2"].inputs == {"user": "Ada x3"}
    cell(ip, "%flow run hello-demo -i 'user=$$5 {{braces}}' -o escaped")
    assert ip.user_ns["escaped"].inputs == {"user": "$5 {braces}"}
    cell(ip, "%flow run hello-demo -i 'user={unknown_name} $n' -o kept")
    assert ip.user_ns["kept"].inputs == {"user": "{unknown_name} $n"}  # as in IPython, what fails stays as written
    cell(ip, """%flow run hello-demo -i 'user={"a": 1}' -o json_kept""")
    assert ip.user_ns["json_kept"].inputs == {"user": '{"a": 1}'}


@pytest.mark.parametrize("line", ["%%flow --help", "%flow --help", "%flow run --help", "%flow logs --help",
                                  "%flow eval --help", "%flow executions --help"])
def test_every_magic_has_help(ip, capsys, line):
    # IPython itself refuses a cell magic with an empty body, so the help cell has one
    result = ip.run_cell(line + ("\nid: x" if line.startswith("%%") else ""))
    assert result.success
    assert "usage: %flow" in capsys.readouterr().out.replace("%%", "%")


def test_usage_errors_are_short(ip, capsys):
    result = ip.run_cell("%flow show nope")
    assert not result.success
    assert "UsageError: no registered flow 'nope'" in capsys.readouterr().err
    result = ip.run_cell("%flow frobnicate")
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_execution_reprs(ip):
    cell(ip, HELLO.format(options=""))
    ex = ip.user_ns["hello_demo"]
    html = ex._repr_html_()
    assert "Outputs" in html and "numbers" in html and "SUCCESS" in html
    data, _ = ip.display_formatter.format(ex)
    assert data["text/plain"].startswith("✓ demo.hello-demo")
    assert data["text/html"] == html


def test_kill_button_of_a_background_run(ip):
    ip.kernel = SimpleNamespace(_allow_stdin=True)
    _, captured = cell(ip, """%%flow --background -o napping
    id: sleepy
    namespace: demo
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT30S
    """)
    view = find_widget(captured.outputs[-1].data)
    ex = ip.user_ns["napping"]
    deadline = time.monotonic() + 5
    while ex.state != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.01)
    find_child(view, "nbo-kill").click()
    final = ended_display(ex)
    assert ex.state == "KILLED" and "KILLED" in final["data"]["text/html"]  # the final tree shows the end state


SCHEDULED = """%%flow --no-run
id: taxi
namespace: demo
inputs:
  - id: taxi
    type: STRING
    defaults: yellow
tasks:
  - id: file
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.taxi }}_tripdata_{{ trigger.date | date('yyyy-MM') }}.csv"
triggers:
  - id: green_schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 1 * *"
    inputs:
      taxi: green
"""


def test_scheduled_flow_triggers_listing_enable_disable(ip):
    result, captured = cell(ip, SCHEDULED)
    assert result.success and current_scheduler().running
    assert 'class="nbo-schedule"' in captured.outputs[-1].data["text/html"]  # plain HTML, no widget
    assert "application/vnd.jupyter.widget-view+json" not in captured.outputs[-1].data
    fallback = captured.outputs[-1].data["text/plain"]  # what a saved notebook shows without widgets
    assert fallback.startswith("schedule of demo.taxi:\ngreen_schedule  0 9 1 * *  ") and fallback.endswith("enabled")
    _, captured = cell(ip, "%flow triggers")
    table = captured.outputs[-1].data["text/plain"]
    assert "demo.taxi  green_schedule  Schedule  0 9 1 * *" in table and table.rstrip().endswith("yes")
    _, captured = cell(ip, "%flow triggers taxi --disable green_schedule")
    assert captured.outputs[-1].data["text/plain"].rstrip().endswith("no")
    result, _ = cell(ip, "%flow triggers --enable nope")
    assert not result.success


def test_backfill_magic_runs_one_execution_per_tick(ip):
    cell(ip, SCHEDULED)
    ip.run_cell("runs = %flow backfill taxi --start 2019-01-01 --end 2019-04-01")
    runs = ip.user_ns["runs"]
    assert [ex.outputs.file.value for ex in runs] == [
        "green_tripdata_2019-01.csv", "green_tripdata_2019-02.csv", "green_tripdata_2019-03.csv"]
    assert all(ex.labels["backfill"] == "true" and ex.state == "SUCCESS" for ex in runs)
    _, captured = cell(ip, "%flow backfill taxi --start 2019-01-01 --end 2019-03-01 -i taxi=yellow")
    final = captured.outputs[-1].data
    assert final["text/plain"].startswith("backfill demo.taxi: 2 executions")
    assert "2019-02-01T09:00:00+00:00" in final["text/html"]


def test_restart_and_replay_magics(ip, monkeypatch):
    monkeypatch.setenv("ENV_BROKEN", "yes")
    flow = """%%flow --allow-failure
    id: flaky
    namespace: demo
    tasks:
      - id: one
        type: io.kestra.plugin.core.debug.Return
        format: "{{ execution.id }}"
      - id: two
        type: io.kestra.plugin.core.execution.Fail
        condition: "{{ envs.broken ?? false }}"
    """
    cell(ip, flow)
    ex = ip.user_ns["flaky"]
    assert ex.state == "FAILED"
    result, _ = cell(ip, f"%flow restart {ex.id[:8]}")
    assert not result.success  # still broken: the cell fails again
    monkeypatch.delenv("ENV_BROKEN")
    result, captured = cell(ip, "%flow restart")
    assert result.success and ex.state == "SUCCESS"
    assert [len(r.attempts) for r in ex.taskruns] == [1, 3]
    assert "SUCCESS" in captured.outputs[-1].data["text/plain"]
    result, _ = cell(ip, f"%flow replay {ex.id} --from two -o again")
    again = ip.user_ns["again"]
    assert result.success and again.original_id == ex.id and again.outputs.one.value == ex.id


def test_config_sets_home_and_store(ip, tmp_path, monkeypatch):
    from nb_orchestra.config import settings

    monkeypatch.setattr(settings, "store", None)
    ip.run_line_magic("config", f"FlowMagics.home = {str(tmp_path / 'elsewhere')!r}")
    assert settings.home == tmp_path / "elsewhere"
    ip.run_line_magic("config", "FlowMagics.store = 'postgresql://u:p@127.0.0.1:5/db'")
    assert settings.store == "postgresql://u:p@127.0.0.1:5/db"
    with capture_output() as captured:
        ip.run_line_magic("config", "FlowMagics")
    assert "postgresql://... to keep executions in PostgreSQL" in captured.stdout


def test_a_failure_summary_names_every_failed_run_once_with_a_hint(ip, capsys):
    result = ip.run_cell(textwrap.dedent("""\
        %%flow
        id: doubling
        namespace: demo
        tasks:
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: [1, 2, 3, 4]
            concurrencyLimit: 0
            tasks:
              - id: double
                type: io.kestra.plugin.core.debug.Return
                format: "{{ taskrun.value * 2 }}"
        """))
    assert not result.success
    out = capsys.readouterr().out
    assert "ExecutionFailed" not in out and "Traceback" not in out  # the summary alone
    summary = out[out.index("execution "):]
    assert re.match(r"execution \w+ of demo\.doubling ended FAILED:\n", summary), summary
    assert "\n  4 runs of `double` failed: " in summary and summary.count("failed:") == 1
    assert "hint: loop values (`taskrun.value`) are text: use `| number`" in summary


def test_a_kill_ends_the_cell_with_one_line(ip, capsys):
    threading.Timer(0.5, lambda: ip.user_ns["sleepy"].kill()).start()
    result = ip.run_cell("%%flow\nid: sleepy\nnamespace: demo\ntasks:\n  - id: nap\n"
                         "    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT30S\n")
    assert not result.success
    ex = ip.user_ns["sleepy"]
    shown = capsys.readouterr().out
    assert ex.state == "KILLED" and f"Killed: execution {ex.id} KILLED" in shown and "ExecutionFailed" not in shown


def test_show_an_execution_draws_its_topology_coloured_by_state(ip):
    cell(ip, HELLO.format(options=""))
    ex = ip.user_ns["hello_demo"]
    for target in (ex.id[:8], "hello-demo"):  # an execution, or a flow (its YAML, then its latest execution)
        result, captured = cell(ip, f"%flow show {target}")
        assert result.success
        svg = captured.outputs[-1].data["image/svg+xml"]
        assert "OutputValues · SUCCESS" in svg and f'stroke="{STATE_COLORS["SUCCESS"]}"' in svg
    assert captured.outputs[0].data["text/plain"].startswith("id: hello-demo")
