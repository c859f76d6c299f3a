"""The HTML tree of an execution: loops as one progress row, a bounded live view, inline styles."""

from __future__ import annotations

import re

import nb_orchestra as nbo
from nb_orchestra.records import states
from nb_orchestra.views.html import MAX_CHILDREN, execution_html
from nb_orchestra.views.loops import MAX_ACTIVE, bar

LOG, FAIL = "io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.execution.Fail"
LOOP = ("id: loop\nnamespace: demo\ntasks:\n"
        "  - {{id: each, type: io.kestra.plugin.core.flow.ForEach, values: '{{{{ range(1, {size}) }}}}', "
        "concurrencyLimit: 0, tasks: [{{id: check, type: " + FAIL + ", condition: \"{{{{ taskrun.value == '7' }}}}\", "
        "errorMessage: seven}}]}}\n")


def loop(size: int) -> nbo.Execution:
    return nbo.run(LOOP.format(size=size))


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def as_running(ex: nbo.Execution, running: int) -> nbo.Execution:
    """``ex`` drawn as if still running, its last ``running`` iterations unfinished."""
    ex.state = states.RUNNING
    ex.taskrun("each").state = states.RUNNING
    for run in [run for run in ex.taskruns if run.task_id == "check"][-running:]:
        run.state = states.RUNNING
    return ex


def test_bar_in_eighths():
    assert bar(0) == "▕" + " " * 10 + "▏"
    assert bar(0.55) == "▕█████▌    ▏"
    assert bar(1) == "▕██████████▏"


def test_a_finished_loop_is_one_progress_row_with_failures_shown_and_the_rest_folded():
    ex = loop(30)
    assert ex.state == "FAILED"
    html = execution_html(ex)
    shown = text(html)
    assert "31/31 task runs done" in shown  # the header's totals: 30 iterations and the loop
    assert re.search(r"each FAILED ▕██████████▏ 30/30 · 1 failed", shown), shown
    assert re.search(r"\[7\] FAILED ✗ check FAILED \S+ seven", shown), shown  # the failed iteration, open
    assert "29 finished</summary>" in html  # the others folded, expandable
    assert html.count("<details") == html.count("</details>")
    stopped = nbo.run(LOOP.format(size=9).replace("concurrencyLimit: 0", "concurrencyLimit: 1")
                      .replace("'{{ range(1, 9) }}'", "[1, 2, 3, 4, 5, 6, 7, 8, 9]"))
    assert re.search(r"each FAILED ▕███████▊ ▏ 7/9 · 1 failed", text(execution_html(stopped)))  # 8, 9 never ran


def test_a_running_loop_shows_running_iterations_and_a_count_of_finished_ones():
    ex = as_running(loop(30), 4)
    html = execution_html(ex)
    shown = text(html)
    assert re.search(r"each RUNNING ▕████████▋ ▏ 26/30 · 4 running · 1 failed · ETA \S+", shown), shown
    assert shown.count("check RUNNING") == 4 and "25 finished" in shown and "finished</summary>" not in html
    assert "max-height:420px;overflow-y:auto" in html  # bounded, scrolled to the newest rows


def test_a_loop_over_an_expression_run_one_at_a_time_knows_its_total():
    """The values come from an expression and only one runs at a time: the flow's text cannot tell
    the total, the engine's plan does."""
    ex = as_running(nbo.run(LOOP.format(size=30).replace("concurrencyLimit: 0", "concurrencyLimit: 1")
                            .replace("== '7'", "== 'never'")), 1)
    assert re.search(r"each RUNNING ▕\S* *▏ 29/30 · 1 running · ETA", text(execution_html(ex)))
    ex.taskrun("each").planned = None  # what a view without the plan can say
    assert re.search(r"29/30\+ · 1 running", text(execution_html(ex)))


def test_a_loop_costs_the_same_at_10_and_10_000_iterations():
    small = execution_html(as_running(loop(10), 3))
    large = execution_html(as_running(loop(10_000), 3 * MAX_ACTIVE))
    assert text(large).count("check RUNNING") == MAX_ACTIVE and "… 20 more running" in text(large)
    assert len(large) < 2 * len(small)
    final = execution_html(loop(10_000))
    assert f"… {9_999 - MAX_CHILDREN} more finished" in text(final) and len(final) < 60_000


def test_styles_are_inline_with_theme_variables_and_lists_have_no_bullets():
    html = execution_html(loop(12))
    without_style_element = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    assert all("list-style:none" in tag for tag in re.findall(r"<(?:ul|li)\b[^>]*>", without_style_element))
    assert "color:var(--jp-ui-font-color1,#1f2430)" in html  # stripped untrusted: the theme's own colour
    # no coloured text on the page's background (its theme is unknown): colours come with their own
    assert all("background:" in style for style in re.findall(r'style="([^"]*)"', html)
               if re.search(r"(^|;)color:", style) and "--jp-ui-font-color1" not in style)
    assert 'class="nbo-msg" style="border-left:3px solid #AB0009' in html  # the theme's text, a red rule
    assert 'class="nbo-meta" style="opacity:0.7;' in html  # muted by fading: any theme
    assert 'class="nbo-badge" style="background:#AB0009;color:#fff' in html


FAILING = f"""id: failing
namespace: demo
tasks:
  - {{id: first, type: {LOG}, message: hi}}
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks: [{{id: boom, type: {FAIL}}}, {{id: after_boom, type: {LOG}, message: never}}]
  - {{id: last, type: {LOG}, message: never}}
errors: [{{id: on_error, type: {LOG}, message: cleaning up}}]
finally: [{{id: always, type: {LOG}, message: done}}]
"""


def test_tasks_that_never_ran_are_greyed_and_errors_finally_are_labelled():
    ex = nbo.run(FAILING)
    assert ex.state == "FAILED"
    html = execution_html(ex)
    shown = text(html)
    assert html.count('class="nbo-not-run"') == 2  # after_boom (in its group) and last
    assert re.search(r"boom FAILED .*· after_boom not run .*· last not run", shown), shown
    assert re.search(r"errors ✓ on_error SUCCESS .* finally ✓ always SUCCESS", shown), shown
    assert shown.index("last not run") < shown.index("errors")


def test_a_running_execution_shows_no_task_as_not_run():
    ex = nbo.run(FAILING)
    ex.state = states.RUNNING
    ex.taskrun("group").state = states.RUNNING
    html = execution_html(ex)
    assert "after_boom" not in html and "last not run" not in text(html)


def test_a_subflow_row_shows_the_child_execution_id():
    nbo.register_flow(f"id: child\nnamespace: demo\ntasks: [{{id: t, type: {LOG}, message: hi}}]\n")
    ex = nbo.run("id: parent\nnamespace: demo\n"
                 "tasks: [{id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: demo, flowId: child}]\n")
    child = ex.outputs.call.executionId
    assert re.search(rf"call SUCCESS → {child}", text(execution_html(ex)))


def test_a_parallel_with_many_children_is_one_progress_row_and_a_few_are_not():
    many = ", ".join(f"{{id: p{i}, type: {LOG}, message: hi}}" for i in range(12))
    html = execution_html(nbo.run(f"id: fan\nnamespace: demo\ntasks:\n"
                                  f"  - {{id: fan, type: io.kestra.plugin.core.flow.Parallel, tasks: [{many}]}}\n"))
    assert re.search(r"fan SUCCESS ▕██████████▏ 12/12", text(html)) and "12 finished</summary>" in html
    few = execution_html(nbo.run(f"id: fan\nnamespace: demo\ntasks:\n  - {{id: fan, type: "
                                 f"io.kestra.plugin.core.flow.Parallel, tasks: [{many.split(', {id: p2')[0]}]}}\n"))
    assert "▕" not in few and re.search(r"p0 SUCCESS .* p1 SUCCESS", text(few))


def test_the_text_tree_draws_a_loop_as_one_progress_row_too():
    from nb_orchestra.views.text import execution_tree

    tree = execution_tree(as_running(loop(10_000), 3 * MAX_ACTIVE))
    assert "└─ ▶ each  RUNNING  ▕" in tree and "9970/10000 · 30 running · 1 failed · ETA" in tree
    assert "✗ check [7]  FAILED  " in tree and tree.count("▶ check [") == MAX_ACTIVE
    assert "… 20 more running" in tree and tree.rstrip().endswith("9969 finished")
    assert len(tree.splitlines()) < 2 * MAX_ACTIVE + 10


def test_a_stored_execution_draws_its_tasks_that_never_ran(isolated_home):
    from nb_orchestra.api import find_execution
    from nb_orchestra.engine import launch

    ex = nbo.run(FAILING)
    launch.recent.clear()  # read it back from the store, as another process would
    stored = find_execution(ex.id)
    assert type(stored).__name__ == "StoredExecution"
    assert re.search(r"· last not run", text(execution_html(stored)))


def test_a_loop_is_sorted_in_one_pass_keeping_only_what_is_shown():
    from nb_orchestra.views.loops import Loop, progress

    ex = as_running(loop(300), running=12)
    each = ex.taskrun("each")
    summary = Loop(list(ex.children(each)), each, keep=5)
    assert [item.value for item in summary.failed] == ["7"] and summary.failed[0].state == states.FAILED
    assert len(summary.running) == 12 and summary.running[-1].value == "300"
    assert summary.finished_count == 300 - 12 - 1 and [item.value for item in summary.finished] == list("12345")
    assert progress(ex, each, summary).parts()[:3] == ["288/300", "12 running", "1 failed"]


def test_iterations_of_several_runs_take_the_worst_state():
    from nb_orchestra.views.loops import Loop

    ex = nbo.run("id: two\nnamespace: demo\ntasks:\n"
                 "  - {id: each, type: io.kestra.plugin.core.flow.ForEach, values: [a, b, c], tasks: [\n"
                 "      {id: hi, type: " + LOG + ", message: hi},\n"
                 "      {id: check, type: " + FAIL + ", condition: \"{{ taskrun.value == 'b' }}\",\n"
                 "       allowFailure: true}]}\n")
    each = ex.taskrun("each")
    summary = Loop(list(ex.children(each)), each, keep=2)
    assert [len(item.runs) for item in summary.finished] == [2, 2]  # two kept, each with both of its runs
    assert summary.finished_count == 3 and not summary.failed and not summary.running
    assert {item.value: item.state for item in summary.finished} == {"a": states.SUCCESS, "b": states.WARNING}


def test_grouped_keeps_lone_items_alone_and_order():
    from nb_orchestra.views.loops import grouped, members

    groups = grouped(["a1", "b1", "a2", "c1", "a3"], key=lambda word: word[0])
    assert list(groups) == ["a", "b", "c"] and groups["b"] == "b1"
    assert members(groups["a"]) == ["a1", "a2", "a3"] and members(groups["c"]) == ["c1"] and members(None) == []
