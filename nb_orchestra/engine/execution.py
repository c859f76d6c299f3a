"""The execution the engine runs and front ends show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..inputs import resolve_inputs
from ..internal_storage import LocalFiles
from ..records import states
from ..records.execution import ExecutionRecord
from ..views.display import ExecutionDisplay


class Execution(ExecutionDisplay, LocalFiles, ExecutionRecord):
    """One run of a flow: ``state``, ``inputs``, ``outputs``, ``taskruns``, ``logs``; ``kill()``,
    ``resume()``, ``wait()``. IPython shows it as a tree."""

    def resume(self, inputs: Mapping[str, Any] | None = None) -> None:
        """Resume this PAUSED execution: every paused Pause task goes on. ``inputs`` answer their
        ``onResume`` declarations (typed as flow inputs, defaults applied; the task's ``onResume``
        output); an InputError (and no resume) when they do not fit."""
        answers: dict[str, Any] = {}
        for run in list(self.taskruns):
            if run.state != states.PAUSED:
                continue
            try:
                declarations = self.flow.task(run.task_id).props.get("onResume") or []
            except KeyError:
                declarations = []
            answers[run.id] = resolve_inputs(declarations, inputs or {})
        pending: dict[str, Any] = self.__dict__.setdefault("_resume_inputs", {})
        pending.update(answers)
        super().resume()

    def restart(self) -> Execution:
        """Run this FAILED or KILLED execution again (Kestra's Restart): what succeeded is kept."""
        from .launch import restart_execution  # launch builds on this module, so it is imported here

        return restart_execution(self)
