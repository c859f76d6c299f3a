"""The prebuilt JupyterLab extension (%%flow highlighting): the committed build in
nb_orchestra/labextension is the build of the sources in labextension/ (CI has no Node, so it
cannot rebuild: it checks the hash stamped by labextension/build.py), and the wheel installs it
where JupyterLab and Notebook 7 look, once. tests/test_browser_highlight.py checks what it does.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "labextension"
BUILT = REPO / "nb_orchestra" / "labextension"
SHARE = "share/jupyter/labextensions/nb-orchestra"
REBUILD = ("labextension/ changed since nb_orchestra/labextension was built: "
           "run `.venv/bin/python labextension/build.py` (Node and npm needed)")


def build_script():
    spec = importlib.util.spec_from_file_location("labextension_build", SOURCES / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_build_is_the_build_of_the_sources():
    build = build_script()
    stamp = json.loads((BUILT / "build-stamp.json").read_text())
    assert stamp["sources_sha256"] == build.sources_hash(), REBUILD
    # the hash covers what the build reads, and nothing generated
    hashed = [p.relative_to(SOURCES).as_posix() for name in build.SOURCES for p in
              ([SOURCES / name] if (SOURCES / name).is_file() else sorted((SOURCES / name).rglob("*")))]
    assert {"package.json", "package-lock.json", "tsconfig.json", "src/index.ts", "style/index.css"} <= set(hashed)
    assert not [p for p in hashed if p.startswith(("node_modules", "lib/"))]


def test_the_built_extension_is_complete():
    package = json.loads((BUILT / "package.json").read_text())
    source = json.loads((SOURCES / "package.json").read_text())
    assert package["name"] == source["name"] == "nb-orchestra"
    build_info = package["jupyterlab"].pop("_build")
    assert package == source  # the builder's copy, plus where it put the entry point
    load = BUILT / build_info["load"]
    assert load.is_file() and load.parent.name == "static"
    assert json.loads((BUILT / "install.json").read_text())["packageName"] == "nb-orchestra"
    scripts = "".join(p.read_text() for p in (BUILT / "static").glob("*.js"))
    assert "cm-nbo-expression" in scripts and "%%flow" in scripts.replace("\\", "")
    # nothing in the build but what the builder and build.py write
    assert sorted(p.name for p in BUILT.iterdir()) == ["build-stamp.json", "install.json", "package.json", "static"]


def test_the_wheel_installs_the_extension_where_jupyterlab_looks(tmp_path):
    # A copy of what the wheel is built from: no stale build/ of the working tree, no clash
    # with another build running there.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "nb_orchestra", src / "nb_orchestra", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/data/")[0] for n in names if ".data/data/" in n) + "/data/"  # nb_orchestra-<v>.data/data/
    installed = sorted(n[len(data) + len(SHARE) + 1:] for n in names if n.startswith(f"{data}{SHARE}/"))
    built = sorted(p.relative_to(BUILT).as_posix() for p in BUILT.rglob("*")
                   if p.is_file() and p.name != "build-stamp.json")
    assert installed == built, (installed, built)
    load = json.loads((BUILT / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    assert "package.json" in installed and "install.json" in installed and load in installed
    # once: not also as package data; no sources, no node_modules
    assert not [n for n in names
                if n.startswith("nb_orchestra/labextension") or "node_modules" in n or n.endswith(".ts")]
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size} bytes, the extension {len(installed)} files")
