"""How IPython shows an execution, live or stored: the text tree, or the HTML report."""

from __future__ import annotations

from typing import Any


class ExecutionDisplay:
    """Mixin for Execution and StoredExecution; it must come before any ``__repr__`` in the bases."""

    __slots__ = ()

    # The pictures are imported when first shown: a script that never displays an execution
    # does not pay for them at import.
    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .text import execution_tree

        printer.text(execution_tree(self))  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        from .html import execution_report_html

        return execution_report_html(self)  # type: ignore[arg-type]
