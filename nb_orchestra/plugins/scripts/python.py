"""io.kestra.plugin.scripts.python: Script and Commands, run with the kernel's
Python (or a cached virtual environment holding ``dependencies``)."""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..base import Prop, TaskContext
from . import venvs
from .runner import COMMON_SCRIPT_PROPS, Launch, ScriptTask

PYTHON_PROPS = {
    **COMMON_SCRIPT_PROPS,
    "dependencies": Prop("list", description="pip requirement specifiers, installed once in a cached venv."),
    "dependencyCacheEnabled": Prop("bool", default=True, description="false: a fresh venv in the working dir."),
    "packageManager": Prop("enum", default="UV", choices=("UV", "PIP"), description="Accepted; pip is used."),
    "pythonVersion": Prop("string", description="Accepted; the kernel's Python version is used."),
}


class _PythonTask(ScriptTask):
    """Python's environment: PYTHONUNBUFFERED etc. as Kestra sets, the interpreter first on PATH."""

    properties = PYTHON_PROPS

    def prepare(self, ctx: TaskContext, work: Path) -> Launch:
        wanted = ctx.get("pythonVersion")
        python = venvs.python_with(ctx, [str(d) for d in ctx.get("dependencies") or []], work,
                                   cached=ctx.get("dependencyCacheEnabled"))
        if wanted:
            ctx.log("WARN", f"pythonVersion {wanted} is not installed by nb_orchestra; running {python}")
        env = {"PYTHONUNBUFFERED": "true", "PIP_ROOT_USER_ACTION": "ignore", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        return Launch(env=env, path=[str(python.parent)], python=str(python))


class Script(_PythonTask):
    """Write ``script`` to a temporary .py file in the working dir and run it."""

    type = "io.kestra.plugin.scripts.python.Script"
    properties = {**PYTHON_PROPS, "script": Prop("string", required=True, description="The Python code.")}

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        with tempfile.NamedTemporaryFile("w", suffix=".py", dir=work, delete=False, encoding="utf-8") as handle:
            handle.write(localize(ctx.get("script")))
        launch.argv = [str(launch.python), handle.name]
        launch.script_file = handle.name
        return [" ".join(shlex.quote(arg) for arg in launch.argv)]


class Commands(_PythonTask):
    """Run ``commands`` (e.g. ``python main.py``) in the shell; ``python`` is the task's interpreter."""

    type = "io.kestra.plugin.scripts.python.Commands"
    properties = {**PYTHON_PROPS, "commands": Prop("list", required=True, description="Shell lines.")}

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        return [localize(str(c)) for c in ctx.get("commands")]
