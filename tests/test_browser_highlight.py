"""%%flow cells highlighted as YAML in a real browser (JupyterLab 4 and Notebook 7, headless Debian
Chromium): the prebuilt extension in nb_orchestra/labextension (labextension/ its sources) marks
keys, strings and the ``{{ … }}`` / ``{% … %}`` expressions, while a Python cell beside it stays
Python, and a cell switches language as its first line becomes (or stops being) ``%%flow``.

Same needs as test_browser.py, plus the extension where JupyterLab finds it (scripts/setup-dev.sh
links it into the venv; a wheel installs it). Lab's screenshot is docs/notebook.md's picture with
NBO_UPDATE_SCREENSHOTS=1 (test-artifacts/ otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import jupyter_server as lab
from .test_browser import artifacts_on_failure, picture

FLOW_CELL = """%%flow
id: signup
namespace: company.team
description: Who signs up for the course
inputs:
  - id: user
    type: STRING
    defaults: Ann
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.user | upper }}, welcome!"  # a comment
  - id: visits
    type: io.kestra.plugin.core.log.Log
    message: "{% if inputs.user == 'Ann' %}first{% else %}again{% endif %} visit"
"""
PYTHON_CELL = '''def greet(user):
    """Not a flow: {{ user }} is no expression here."""
    return f"Hello {user} for {{now}}"
'''
LATER_CELL = "x = 1"
FLOW, PYTHON, LATER = range(3)
PLUGIN = "nb-orchestra:flow-highlighting"

# Every piece of text of a cell's editor with the classes of the spans around it (innermost
# last) and its computed colour and weight; the theme's colours for keyword, string and
# variable-2 (expression) from a probe inside the editor.
TOKENS_JS = """i => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
  const content = cell.node.querySelector('.cm-content');
  const tokens = [];
  for (const line of content.querySelectorAll('.cm-line')) {
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const classes = [];
      for (let e = node.parentElement; e && e !== line; e = e.parentElement) classes.unshift(...e.classList);
      const style = getComputedStyle(node.parentElement);
      tokens.push({text: node.textContent, classes, color: style.color, weight: style.fontWeight});
    }
  }
  const colour = name => {
    const probe = document.createElement('span');
    probe.style.color = `var(--jp-mirror-editor-${name}-color)`;
    content.appendChild(probe);
    const value = getComputedStyle(probe).color;
    probe.remove();
    return value;
  };
  return {tokens, colours: {keyword: colour('keyword'), string: colour('string'), expression: colour('variable-2')}};
}"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with lab.notebook_in_browser(request.param, [FLOW_CELL, PYTHON_CELL, LATER_CELL], "highlight.ipynb") as page:
        if not page.evaluate(f"() => window.jupyterapp.isPluginActivated('{PLUGIN}')"):
            pytest.fail(f"{request.param}: the plugin {PLUGIN} is not active: is nb_orchestra/labextension linked into "
                        "the venv's share/jupyter/labextensions/nb-orchestra? (bash scripts/setup-dev.sh does it)")
        # Highlighting is the front end's: no kernel involved. Wait until the flow cell is drawn as YAML.
        page.wait_for_selector(".jp-Cell .cm-content .tok-atom", timeout=30_000)
        yield page


def tokens(page: Any, index: int) -> tuple[list[dict], dict[str, str]]:
    seen = page.evaluate(TOKENS_JS, index)
    return seen["tokens"], seen["colours"]


def having(toks: list[dict], css_class: str) -> list[str]:
    return [t["text"] for t in toks if css_class in t["classes"]]


def test_a_flow_cell_is_yaml_with_its_expressions_marked(page):
    with artifacts_on_failure(page, "highlight"):
        toks, colours = tokens(page, FLOW)
        print(f"\n[browser] {page.server.app}: flow cell tokens {[(t['text'], t['classes']) for t in toks][:12]}")
        # keys (the YAML mode's atoms, indentation included), strings, the comment, the magic
        keys = {text.strip() for text in having(toks, "tok-atom")}
        assert keys == {"id", "namespace", "description", "inputs", "type", "defaults", "tasks", "message"}, keys
        assert any(text.startswith('"Hello ') for text in having(toks, "tok-string")), toks
        assert having(toks, "tok-comment") == ["# a comment"]
        assert having(toks, "cm-nbo-magic") == ["%%flow"]
        # Pebble expressions and tags, inside their strings, in the expression colour
        expressions = [t for t in toks if "cm-nbo-expression" in t["classes"]]
        assert [t["text"] for t in expressions] == [
            "{{ inputs.user | upper }}", "{% if inputs.user == 'Ann' %}", "{% else %}", "{% endif %}"]
        assert all("tok-string" in t["classes"] and t["color"] == colours["expression"] for t in expressions)
        assert colours["expression"] != colours["string"]
        # No Python left: 'for' in a plain value is text, not a bold keyword
        description = next(t for t in toks if "signs up for" in t["text"])
        assert description["text"].strip() == "Who signs up for the course", description
        assert description["color"] != colours["keyword"] and description["weight"] == "400", description
        page.evaluate("i => window.jupyterapp.shell.currentWidget.content.activeCellIndex = i", LATER)
        lab.screenshot(page, lab.cell(page, FLOW).locator(".jp-Cell-inputWrapper"),
                       picture(page, "highlight.png", readme=True))


def test_a_python_cell_beside_it_stays_python(page):
    with artifacts_on_failure(page, "python"):
        toks, colours = tokens(page, PYTHON)
        keyword = next(t for t in toks if t["text"] == "def")
        assert keyword["color"] == colours["keyword"] and keyword["weight"] == "700", keyword
        assert any(t["text"].startswith('"""Not a flow') and t["color"] == colours["string"] for t in toks), toks
        assert not any(c.startswith(("tok-", "cm-nbo-")) for t in toks for c in t["classes"]), toks


SET_SOURCE_JS = """([i, source]) =>
  window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.setSource(source)"""
CLASSES_JS = """i => Array.from(window.jupyterapp.shell.currentWidget.content.widgets[i].node
                  .querySelectorAll('.cm-content span')).flatMap(e => Array.from(e.classList))"""


def test_a_cell_becomes_a_flow_as_its_first_line_does_and_back(page):
    with artifacts_on_failure(page, "switch"):
        source = "\n%%flow --name later\nid: later  # {{ not an expression }}\nmessage: '{{ x }}'"
        page.evaluate(SET_SOURCE_JS, [LATER, source])
        page.wait_for_function(f"i => ({CLASSES_JS})(i).includes('cm-nbo-expression')", arg=LATER, timeout=10_000)
        toks, _ = tokens(page, LATER)
        assert having(toks, "cm-nbo-magic") == ["%%flow"]  # after a blank line, as IPython allows
        assert having(toks, "tok-atom") == ["id", "message"]
        assert having(toks, "cm-nbo-expression") == ["{{ not an expression }}", "{{ x }}"]  # comments too: the text's
        page.evaluate(SET_SOURCE_JS, [LATER, "# %%flow\nfor x in range(3): pass"])
        page.wait_for_function(f"i => !({CLASSES_JS})(i).some(c => c.startsWith('tok-') || c.startsWith('cm-nbo-'))",
                               arg=LATER, timeout=10_000)
        toks, colours = tokens(page, LATER)
        assert next(t for t in toks if t["text"] == "for")["color"] == colours["keyword"], toks


COMPLETION_SOURCE = """%%flow
id: completing
namespace: company.team
tasks:
  - id: load
    type: io.kestra.plugin.core.debug.Return
    format: trips
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs."""


def test_tab_in_a_flow_cell_offers_what_the_flow_declares(page):
    """Completion comes from the kernel (IPython's completer, nb_orchestra's matcher), in the front
    end's own list."""
    with artifacts_on_failure(page, "completion"):
        page.evaluate(SET_SOURCE_JS, [LATER, "%load_ext nb_orchestra"])
        lab.run_cell(page, LATER)
        page.evaluate(SET_SOURCE_JS, [LATER, COMPLETION_SOURCE])
        editor = lab.cell(page, LATER).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+End")
        page.keyboard.press("Tab")
        items = page.locator(".jp-Completer .jp-Completer-item")
        items.first.wait_for(timeout=30_000)
        offered = [text.strip() for text in page.locator(".jp-Completer .jp-Completer-match").all_inner_texts()]
        print(f"\n[browser] {page.server.app}: Tab after 'outputs.' offers {offered}")
        assert offered[:2] == ["load", "report"], offered
        lab.screenshot(page, page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"),
                       picture(page, "completion.png", readme=True))
        page.keyboard.press("Escape")
