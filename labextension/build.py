"""Build the JupyterLab extension into nb_orchestra/labextension/ (committed: CI and pip need no Node).

    .venv/bin/python labextension/build.py          # npm ci (first time), tsc, jupyter labextension build

Needs Node >= 18 and npm (the npm registry) and JupyterLab in the running Python. Writes the
built assets, install.json and build-stamp.json, whose hash of the sources
tests/test_labextension.py compares with the sources: edit src/, rebuild, commit both.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "nb_orchestra" / "labextension"
STAMP = OUTPUT / "build-stamp.json"
# What the built assets are made of; build.py itself is not (it only runs the tools).
SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "install.json", "src", "style"]


def sources_hash(root: Path = HERE) -> str:
    """sha256 over the sources' relative paths and texts (line endings normalised)."""
    digest = hashlib.sha256()
    files = sorted(p for name in SOURCES for p in ([root / name] if (root / name).is_file()
                                                      else (root / name).rglob("*")) if p.is_file())
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    # jupyter labextension build runs jupyter-builder, found on PATH: this Python's scripts first
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    subprocess.run(cmd, cwd=HERE, check=True, env={**os.environ, "PATH": path})


def main() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm not found: install Node.js >= 18 (the build needs it; installing nb-orchestra does not)")
    if not (HERE / "node_modules").is_dir():
        run(npm, "ci", "--no-audit", "--no-fund")
    shutil.rmtree(HERE / "lib", ignore_errors=True)
    run(str(HERE / "node_modules" / ".bin" / "tsc"))
    shutil.rmtree(OUTPUT, ignore_errors=True)
    run(sys.executable, "-m", "jupyter", "labextension", "build", str(HERE))
    shutil.copy(HERE / "install.json", OUTPUT / "install.json")
    STAMP.write_text(json.dumps({"sources_sha256": sources_hash(),
                                 "rebuild": "python labextension/build.py"}, indent=2) + "\n")
    print(f"built {OUTPUT.relative_to(HERE.parent)}: {sorted(p.name for p in (OUTPUT / 'static').iterdir())}")


if __name__ == "__main__":
    main()
