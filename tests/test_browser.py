"""End to end in a real browser: JupyterLab or Notebook 7 + headless Chromium (Playwright) + a live kernel.

The input form of a ``%%flow`` cell is filled in and Executed like a person would; the live tree
runs to SUCCESS and the Execution is bound to the flow's variable. An invalid flow shows the
located message, not a traceback. Every test runs in both front ends (ids ``lab`` and ``notebook``).

Needs: ``bash scripts/setup-dev.sh`` (Debian's chromium; jupyterlab, notebook and playwright from the dev
extra). Missing pieces fail these tests with the install commands; nothing is skipped.

Screenshots go to test-artifacts/ (gitignored; Notebook 7's prefixed ``notebook-``); with
NBO_UPDATE_SCREENSHOTS=1 the README's docs/images/form.png and docs/images/tree.png are rewritten
from Lab instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .jupyter_server import (
    INSTALL_HINT,
    JupyterServer,
    cell,
    launch_chromium,
    missing_requirements,
    open_notebook,
    output_text,
    run_cell,
    screenshot,
    write_notebook,
)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = REPO / "docs" / "images" if os.environ.get("NBO_UPDATE_SCREENSHOTS") == "1" else ARTIFACTS

FLOW_CELL = """%%flow
id: greet
namespace: company.team
inputs:
  - id: user
    type: STRING
    displayName: Your name
    description: Who gets greeted.
  - id: mood
    type: SELECT
    displayName: Mood
    values: [happy, sleepy, grumpy]
    defaults: sleepy
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.user }}, you look {{ inputs.mood }}"
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.5S
  - id: answer
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.user }} is {{ inputs.mood }}"
"""

BROKEN_CELL = """%%flow
id: broken
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    mesage: hi
"""

FLOWTEST_CELL = """%%flowtest
id: greet_tests
namespace: company.team
flowId: greet
testCases:
  - id: answers_without_the_nap
    type: io.kestra.core.tests.flow.UnitTest
    fixtures:
      inputs: {user: Bob, mood: grumpy}
      tasks:
        - id: nap
    assertions:
      - value: "{{ outputs.answer.value }}"
        equalTo: Bob is grumpy
"""

CELLS = [
    "%load_ext nb_orchestra",
    FLOW_CELL,
    'print("OUTPUT:", greet.outputs.answer.value)',
    BROKEN_CELL,
    FLOWTEST_CELL,
]
LOAD, FORM, PRINT, BROKEN, FLOWTEST = range(5)

# Every text the flow's badge showed in the live widget, recorded by a MutationObserver (a poll
# from Python could miss a state that lasted less than its interval).
RECORD_BADGES_JS = """() => {
  window.nboBadges = [];
  const note = () => {
    const badge = document.querySelector('.nbo-runs .nbo-exec .nbo-head .nbo-badge');  // live, then static
    const text = badge && badge.textContent.trim();
    if (text && window.nboBadges[window.nboBadges.length - 1] !== text) window.nboBadges.push(text);
  };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def notebook_page(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One Jupyter server per front end (JupyterLab, Notebook 7), one Chromium page, the test
    notebook open with its kernel idle. ``page.server.app`` tells which front end it is."""
    missing = missing_requirements()
    if missing:
        pytest.fail(f"missing: {', '.join(missing)}\n{INSTALL_HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="nbo-browser-"))
    write_notebook(root / "demo.ipynb", CELLS)
    started = time.monotonic()
    with JupyterServer(root, request.param) as server, sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except Exception as exc:  # noqa: BLE001  (e.g. a Chromium too old for this Playwright)
            pytest.fail(f"Chromium did not start: {exc}\n{INSTALL_HINT}", pytrace=False)
        page = browser.new_page(viewport={"width": 1000, "height": 1100})
        page.server = server
        try:
            open_notebook(page, server, "demo.ipynb")
            front_end = page.evaluate("() => `${window.jupyterapp.name} ${window.jupyterapp.version}`")
            print(f"\n[browser] {front_end}: server {server.startup_seconds:.1f}s, page+kernel idle at "
                  f"{time.monotonic() - started:.1f}s, Chromium {browser.version}")
            yield page
        finally:
            browser.close()
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def artifacts_on_failure(page: Any, name: str) -> Iterator[None]:
    """On a failure keep a page screenshot and the server log in test-artifacts/."""
    try:
        yield
    except BaseException:
        name = f"FAILED-{page.server.app}-{name}"
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        with contextlib.suppress(Exception):
            (ARTIFACTS / f"{name}-server.log").write_text(page.server.log())
        raise


def picture(page: Any, name: str, readme: bool = False) -> Path:
    """Where a screenshot goes: test-artifacts/, Notebook 7's prefixed ``notebook-``; Lab's README
    pictures to SCREENSHOTS (docs/images/ with NBO_UPDATE_SCREENSHOTS=1)."""
    lab = page.server.app == "lab"
    folder = SCREENSHOTS if readme and lab else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (name if lab else f"notebook-{name}")


def badge(page: Any) -> str:
    return page.locator(".nbo-runs .nbo-exec .nbo-head .nbo-badge").inner_text().strip()


def test_form_execute_live_tree_and_variable(notebook_page):
    page = notebook_page
    with artifacts_on_failure(page, "form"):
        run_cell(page, LOAD)
        run_cell(page, FORM)  # returns at once: the form waits for Execute
        output = cell(page, FORM).locator(".jp-OutputArea")
        form = output.locator(".nbo-form")
        form.wait_for(timeout=30_000)
        assert "company.team.greet inputs" in form.inner_text()
        assert form.locator(".nbo-input-user input").input_value() == ""
        assert form.locator(".nbo-input-mood select").input_value() == "sleepy"  # the default
        assert page.locator(".nbo-live").count() == 0  # nothing runs before Execute
        screenshot(page, form, picture(page, "form.png", readme=True), fit=True)

        # Execute with the required input empty: an error under its field, nothing runs
        form.locator(".nbo-execute").click()
        error = form.locator(".nbo-input-user").locator("xpath=..").locator(".nbo-field-error")
        page.wait_for_function("e => e.textContent.trim() !== ''", arg=error.element_handle(), timeout=15_000)
        assert error.inner_text().strip() == "Required."  # under the field of `user`, which names it
        assert page.locator(".nbo-live").count() == 0

        form.locator(".nbo-input-user input").fill("Ann")
        form.locator(".nbo-input-mood select").select_option("happy")
        page.evaluate(RECORD_BADGES_JS)
        clicked = time.monotonic()
        form.locator(".nbo-execute").click()
        runs = output.locator(".nbo-runs")
        runs.locator(".nbo-exec").wait_for(timeout=15_000)
        # the live widget, then (replaced through its display id) the final tree as static HTML
        page.wait_for_function("() => /SUCCESS/.test(document.querySelector("
                               "'.nbo-runs .nbo-exec .nbo-head .nbo-badge')?.textContent || '')"
                               " && !document.querySelector('.nbo-live')", timeout=30_000)
        finished = time.monotonic() - clicked
        seen = page.evaluate("() => window.nboBadges")
        print(f"\n[browser] Execute -> SUCCESS in the live tree: {finished:.2f}s; badges seen: {seen}")
        assert any("RUNNING" in text for text in seen), seen
        assert "SUCCESS" in badge(page)
        assert form.locator(".nbo-field-error").all_inner_texts() == ["", ""]  # errors cleared
        assert "Execution #1 submitted" in form.locator(".nbo-status").inner_text()

        tree = runs.locator(".nbo-exec").inner_text()
        for task in ("hello", "nap", "answer"):
            assert re.search(rf"{task}\s+SUCCESS", tree), tree
        assert output.locator(".nbo-kill").count() == 0  # no widget once finished, no Kill button
        screenshot(page, runs.locator(".nbo-exec"), picture(page, "tree.png", readme=True), fit=True)

        run_cell(page, PRINT)
        assert "OUTPUT: Ann is happy" in output_text(page, PRINT)


def test_invalid_flow_shows_located_error(notebook_page):
    page = notebook_page
    with artifacts_on_failure(page, "invalid"):
        run_cell(page, LOAD)  # harmless when loaded already; keeps this test independent
        run_cell(page, BROKEN)
        text = output_text(page, BROKEN)
        print(f"\n[browser] invalid flow cell shows:\n{text}")
        assert "unknown property 'mesage'" in text
        assert "did you mean 'message'" in text
        assert "line 7, column 5" in text  # counted as the notebook shows it: %%flow is line 1
        assert re.search(r"7 \|\s+mesage: hi\n\s+\|\s+\^", text), text  # the line, a caret
        assert "Traceback" not in text
        assert cell(page, BROKEN).locator(".nbo-form, .nbo-exec").count() == 0
        screenshot(page, cell(page, BROKEN).locator(".jp-OutputArea-output"), picture(page, "invalid-flow.png"))


def test_flowtest_cell_shows_its_report(notebook_page):
    page = notebook_page
    with artifacts_on_failure(page, "flowtest"):
        run_cell(page, LOAD)
        run_cell(page, FORM)  # registers the flow `greet` (its form waits; nothing runs)
        run_cell(page, FLOWTEST)
        report = cell(page, FLOWTEST).locator(".nbo-flowtest")
        report.wait_for(timeout=30_000)
        text = report.inner_text()
        print(f"\n[browser] %%flowtest cell shows:\n{text}")
        assert "✓ SUCCESS" in text and "answers_without_the_nap" in text and "1 passed" in text
        assert "Traceback" not in output_text(page, FLOWTEST)
        screenshot(page, report, picture(page, "flowtest.png"), fit=True)
