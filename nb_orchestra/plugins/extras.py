"""Optional libraries of plugin families, imported when a task runs.

A family's library (duckdb, boto3, google-cloud-storage...) is never imported with the package;
when it is missing, the task fails with one line saying which extra installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .base import TaskFailure


def require(module: str, extra: str, what: str) -> ModuleType:
    """The optional library ``module``, or a TaskFailure: "<what> tasks need <module>: pip install ..."."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TaskFailure(f"{what} tasks need the {module} package: pip install 'nb-orchestra[{extra}]'") from None
