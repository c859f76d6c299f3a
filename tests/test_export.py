"""``nb-orchestra export``: %%flow cells of notebooks written as Kestra flow files."""

from __future__ import annotations

from pathlib import Path

import nbformat

import nb_orchestra
from nb_orchestra.cli import main

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

LOG = """id: {id}
namespace: demo
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: {message}
"""


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A notebook")]
                                  + [nbformat.v4.new_code_cell(source) for source in cells])
    nbformat.write(nb, path)
    return path


def test_exports_every_flow_of_the_teaching_notebooks(tmp_path, capsys):
    assert main(["export", str(NOTEBOOKS), str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yml"))
    assert "zoomcamp/04_postgres_taxi.yml" in written and "tutorial/hello_world.yml" in written
    lines = printed.splitlines()
    assert len([line for line in lines if not line.startswith("warning:")]) == len(written)
    # notebook 04 teaches an in-kernel Python task: export says it will not run on a Kestra server
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings and all(w.startswith("warning: 04_when_things_fail.ipynb") and "notebook-only" in w
                            for w in warnings)
    for path in tmp_path.rglob("*.yml"):
        flow = nb_orchestra.load_flow(path)
        assert path.parent.name == flow.namespace and path.stem == flow.id
    cell = next(c for c in nbformat.read(NOTEBOOKS / "06_etl_taxi.ipynb", 4).cells
                if c.source.startswith("%%flow") and "id: 04_postgres_taxi" in c.source)
    assert (tmp_path / "zoomcamp" / "04_postgres_taxi.yml").read_text() == cell.source.split("\n", 1)[1] + "\n"


def test_invalid_cell_is_located_and_fails_the_export(tmp_path, capsys):
    source = notebook(tmp_path / "broken.ipynb",
                      "%%flow\n" + LOG.format(id="good", message="hi"),
                      "print('not a flow')",
                      "%%flow -i x=1\nid: bad\nnamespace: demo\ntasks:\n  - id: say\n"
                      "    type: io.kestra.plugin.core.log.Log\n    mesage: hi\n")
    assert main(["export", str(source), str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "broken.ipynb cell 4: INVALID" in printed
    assert "line 7, column 5: tasks[0].mesage: unknown property 'mesage'" in printed  # %%flow is line 1
    assert (tmp_path / "out" / "demo" / "good.yml").read_text() == LOG.format(id="good", message="hi")
    assert not (tmp_path / "out" / "demo" / "bad.yml").exists()


def test_duplicate_flows_warn_and_the_last_wins(tmp_path, capsys):
    notebook(tmp_path / "a.ipynb", "%%flow\n" + LOG.format(id="twice", message="first"))
    notebook(tmp_path / "b.ipynb", "%%flow --no-run\n" + LOG.format(id="twice", message="second"))
    assert main(["export", str(tmp_path), str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "warning: demo.twice is defined in a.ipynb cell 2 and again in b.ipynb cell 2: the last one wins" in printed
    assert "message: second" in (tmp_path / "out" / "demo" / "twice.yml").read_text()


def test_notebook_only_tasks_are_exported_with_a_warning(tmp_path, capsys):
    source = notebook(tmp_path / "inkernel.ipynb", "%%flow\nid: local\nnamespace: demo\ntasks:\n"
                      "  - id: compute\n    type: io.nb_orchestra.python.Code\n    code: 1 + 1\n")
    assert main(["export", str(source), str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert ("warning: inkernel.ipynb cell 2 (demo.local): line 6, column 5: tasks[0].type: "
            "'io.nb_orchestra.python.Code' is notebook-only") in printed
    assert (tmp_path / "out" / "demo" / "local.yml").exists()


def test_missing_source_is_an_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.ipynb"), str(tmp_path / "out")]) == 2
    assert "no such notebook or folder" in capsys.readouterr().err
