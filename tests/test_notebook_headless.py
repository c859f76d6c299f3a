"""A notebook executed headless by nbclient, in a real kernel: saved outputs and errors."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

FLOW_CELL = """%%flow
id: headless
namespace: demo
inputs:
  - id: user
    type: STRING
    defaults: Ann
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - id: shout
        type: io.kestra.plugin.core.debug.Return
        format: "{{ inputs.user | upper }}-{{ taskrun.value }}"
"""


def execute(tmp_path, *sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def test_saved_notebook_shows_the_finished_tree_and_outputs_are_python_objects(tmp_path):
    nb = execute(tmp_path, "%load_ext nb_orchestra", FLOW_CELL,
                 "print(headless.state, headless.outputs.shout['b'].value, isinstance(headless.outputs, dict))")
    tree = [o for o in nb.cells[1].outputs if "text/html" in o.get("data", {})]
    assert len(tree) == 1  # one display, updated in place through its display id
    html = tree[0]["data"]["text/html"]
    assert "SUCCESS" in html and "shout" in html and "[b]" in html
    assert "✓ demo.headless" in tree[0]["data"]["text/plain"]
    assert nb.cells[2].outputs[0]["text"] == "SUCCESS ANN-b True\n"


def test_missing_input_fails_headless_with_a_short_message(tmp_path):
    missing = FLOW_CELL.replace("    defaults: Ann\n", "")
    with pytest.raises(CellExecutionError) as info:
        execute(tmp_path, "%load_ext nb_orchestra", missing)
    assert "MissingInputs: flow demo.headless needs a value for: user." in str(info.value)


def test_a_seconds_cron_fires_in_a_real_kernel_while_cells_run(tmp_path):
    nb = execute(tmp_path, "%load_ext nb_orchestra", """%%flow --no-run
id: ticker
namespace: demo
tasks:
  - id: tick
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
""", """import time
from nb_orchestra.engine import launch
time.sleep(3)
fired = [ex for ex in launch.recent if ex.flow_id == "ticker" and ex.state == "SUCCESS"]
print(len(fired) >= 2, len({ex.trigger["date"] for ex in fired}) == len(fired))""")
    assert nb.cells[2].outputs[0]["text"] == "True True\n"


BACKGROUND_CELL = """%%flow --background -o bg
id: behind
namespace: demo
tasks:
  - {id: loop, type: io.kestra.plugin.core.flow.ForEach, values: [a, b, c],
     tasks: [{id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.2S}]}
"""


def test_a_saved_background_run_shows_its_final_tree_and_no_widget(tmp_path):
    from nbconvert import HTMLExporter

    nb = execute(tmp_path, "%load_ext nb_orchestra", BACKGROUND_CELL,
                 "import time\nprint(bg.wait(30), bg.state)\ntime.sleep(1)  # the drawer's last update")
    assert "".join(out.get("text", "") for out in nb.cells[2].outputs) == "True SUCCESS\n"
    (shown,) = nb.cells[1].outputs
    assert set(shown["data"]) == {"text/html", "text/plain"}  # the widget was replaced through its display id
    assert "✓ demo.behind" in shown["data"]["text/plain"] and "CREATED" not in shown["data"]["text/plain"]
    page, _ = HTMLExporter().from_notebook_node(nb)
    exported = page[page.index('class="nbo-exec"'):]
    assert "SUCCESS" in exported and "CREATED" not in exported and "RUNNING" not in exported
    assert "VBox(" not in page and "widget-view" not in page and "widget-state" not in page  # headless: no widget
