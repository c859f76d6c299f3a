"""``nb-orchestra export``: the flows of notebooks' ``%%flow`` cells as files Kestra can load.

Every code cell whose first line is a ``%%flow`` magic holds one flow (the
lines after the magic). Each is validated and written, its text unchanged,
to ``OUTDIR/<namespace>/<id>.yml``, the layout of Kestra's flow folders.
Warnings: notebook-only tasks (they run only here) and every other warning of
the validator, and two cells defining the same flow (the last one wins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .api import load_flow
from .errors import FlowValidationError, UserError
from .model.flow import Flow


@dataclass(frozen=True)
class FlowCell:
    """The YAML of one ``%%flow`` cell, and where it is (``cell`` counts every cell from 1)."""

    notebook: Path
    cell: int
    magic: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.notebook.name} cell {self.cell}"


def notebooks(source: Path) -> list[Path]:
    """``source`` itself, or the ``.ipynb`` files under a folder (checkpoints left out), sorted."""
    if source.is_dir():
        return sorted(p for p in source.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if source.is_file():
        return [source]
    raise UserError(f"no such notebook or folder: {source}")


def flow_cells(notebook: Path) -> Iterator[FlowCell]:
    """The ``%%flow`` cells of a notebook, in order."""
    nb = nbformat.read(notebook, as_version=4)
    for number, cell in enumerate(nb.cells, start=1):
        first, _, rest = cell.source.partition("\n")
        if cell.cell_type == "code" and first.split()[:1] == ["%%flow"]:
            yield FlowCell(notebook, number, first, rest if rest.endswith("\n") else rest + "\n")


def export(source: Path, outdir: Path, say: Callable[[str], None] = print) -> int:
    """Write every valid flow of ``source`` under ``outdir``; the number of invalid cells."""
    flows: dict[tuple[str, str], tuple[FlowCell, Flow]] = {}
    invalid = 0
    for notebook in notebooks(source):
        for cell in flow_cells(notebook):
            try:
                flow = load_flow(cell.text)
            except FlowValidationError as exc:
                invalid += 1
                shown = exc.shifted(1, f"{cell.magic}\n{cell.text}")  # line 1 is the magic, as in the notebook
                say(f"{cell.where}: INVALID\n{shown.pretty()}")
                continue
            for warning in flow.warnings:
                say(f"warning: {cell.where} ({flow.namespace}.{flow.id}): {warning.moved(1)}")
            if flow.key in flows:
                say(f"warning: {flow.namespace}.{flow.id} is defined in {flows[flow.key][0].where} "
                    f"and again in {cell.where}: the last one wins")
            flows[flow.key] = (cell, flow)
    for cell, flow in flows.values():
        target = outdir / flow.namespace / f"{flow.id}.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(cell.text, encoding="utf-8")
        say(f"{target}  <- {cell.where}")
    return invalid
