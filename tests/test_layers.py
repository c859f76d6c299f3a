"""The package is one column of layers: each imports only the layers below it.

The layer table is the one drawn in docs/architecture.md (between the ``layers:begin`` and
``layers:end`` markers), so the picture and the rule cannot drift apart. Every import counts:
module level, inside functions, and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nb_orchestra"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Imports under TYPE_CHECKING allowed to point upward, each with its reason: (importer, imported).
TYPE_CHECKING_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("nb_orchestra.records.execution", "nb_orchestra.model.flow"):
        "an execution keeps the Flow it runs; records never look inside it",
    ("nb_orchestra.plugins.base", "nb_orchestra.model.flow"):
        "the contract names the Task a plugin is handed; the model builds Tasks from plugin declarations",
}


def _allowed(importer: str, imported: str, hidden: bool) -> bool:
    return hidden and (importer, imported) in TYPE_CHECKING_EXCEPTIONS


def layer_table() -> list[list[str]]:
    """Top-level parts of the package per layer, bottom first, as docs/architecture.md draws them."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = re.search(r"<!-- layers:begin -->\s*```\w*\n(.*?)```\s*<!-- layers:end -->", text, re.S)
    assert block, "docs/architecture.md has no layer table between <!-- layers:begin/end --> markers"
    rows = []
    for line in block.group(1).splitlines():
        if "|" not in line:
            continue
        _name, parts = line.split("|", 1)
        rows.append([p.rstrip("/") for p in re.findall(r"[\w.]+/?", parts.split("#")[0])])
    return rows[::-1]  # the table is drawn top layer first


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module inside the package, line, under TYPE_CHECKING) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    module = _module_name(path)
    package = module if _is_package(path) else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from . import x` imports the submodule x when there is one
            names = [f"{origin}.{alias.name}" if _exists(f"{origin}.{alias.name}") else origin
                     for alias in node.names]
        else:
            continue
        hidden = _under_type_checking(node, parents)
        found += [(name, node.lineno, hidden) for name in names if name.split(".")[0] == "nb_orchestra"]
    return found


def _exists(module: str) -> bool:
    relative = Path(*module.split("."))
    return (ROOT / relative).with_suffix(".py").exists() or (ROOT / relative / "__init__.py").exists()


def part_of(module: str) -> str:
    """The top-level part of the package a module belongs to: ``nb_orchestra.engine.runner`` -> engine."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_layer_table_names_every_part_of_the_package_once():
    named = [part for row in layer_table() for part in row]
    assert len(named) == len(set(named)), "a part is named in two layers"
    actual = {part_of(_module_name(p)) for p in all_modules()}
    assert actual == set(named), (
        f"missing from the table: {actual - set(named)}; not in the package: {set(named) - actual}")


def test_no_import_reaches_a_higher_layer():
    rank = {part: i for i, row in enumerate(layer_table()) for part in row}
    upward = []
    for path in all_modules():
        importer = _module_name(path)
        for imported, line, hidden in imports(path):
            if rank[part_of(imported)] > rank[part_of(importer)] and not _allowed(importer, imported, hidden):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_loop_between_parts():
    graph: dict[str, set[str]] = {}
    for path in all_modules():
        importer = _module_name(path)
        for imported, _line, hidden in imports(path):
            if part_of(imported) != part_of(importer) and not _allowed(importer, imported, hidden):
                graph.setdefault(part_of(importer), set()).add(part_of(imported))
    loops = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in trail:
                loops.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif len(trail) < 12:
                visit(nxt, trail + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert not loops, "import loops between parts of the package:\n" + "\n".join(sorted(set(loops))[:20])


def test_the_analysis_sees_imports_in_functions_and_under_type_checking():
    found = imports(PACKAGE / "engine" / "execution.py")
    assert ("nb_orchestra.engine.launch", False) in {(name, hidden) for name, _line, hidden in found}
    found = imports(PACKAGE / "records" / "execution.py")
    assert ("nb_orchestra.model.flow", True) in {(name, hidden) for name, _line, hidden in found}
    assert part_of("nb_orchestra.engine.launch") == "engine" and part_of("nb_orchestra") == "__init__"


def test_the_architecture_names_no_module_that_does_not_exist():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    files = {path.relative_to(ROOT).as_posix()
             for folder in ("nb_orchestra", "tests", "benchmarks", "scripts", "labextension")
             for path in (ROOT / folder).rglob("*.py")}
    named = set(re.findall(r"(?<![\w/.])((?:[\w]+/)*[\w]+\.py)\b", text))
    missing = sorted(name for name in named if not any(f == name or f.endswith("/" + name) for f in files))
    assert named and not missing, f"docs/architecture.md names modules that do not exist: {missing}"
