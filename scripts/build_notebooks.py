"""Build the teaching notebooks: notebooks/src/NN_name.py (jupytext percent format) -> notebooks/NN_name.ipynb.

Each source is converted, executed top to bottom by nbclient (working folder
notebooks/, a fresh NB_ORCHESTRA_HOME in a temporary folder) and written with
its outputs, stamped in ``metadata.nb_orchestra`` with two SHA-256 hashes:

- ``source_sha256``: the source text, and each file under notebooks/flows/ it names;
- ``package_sha256``: the code of the nb_orchestra package that made the outputs
  (every nb_orchestra/**/*.py, read from disk, so edits not yet committed count).

``--check`` compares both, so a notebook is stale when its source changed and when
the package changed since it was built.

A form cell, a ``%%flow`` cell left without the input values its form asks for,
cannot be answered without a browser. Its cell metadata ``nb_orchestra.headless_inputs``
(a map of input id to value) gives the values a build passes with ``-i``; the
notebook keeps the cell as written, so a person running it gets the form.

    .venv/bin/python scripts/build_notebooks.py            # build every notebook
    .venv/bin/python scripts/build_notebooks.py 03 05      # only those whose name starts so
    .venv/bin/python scripts/build_notebooks.py --check    # exit 1 if one is missing, stale or orphaned
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
PACKAGE = ROOT / "nb_orchestra"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def named_files(source: Path) -> list[str]:
    """The files under notebooks/flows/ a source names (flow files it reads), relative to notebooks/."""
    text = source.read_text(encoding="utf-8")
    names = (path.relative_to(NOTEBOOKS).as_posix() for path in sorted((NOTEBOOKS / "flows").rglob("*"))
             if path.is_file())
    return [name for name in names if name in text]


def source_sha256(source: Path) -> str:
    """The hash of a notebook's source text and of the files under notebooks/flows/ it names."""
    digest = hashlib.sha256(source.read_bytes())
    for name in named_files(source):
        digest.update(f"\0{name}\0".encode() + (NOTEBOOKS / name).read_bytes())
    return digest.hexdigest()


def package_sha256() -> str:
    """The hash of the package's code: the path and content of every nb_orchestra/**/*.py."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(f"\0{path.relative_to(PACKAGE).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def fingerprint(source: Path) -> dict[str, str]:
    """The stamp of a notebook built now from ``source``."""
    return {"source_sha256": source_sha256(source), "package_sha256": package_sha256()}


def stamp(notebook: Path) -> dict[str, str]:
    """The hashes a built notebook was stamped with (empty when it has none)."""
    return dict(nbformat.read(notebook, as_version=4).metadata.get("nb_orchestra", {}))


def execute(nb: nbformat.NotebookNode, env: dict[str, str], timeout: int = 120) -> None:
    """Run ``nb`` in place as a build does: working folder notebooks/, the environment ``env``.

    Form cells run with ``-i`` for each of their ``nb_orchestra.headless_inputs`` and keep their source.
    """
    forms = {number: cell.source for number, cell in enumerate(nb.cells)
             if "headless_inputs" in cell.metadata.get("nb_orchestra", {})}
    for number in forms:
        cell = nb.cells[number]
        first, _, rest = cell.source.partition("\n")
        assert first.startswith("%%flow"), f"cell {number}: headless_inputs belong to a %%flow cell"
        values = [shlex.quote(f"{key}={value}") for key, value in cell.metadata.nb_orchestra.headless_inputs.items()]
        cell.source = " ".join([first, *(f"-i {value}" for value in values)]) + "\n" + rest
    try:
        NotebookClient(nb, kernel_name="python3", timeout=timeout, record_timing=False,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(env=env)
    finally:
        for number, source in forms.items():
            nb.cells[number].source = source


def build(source: Path) -> Path:
    """Convert, execute and write one notebook; raises nbclient's CellExecutionError on a failing cell."""
    nb = jupytext.read(source)
    for number, cell in enumerate(nb.cells, start=1):
        cell.id = f"cell-{number}"  # stable ids: rebuilding an unchanged source gives a small diff
    nb.metadata = {"kernelspec": KERNEL}
    with tempfile.TemporaryDirectory(prefix="nbo-build-") as home:
        execute(nb, {**os.environ, "NB_ORCHESTRA_HOME": home})
    nb.metadata["nb_orchestra"] = fingerprint(source)
    target = NOTEBOOKS / f"{source.stem}.ipynb"
    nbformat.write(nb, target)
    return target


def check() -> list[str]:
    """Every problem with the committed notebooks: missing, stale (source or package changed) or without a source."""
    problems = []
    for source in sorted(SOURCES.glob("*.py")):
        target = NOTEBOOKS / f"{source.stem}.ipynb"
        if not target.exists():
            problems.append(f"{target.name}: missing (build it from src/{source.name})")
            continue
        made, now = stamp(target), fingerprint(source)
        if made.get("source_sha256") != now["source_sha256"]:
            changed = " or ".join([f"src/{source.name}", *named_files(source)])
            problems.append(f"{target.name}: stale ({changed} changed since it was built)")
        if made.get("package_sha256") != now["package_sha256"]:
            problems.append(f"{target.name}: stale (made by another version of the nb_orchestra package)")
    for target in sorted(NOTEBOOKS.glob("*.ipynb")):
        if not (SOURCES / f"{target.stem}.py").exists():
            problems.append(f"{target.name}: no source src/{target.stem}.py")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", metavar="PREFIX", help="build only notebooks whose name starts so")
    parser.add_argument("--check", action="store_true",
                        help="only check that the notebooks match their sources and the package")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        print("notebooks are stale: run scripts/build_notebooks.py" if problems else "notebooks are up to date")
        return 1 if problems else 0
    for source in sorted(SOURCES.glob("*.py")):
        if args.only and not source.stem.startswith(tuple(args.only)):
            continue
        started = time.monotonic()
        target = build(source)
        print(f"{target.relative_to(NOTEBOOKS.parent)}  ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
