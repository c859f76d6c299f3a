"""Build the teaching notebooks: notebooks/src/NN_name.py (jupytext percent format) -> notebooks/NN_name.ipynb.

Each source is converted, executed top to bottom by nbclient (working folder
notebooks/, a fresh NB_ORCHESTRA_HOME in a temporary folder) and written with
its outputs, stamped with the SHA-256 of the source text in
``metadata.nb_orchestra.source_sha256``.

    .venv/bin/python scripts/build_notebooks.py            # build every notebook
    .venv/bin/python scripts/build_notebooks.py 03 05      # only those whose name starts so
    .venv/bin/python scripts/build_notebooks.py --check    # exit 1 if one is missing, stale or orphaned
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = NOTEBOOKS / "src"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def source_sha256(source: Path) -> str:
    return hashlib.sha256(source.read_text(encoding="utf-8").encode()).hexdigest()


def stamp(notebook: Path) -> str | None:
    """The source hash a built notebook was made from (None when it has none)."""
    return nbformat.read(notebook, as_version=4).metadata.get("nb_orchestra", {}).get("source_sha256")


def build(source: Path) -> Path:
    """Convert, execute and write one notebook; raises nbclient's CellExecutionError on a failing cell."""
    nb = jupytext.read(source)
    for number, cell in enumerate(nb.cells, start=1):
        cell.id = f"cell-{number}"  # stable ids: rebuilding an unchanged source gives a small diff
    nb.metadata = {"kernelspec": KERNEL}
    with tempfile.TemporaryDirectory(prefix="nbo-build-") as home:
        client = NotebookClient(nb, kernel_name="python3", timeout=120, record_timing=False,
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute(env={**os.environ, "NB_ORCHESTRA_HOME": home})
    nb.metadata["nb_orchestra"] = {"source_sha256": source_sha256(source)}
    target = NOTEBOOKS / f"{source.stem}.ipynb"
    nbformat.write(nb, target)
    return target


def check() -> list[str]:
    """Every problem with the committed notebooks: missing, stale (source changed) or without a source."""
    problems = []
    for source in sorted(SOURCES.glob("*.py")):
        target = NOTEBOOKS / f"{source.stem}.ipynb"
        if not target.exists():
            problems.append(f"{target.name}: missing (build it from src/{source.name})")
        elif stamp(target) != source_sha256(source):
            problems.append(f"{target.name}: stale (src/{source.name} changed since it was built)")
    for target in sorted(NOTEBOOKS.glob("*.ipynb")):
        if not (SOURCES / f"{target.stem}.py").exists():
            problems.append(f"{target.name}: no source src/{target.stem}.py")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", metavar="PREFIX", help="build only notebooks whose name starts so")
    parser.add_argument("--check", action="store_true", help="only check that the notebooks match their sources")
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
