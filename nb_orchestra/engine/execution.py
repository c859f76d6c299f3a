"""The execution the engine runs and front ends show."""

from __future__ import annotations

from ..internal_storage import LocalFiles
from ..records.execution import ExecutionRecord
from ..views.display import ExecutionDisplay


class Execution(ExecutionDisplay, LocalFiles, ExecutionRecord):
    """One run of a flow: ``state``, ``inputs``, ``outputs``, ``taskruns``, ``logs``; ``kill()``,
    ``resume()``, ``wait()``. IPython shows it as a tree."""

    def restart(self) -> Execution:
        """Run this FAILED or KILLED execution again (Kestra's Restart): what succeeded is kept."""
        from .launch import restart_execution  # launch builds on this module, so it is imported here

        return restart_execution(self)
