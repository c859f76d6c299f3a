"""nb_orchestra: Kestra flows run in Python and Jupyter.

The public API is imported lazily so ``import nb_orchestra`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FlowValidationError, InputError, Problem, TemplateError, UserError

__version__ = "0.1.0"

__all__ = [
    "Execution", "Flow", "FlowValidationError", "backfill", "executions", "InputError", "Problem", "TemplateError",
    "UserError", "configure", "load_flow", "register_flow", "render", "replay", "run", "set_secret", "test",
    "__version__",
]

_LAZY = {
    "run": "api", "load_flow": "api", "register_flow": "api", "render": "api", "replay": "api",
    "configure": "api", "Execution": "engine.execution", "Flow": "model.flow",
    "set_secret": "secrets", "backfill": "triggers.backfill", "executions": "api", "test": "api",
    "load_ipython_extension": "notebook", "unload_ipython_extension": "notebook",
}

if TYPE_CHECKING:
    from .api import configure, executions, load_flow, register_flow, render, replay, run, test
    from .engine.execution import Execution
    from .model.flow import Flow
    from .secrets import set_secret
    from .triggers.backfill import backfill


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nb_orchestra' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
