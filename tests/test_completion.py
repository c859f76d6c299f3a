"""Tab completion in a real IPython InteractiveShell (and once through a real kernel): ``%%flow``
cells complete types, properties and expressions; ``%flow`` lines complete subcommands, options,
flow ids and execution ids. ``‸`` marks the cursor in each text."""

from __future__ import annotations

import os
import textwrap
import warnings

from IPython.core.completer import provisionalcompleter

import nb_orchestra

CARET = "‸"
CELL = """\
%%flow
id: demo
namespace: company.team
inputs:
  - id: user
    type: STRING
  - id: day
    type: DATE
variables:
  greeting: hello
  region: eu
tasks:
  - id: load
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.user }}"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - id: inner-step
        type: io.kestra.plugin.core.log.Log
        message: hi
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ EXPRESSION }}"
"""
ROOTS = ["inputs", "outputs", "vars", "taskrun", "item", "parent", "parents", "execution", "flow", "task",
         "trigger", "labels", "envs", "tasks"]
COMMON_OPTIONAL = ["description", "disabled", "runIf", "timeout", "retry", "allowFailure", "allowWarning",
                   "logLevel", "logToFile", "workerGroup", "taskCache"]
SUBCOMMANDS = ["list", "show", "run", "executions", "purge", "logs", "outputs", "eval", "kill", "resume",
               "validate", "restart", "replay", "triggers", "backfill", "gantt", "test", "doc", "files"]


def complete(ip, text: str) -> list[str]:
    """The texts IPython offers at the caret of ``text``, in order."""
    assert text.count(CARET) == 1
    offset = text.index(CARET)
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text.replace(CARET, ""), offset)]


def in_expression(typed: str) -> str:
    return CELL.replace("{{ EXPRESSION }}", "{{ " + typed + CARET + " }}")


def after_line(line: str, typed: str, cell: str = CELL) -> str:
    """``cell`` with a new line ``typed`` (caret at its end) inserted after the line ``line``."""
    head, tail = cell.split(line + "\n", 1)
    return f"{head}{line}\n{typed}{CARET}\n{tail}"


# -- types --------------------------------------------------------------------------------------

def test_task_types_after_type_current_names_first_then_other_names(ip):
    assert complete(ip, after_line("  - id: report", "    type: Log")) == [
        "io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log"]
    assert complete(ip, after_line("  - id: report", "    type: io.kestra.plugin.core.flow.")) == [
        f"io.kestra.plugin.core.flow.{name}" for name in (
            "AllowFailure", "Dag", "EachParallel", "EachSequential", "ForEach", "ForEachItem", "If", "Loop",
            "LoopUntil",
            "Parallel", "Pause", "Sequential", "Sleep", "Subflow", "Switch", "WorkingDirectory")] + [
            # the other names of Subflow and LoopUntil
            "io.kestra.plugin.core.flow.Flow", "io.kestra.plugin.core.flow.WaitFor"]
    assert complete(ip, after_line("  - id: report", "    type: io.kestra.core.tasks.flows.I")) == [
        "io.kestra.core.tasks.flows.If"]
    assert complete(ip, after_line("tasks:", "  - type: io.kestra.plugin.core.debug.R")) == [
        "io.kestra.plugin.core.debug.Return"]


def test_input_trigger_and_retry_types(ip):
    assert complete(ip, after_line("  - id: day", "    type: D")) == ["DATE", "DATETIME", "DURATION"]
    triggers = CELL + "triggers:\n  - id: nightly\n    type: " + CARET + "\n"
    assert complete(ip, triggers) == [
        "io.kestra.plugin.core.http.Trigger", "io.kestra.plugin.core.trigger.Flow",
        "io.kestra.plugin.core.trigger.Schedule", "io.kestra.plugin.core.trigger.ScheduleOnDates",
        "io.kestra.plugin.core.trigger.Webhook", "io.kestra.core.models.triggers.types.Flow",
        "io.kestra.core.models.triggers.types.Schedule", "io.kestra.core.models.triggers.types.Webhook",
        "io.kestra.plugin.fs.http.Trigger"]
    retry = after_line("    format: \"{{ inputs.user }}\"", "    retry:\n      type: ")
    assert complete(ip, retry) == ["constant", "exponential", "random"]


# -- properties ---------------------------------------------------------------------------------

def test_properties_of_the_task_type_required_first_those_present_left_out(ip):
    at_report = after_line("    message: \"{{ EXPRESSION }}\"", "    ")
    assert complete(ip, at_report) == ["level", *COMMON_OPTIONAL]
    assert complete(ip, after_line("  - id: report", "    ")) == ["level", *COMMON_OPTIONAL]  # type is below
    assert complete(ip, after_line("  - id: report", "    l")) == ["level", "logLevel", "logToFile"]
    new_task = after_line("  - id: load", "    type: io.kestra.plugin.core.log.Log\n  - id: shout\n"
                                          "    type: io.kestra.plugin.core.log.Log\n    ",
                          CELL.replace("  - id: load\n    type: io.kestra.plugin.core.debug.Return\n"
                                       "    format: \"{{ inputs.user }}\"\n", "  - id: load\n"))
    assert complete(ip, new_task) == ["message", "level", *COMMON_OPTIONAL]


def test_a_new_task_item_offers_id_and_type_and_the_top_level_offers_the_flows_properties(ip):
    assert complete(ip, after_line("tasks:", "  - ")) == ["id", "type"]
    assert complete(ip, after_line("tasks:", "  - id: first\n    ")) == ["type"]
    assert complete(ip, after_line("  region: eu", "")) == [
        "revision", "description", "labels", "errors", "finally", "afterExecution", "triggers",
        "pluginDefaults", "taskDefaults", "retry", "concurrency", "outputs", "disabled", "sla", "checks",
        "listeners"]


# -- expressions --------------------------------------------------------------------------------

def test_expression_roots_then_functions(ip):
    offered = complete(ip, in_expression(""))
    assert offered[:17] == [*ROOTS, "kv(", "secret(", "render("]
    assert sorted(offered[17:]) == sorted(f + "(" for f in (
        "block", "errorLogs", "fetchContext", "fileExists", "fromIon", "fromJson", "id", "json", "loopOutputs",
        "max", "min", "currentEachOutput", "encrypt", "decrypt", "fileSize", "fileURI",
        "now", "printContext", "randomInt", "randomPort", "range", "read", "renderOnce", "uuid", "yaml"))
    assert complete(ip, in_expression("in")) == ["inputs"]
    assert complete(ip, in_expression("inputs.user ~ ou")) == ["outputs"]


def test_the_flows_own_inputs_variables_and_tasks(ip):
    assert complete(ip, in_expression("inputs.")) == ["user", "day"]
    assert complete(ip, in_expression("inputs.d")) == ["day"]
    assert complete(ip, in_expression("inputs['")) == ["user", "day"]
    assert complete(ip, in_expression("vars.")) == ["greeting", "region"]
    assert complete(ip, in_expression("outputs.")) == ["load", "each", "report"]  # a hyphen needs brackets
    assert complete(ip, in_expression("outputs['")) == ["load", "each", "inner-step", "report"]
    assert complete(ip, in_expression("taskrun.")) == ["id", "startDate", "attemptsCount", "value", "iteration",
                                                       "parentId"]


def test_the_outputs_a_task_type_declares(ip):
    assert complete(ip, in_expression("outputs.load.")) == ["value"]
    assert complete(ip, in_expression("outputs['load'].v")) == ["value"]
    cell = CELL.replace("io.kestra.plugin.core.debug.Return", "io.kestra.plugin.core.flow.If")
    assert complete(ip, cell.replace("{{ EXPRESSION }}", "{{ outputs.load." + CARET + " }}")) == [
        "evaluationResult"]


def test_filters_after_a_pipe_and_tests_after_is(ip):
    assert complete(ip, in_expression("inputs.user | up")) == ["upper"]
    assert complete(ip, in_expression("inputs.user | date")) == ["date", "dateAdd"]
    assert complete(ip, in_expression("inputs.user | ")) [:4] == ["abbreviate", "abs", "base64decode", "base64encode"]
    assert complete(ip, in_expression("inputs.user is ")) == ["defined", "null", "empty", "even", "odd", "iterable",
                                                              "map", "json"]


def test_tags_at_the_start_of_a_statement(ip):
    cell = CELL.replace("{{ EXPRESSION }}", "{% " + CARET + " %}")
    assert complete(ip, cell) == ["if", "elseif", "else", "endif", "for", "endfor", "set", "filter", "endfilter",
                                  "macro", "endmacro", "raw", "endraw"]
    assert complete(ip, CELL.replace("{{ EXPRESSION }}", "{% for x in inputs." + CARET + " %}")) == ["user", "day"]


# -- the line magic -----------------------------------------------------------------------------

def test_subcommands_options_and_choices(ip):
    assert complete(ip, "%flow " + CARET) == SUBCOMMANDS
    assert complete(ip, "%flow re" + CARET) == ["resume", "restart", "replay"]
    assert complete(ip, "%flow logs --" + CARET) == ["--help", "--level", "--task"]
    assert complete(ip, "%flow logs --level " + CARET) == ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
    assert complete(ip, "%flow replay --f" + CARET) == ["--from"]
    assert complete(ip, "%flow doc io.kestra.plugin.core.log." + CARET) == [
        "io.kestra.plugin.core.log.Fetch", "io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.log.PurgeLogs"]
    assert complete(ip, "x = 1\n%flow ex" + CARET) == ["executions"]


def test_flow_ids_and_execution_ids(ip):
    flow = nb_orchestra.register_flow("id: hello\nnamespace: company.team\ntasks:\n  - id: t\n"
                                      "    type: io.kestra.plugin.core.debug.Return\n    format: x\n")
    first = nb_orchestra.run(flow)
    second = nb_orchestra.run(flow)
    assert complete(ip, "%flow run " + CARET) == ["hello", "company.team.hello"]
    assert complete(ip, "%flow logs " + CARET) == [second.id, first.id]  # newest first
    assert complete(ip, "%flow logs " + first.id[:4] + CARET) == [
        i for i in (second.id, first.id) if i.startswith(first.id[:4])]
    assert complete(ip, "%flow show " + CARET) == ["hello", "company.team.hello", second.id, first.id]
    assert "hello" not in complete(ip, "%flow run hello -i x=1 --out " + CARET)  # a free value: no flow ids
    assert complete(ip, "%flow eval --execution " + CARET) == [second.id, first.id]


def test_the_options_of_the_cell_magic_on_its_first_line(ip):
    assert complete(ip, "%%flow --n" + CARET + "\nid: x\n") == ["--no-run"]
    assert complete(ip, "%%flow -" + CARET) == ["--help", "-h", "--input", "-i", "--out", "-o", "--background",
                                                "--allow-failure", "--no-run"]


def test_the_legacy_complete_api_for_a_line(ip):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        assert ip.complete("", "%flow sh", 8) == ("sh", ["show"])
        assert ip.complete("", "%flow logs --le", 15) == ("--le", ["--level"])


def test_other_cells_keep_pythons_completion(ip):
    ip.user_ns["nbo_completion_probe"] = 1
    assert "nbo_completion_probe" in complete(ip, "nbo_completion_pr" + CARET)
    test_cell = "%%flowtest\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Lo" + CARET
    assert "io.kestra.plugin.core.log.Log" not in complete(ip, test_cell)  # a flow test is no flow


# -- through a real kernel ----------------------------------------------------------------------

def test_a_kernel_completes_a_flow_cell_and_documents_a_type(tmp_path):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path),
                              env={**os.environ, "NB_ORCHESTRA_HOME": str(tmp_path / "home")})
    try:
        reply = kc.execute_interactive("%load_ext nb_orchestra", timeout=60)
        assert reply["content"]["status"] == "ok"
        cell = in_expression("outputs.")
        kc.complete(cell.replace(CARET, ""), cell.index(CARET))
        content = kc.get_shell_msg(timeout=60)["content"]
        assert content["status"] == "ok"
        assert content["matches"] == ["load", "each", "report"]
        assert (content["cursor_start"], content["cursor_end"]) == (cell.index(CARET), cell.index(CARET))
        typed = after_line("  - id: report", "    type: io.kestra.plugin.core.log.Lo")
        kc.complete(typed.replace(CARET, ""), typed.index(CARET))
        content = kc.get_shell_msg(timeout=60)["content"]
        assert content["matches"] == ["io.kestra.plugin.core.log.Log"]
        assert content["cursor_start"] == typed.index(CARET) - len("io.kestra.plugin.core.log.Lo")
        source = textwrap.dedent(CELL)
        kc.inspect(source, source.index("core.log.Log") + len("core.log.Lo"))
        content = kc.get_shell_msg(timeout=60)["content"]
        assert content["found"] is True
        assert content["data"]["text/plain"].startswith("### `io.kestra.plugin.core.log.Log`\n")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
