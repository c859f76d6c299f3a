"""Flow inputs: declaration checks, coercion and resolution, following Kestra.

* :func:`check_declarations` / :func:`declaration_warnings` -- save-time checks of ``inputs:``.
* :func:`resolve_inputs` -- the typed ``inputs`` of an execution.
* :func:`missing_inputs` -- required inputs that nothing gives a value.
* :func:`check_names` -- supplied names the flow does not declare (did you mean...).
* :func:`coerce_input` -- one value of one input.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb_orchestra.inputs.coercion import INPUT_TYPES, coerce_input, input_id, is_required
    from nb_orchestra.inputs.declarations import check_declarations, declaration_warnings
    from nb_orchestra.inputs.resolution import check_names, missing_inputs, parse_assignments, resolve_inputs

__all__ = [
    "INPUT_TYPES",
    "check_declarations",
    "check_names",
    "coerce_input",
    "declaration_warnings",
    "input_id",
    "is_required",
    "missing_inputs",
    "parse_assignments",
    "resolve_inputs",
]

# The module of each name, imported on first use: a flow without inputs never loads the declaration checks.
_MODULES = {
    "INPUT_TYPES": "coercion", "coerce_input": "coercion", "input_id": "coercion", "is_required": "coercion",
    "check_declarations": "declarations", "declaration_warnings": "declarations",
    "check_names": "resolution", "missing_inputs": "resolution", "parse_assignments": "resolution",
    "resolve_inputs": "resolution",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
