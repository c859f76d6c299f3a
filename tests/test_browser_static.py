"""Every view ends as static HTML, in a real browser: a finished ``--background`` run survives a
kernel restart and a page reload (JupyterLab and Notebook 7, headless Debian Chromium).

Same needs as test_browser.py; missing pieces fail with the install commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from . import jupyter_server as lab
from .test_browser import artifacts_on_failure, picture

BACKGROUND_CELL = """%%flow --background
id: behind
namespace: company.team
tasks: [{id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}]
"""
FORM_CELL = """%%flow
id: asks
namespace: company.team
inputs:
  - {id: user, type: STRING}
tasks:
  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
  - {id: hello, type: io.kestra.plugin.core.log.Log, message: "Hi {{ inputs.user }}"}
"""
LOAD, BACKGROUND, FORM = range(3)

# The background cell's output holds no widget, and its tree says SUCCESS.
FINISHED_JS = """i => {
  const out = window.jupyterapp.shell.currentWidget.content.widgets[i].node.querySelector('.jp-OutputArea');
  return !out.querySelector('.nbo-live')
         && /SUCCESS/.test(out.querySelector('.nbo-exec .nbo-head')?.textContent || '');
}"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    cells = ["%load_ext nb_orchestra", BACKGROUND_CELL, FORM_CELL]
    with lab.notebook_in_browser(request.param, cells, "static.ipynb") as page:
        yield page


def test_the_runs_of_a_form_end_as_static_html(page):
    with artifacts_on_failure(page, "form-runs"):
        lab.run_cell(page, LOAD)
        lab.run_cell(page, FORM)
        output = lab.cell(page, FORM).locator(".jp-OutputArea")
        output.locator(".nbo-form .nbo-input-user input").fill("Ann")
        output.locator(".nbo-form .nbo-execute").click()
        output.locator(".nbo-live").wait_for(timeout=15_000)  # the runs' display: a live widget
        page.wait_for_function(FINISHED_JS, arg=FORM, timeout=30_000, polling=100)  # then the final tree
        tree = output.locator(".nbo-runs .nbo-exec")
        assert tree.count() == 1 and re.search(r"hello\s+SUCCESS", tree.inner_text())
        assert output.locator(".nbo-form").count() == 1  # the form stays, for the next Execute


def test_a_finished_background_run_survives_kernel_restart_and_reload(page):
    import nbformat

    with artifacts_on_failure(page, "restart"):
        lab.run_cell(page, LOAD)
        lab.run_cell(page, BACKGROUND)  # returns at once: a live widget with a Kill button
        lab.cell(page, BACKGROUND).locator(".nbo-live").wait_for(timeout=15_000)
        # at its end the widget is replaced, through its display id, by the final tree
        page.wait_for_function(FINISHED_JS, arg=BACKGROUND, timeout=30_000, polling=100)
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=15_000)
        saved = nbformat.read(str(page.root / "static.ipynb"), as_version=4).cells[BACKGROUND].outputs
        assert [sorted(out["data"]) for out in saved] == [["text/html", "text/plain"]]

        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
        page.wait_for_function(lab.KERNEL_READY_JS, timeout=60_000, polling=100)
        page.reload()
        lab.open_notebook(page, page.server, "static.ipynb")
        text = lab.output_text(page, BACKGROUND)
        print(f"\n[browser] {page.server.app}: the background run after restart + reload:\n{text}")
        assert "Error displaying widget" not in text and "model not found" not in text
        assert re.search(r"SUCCESS\s+company\.team\.behind", text), text
        assert re.search(r"nap\s+SUCCESS", text), text
        assert lab.cell(page, BACKGROUND).locator(".nbo-live, .jupyter-widgets").count() == 0
        output = lab.cell(page, BACKGROUND).locator(".jp-OutputArea-output")
        lab.screenshot(page, output, picture(page, "after-restart.png", readme=True), fit=True)


UNTRUSTED_FLOW = """id: untrusted
namespace: company.team
tasks:
  - {id: each, type: io.kestra.plugin.core.flow.ForEach, values: [a, b, c],
     tasks: [{id: check, type: io.kestra.plugin.core.execution.Fail, condition: "{{ taskrun.value == 'b' }}"}]}
  - {id: never, type: io.kestra.plugin.core.log.Log, message: hi}
"""

# What the saved tree looks like: computed styles of its parts.
STYLES_JS = """() => {
  const tree = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .nbo-exec');
  const css = e => getComputedStyle(e);
  return {styles: tree.querySelectorAll('style').length, bullets: [...tree.querySelectorAll('ul, li')]
            .map(e => css(e).listStyleType).filter(t => t !== 'none').length,
          badge: css(tree.querySelector('.nbo-badge')).backgroundColor,
          rule: css(tree.querySelector('.nbo-msg')).borderLeftColor};
}"""

# The least contrast (WCAG 2) of any text in the tree against what lies behind it: the text's
# colour faded by the opacities above it, over the first opaque background up the page.
CONTRAST_JS = """() => {
  const tree = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .nbo-exec');
  const rgba = s => { const n = s.match(/[\\d.]+/g).map(Number); return [n[0], n[1], n[2], n.length > 3 ? n[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const behind = e => {
    const layers = [];
    for (; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] === 1) break;
    }
    return layers.reverse().reduce((under, c) => over(c, under), [255, 255, 255, 1]);
  };
  const faded = e => { let o = 1; for (; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
  const lum = c => c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let worst = {ratio: 99, texts: 0, page: behind(tree).join(',')};
  for (const e of [tree, ...tree.querySelectorAll('*')]) {
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    worst.texts++;
    const under = behind(e), ink = rgba(getComputedStyle(e).color);
    ink[3] *= faded(e);
    const [hi, lo] = [lum(over(ink, under)), lum(under)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < worst.ratio) Object.assign(worst, {ratio, text: e.textContent.trim().slice(0, 40),
                                                   color: getComputedStyle(e).color, under: under.join(',')});
  }
  return worst;
}"""


def luminance(rgb: str) -> float:
    red, green, blue = (int(n) for n in re.findall(r"\d+", rgb)[:3])
    return (0.299 * red + 0.587 * green + 0.114 * blue) / 255


def test_a_saved_tree_keeps_its_styles_untrusted_and_reads_in_the_dark_theme(page):
    """A notebook saved elsewhere is untrusted: JupyterLab drops its <style> elements, so every
    style the tree needs is inline; its colours follow the theme (light, then dark)."""
    import nbformat

    import nb_orchestra as nbo
    from nb_orchestra.notebook.live import bundle

    with artifacts_on_failure(page, "untrusted"):
        ex = nbo.run(UNTRUSTED_FLOW)
        notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                     "language": "python"}})
        notebook.cells = [nbformat.v4.new_code_cell("%%flow\n" + UNTRUSTED_FLOW, outputs=[
            nbformat.v4.new_output("display_data", data=bundle(ex))])]
        nbformat.write(notebook, str(page.root / "untrusted.ipynb"))
        lab.open_notebook(page, page.server, "untrusted.ipynb")
        page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .nbo-exec")
        light = page.evaluate(STYLES_JS)
        print(f"\n[browser] {page.server.app}, untrusted tree, light theme: {light}")
        assert light["styles"] == 0  # sanitized: what shows comes from inline styles alone
        assert light["bullets"] == 0  # no `ul ul` circles
        assert light["badge"] == "rgb(171, 0, 9)" and light["rule"] == "rgb(171, 0, 9)"  # FAILED's colour
        contrast = page.evaluate(CONTRAST_JS)
        print(f"[browser] least text contrast, light theme: {contrast}")
        assert contrast["texts"] > 20 and contrast["ratio"] >= 4.5, contrast
        text = lab.output_text(page, 0)
        assert re.search(r"never\s+not run", text), text
        lab.screenshot(page, page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output"),
                       picture(page, "untrusted-light.png"))

        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        page.wait_for_timeout(500)  # the theme's stylesheet applies
        dark = page.evaluate(CONTRAST_JS)
        print(f"[browser] least text contrast, dark theme: {dark}")
        assert dark["texts"] > 20 and dark["ratio"] >= 4.5, dark
        assert luminance(dark["page"]) < 0.2  # measured on the dark page
        lab.screenshot(page, page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output"),
                       picture(page, "untrusted-dark.png"))
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
