"""Front ends go through one door: the notebook and the command line reach the engine, the store,
the registry, the flow model and the plugins only through ``nb_orchestra.api``.

Every import counts (module level, inside functions, under ``TYPE_CHECKING``), as in
test_layers.py. The triggers are a front end too: the notebook may use the package
``nb_orchestra.triggers``, not the modules inside it.
"""

from __future__ import annotations

from pathlib import Path

from .test_layers import ROOT, _module_name, all_modules, imports, part_of

FRONT_ENDS = {"notebook", "cli", "pytest_plugin"}
BEHIND_THE_DOOR = {"engine", "store", "registry", "model", "plugins"}


def front_end_modules() -> list[Path]:
    return [path for path in all_modules() if part_of(_module_name(path)) in FRONT_ENDS]


def behind_the_door(imported: str) -> bool:
    """True for a module a front end must reach through the api."""
    part = part_of(imported)
    return part in BEHIND_THE_DOOR or (part == "triggers" and imported != "nb_orchestra.triggers")


def test_front_ends_import_nothing_behind_the_api():
    found = [f"{path.relative_to(ROOT)}:{line} imports {imported}"
             for path in front_end_modules() for imported, line, _hidden in imports(path) if behind_the_door(imported)]
    assert not found, "front ends must go through nb_orchestra.api:\n" + "\n".join(found)


def test_the_check_covers_every_front_end_module_and_sees_their_imports():
    modules = {_module_name(path) for path in front_end_modules()}
    assert {"nb_orchestra.cli", "nb_orchestra.notebook.magics", "nb_orchestra.notebook.form",
            "nb_orchestra.notebook.commands.backfill"} <= modules
    magics = next(path for path in front_end_modules() if _module_name(path) == "nb_orchestra.notebook.magics")
    assert "nb_orchestra.api" in {imported for imported, _line, _hidden in imports(magics)}


def test_what_is_behind_the_door():
    for imported in ("nb_orchestra.engine.launch", "nb_orchestra.store", "nb_orchestra.registry",
                     "nb_orchestra.model.flow", "nb_orchestra.plugins.catalog", "nb_orchestra.triggers.backfill"):
        assert behind_the_door(imported), imported
    for imported in ("nb_orchestra.api", "nb_orchestra.errors", "nb_orchestra.records.states",
                     "nb_orchestra.views.text", "nb_orchestra.inputs", "nb_orchestra.triggers"):
        assert not behind_the_door(imported), imported
