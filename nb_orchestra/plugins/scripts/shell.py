"""io.kestra.plugin.scripts.shell: Script and Commands, run by ``/bin/sh -c``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..base import Prop, TaskContext
from .runner import COMMON_SCRIPT_PROPS, Launch, ScriptTask


class Commands(ScriptTask):
    """Run shell ``commands``, one shell for all lines (they share cd, variables...)."""

    type = "io.kestra.plugin.scripts.shell.Commands"
    properties = {**COMMON_SCRIPT_PROPS, "commands": Prop("list", required=True, description="Shell lines.")}

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        return [localize(str(c)) for c in ctx.get("commands")]


class Script(ScriptTask):
    """Run the shell ``script`` text."""

    type = "io.kestra.plugin.scripts.shell.Script"
    properties = {**COMMON_SCRIPT_PROPS, "script": Prop("string", required=True, description="Shell script text.")}

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        return [localize(ctx.get("script"))]
