"""The live view in a real browser (JupyterLab and Notebook 7, headless Debian Chromium): a loop of
50 values is one progress row while it runs, a failed run ends with one short summary, and
interrupting the kernel gives one line, no traceback.

Same needs as test_browser.py; missing pieces fail with the install commands. Lab's screenshots
are docs/notebook.md's pictures with NBO_UPDATE_SCREENSHOTS=1 (test-artifacts/ otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from . import jupyter_server as lab
from .test_browser import artifacts_on_failure, picture

VALUES = ", ".join(str(n) for n in range(1, 51))
LOOP_CELL = f"""%%flow
id: fifty
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [{VALUES}]
    concurrencyLimit: 4
    tasks:
      - {{id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.4S}}
"""
FAILING_CELL = """%%flow
id: doubling
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3, 4]
    concurrencyLimit: 0
    tasks:
      - id: double
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value * 2 }}"
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: done
"""
SLEEPY_CELL = """%%flow
id: sleepy
namespace: company.team
tasks: [{id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT60S}]
"""
LOAD, LOOP, FAILING, SLEEPY = range(4)

# While the loop runs, read its live tree at one instant: the progress row's text and how many
# rows (list items) the tree draws.
LIVE_LOOP_JS = """i => {
  const tree = window.jupyterapp.shell.currentWidget.content.widgets[i].node.querySelector('.jp-OutputArea .nbo-exec');
  const text = tree ? tree.innerText.replace(/\\s+/g, ' ') : '';
  const row = text.match(/(\\d+)\\/50 · (\\d+) running/);
  return row && Number(row[1]) >= 8 && Number(row[1]) <= 42
         ? {text, rows: tree.querySelectorAll('li').length, done: Number(row[1]), running: Number(row[2])} : null;
}"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    cells = ["%load_ext nb_orchestra", LOOP_CELL, FAILING_CELL, SLEEPY_CELL]
    with lab.notebook_in_browser(request.param, cells, "live.ipynb", height=1000) as page:
        lab.run_cell(page, LOAD)
        yield page


def test_a_running_loop_of_fifty_is_one_progress_row(page):
    with artifacts_on_failure(page, "loop"):
        before = lab.start_cell(page, LOOP)
        seen = page.wait_for_function(LIVE_LOOP_JS, arg=LOOP, timeout=60_000, polling=50).json_value()
        lab.screenshot(page, lab.cell(page, LOOP).locator(".jp-OutputArea-output").first,
                       picture(page, "loop-running.png", readme=True))
        print(f"\n[browser] {page.server.app}: mid-run, {seen['rows']} rows: {seen['text'][:160]}")
        assert re.search(r"each RUNNING ▕[█▏▎▍▌▋▊▉ ]+▏ \d+/50 · [1-4] running", seen["text"]), seen
        assert 1 <= seen["running"] <= 4
        assert seen["rows"] <= 4 * 2 + 3  # running iterations (a row and its task each), the loop, a count
        assert re.search(r"\d+ finished", seen["text"])  # finished iterations are a count, not rows
        lab.wait_for_cell(page, LOOP, before, timeout_ms=90_000)
        text = lab.output_text(page, LOOP)
        assert re.search(r"each SUCCESS ▕██████████▏ 50/50", text), text
        assert "51/51 task runs done" in text and "50 finished" in text


def test_a_failed_run_ends_with_one_summary_naming_every_failure(page):
    with artifacts_on_failure(page, "failed"):
        lab.run_cell(page, FAILING)
        text = lab.output_text(page, FAILING)
        print(f"\n[browser] {page.server.app}: the failed run:\n{text}")
        assert re.search(r"FAILED\s+company\.team\.doubling", text), text
        assert "4 runs of double failed" in text.replace("`", ""), text
        assert "| number" in text  # the hint for text loop values
        assert "Traceback" not in text and "ExecutionFailed" not in text
        assert re.search(r"report\s+not run", text), text
        lab.screenshot(page, lab.cell(page, FAILING).locator(".jp-OutputArea"),
                       picture(page, "failed-run.png", readme=True))


def test_interrupting_the_kernel_kills_the_run_with_one_line(page):
    with artifacts_on_failure(page, "interrupt"):
        before = lab.start_cell(page, SLEEPY)
        page.wait_for_function("""i => /RUNNING/.test(window.jupyterapp.shell.currentWidget.content.widgets[i]
                                    .node.querySelector('.nbo-exec .nbo-head')?.textContent || '')""",
                               arg=SLEEPY, timeout=30_000, polling=100)
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.interrupt()")
        lab.wait_for_cell(page, SLEEPY, before, timeout_ms=30_000)
        text = lab.output_text(page, SLEEPY)
        print(f"\n[browser] {page.server.app}: after the interrupt:\n{text}")
        assert re.search(r"KILLED\s+company\.team\.sleepy", text), text
        assert len(re.findall(r"^Interrupted: execution \w+ KILLED$", text, re.M)) == 1, text
        assert "Traceback" not in text and "KeyboardInterrupt" not in text
