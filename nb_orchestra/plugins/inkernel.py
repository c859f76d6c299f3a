"""Notebook-only tasks: Python run inside the kernel, returning Python objects.

A flow can mix Kestra tasks with the notebook's own code: ``Call`` calls a
function of the notebook (or of a module) with rendered arguments; ``Code``
runs a block of Python that sees the flow's ``inputs``, ``outputs``, ``vars``
and ``taskrun`` as Python objects, and whose last expression becomes the
output ``value``, as in a notebook cell. Outputs keep their types (a
DataFrame stays a DataFrame). These types do not exist on a Kestra server:
validation warns, and ``nb-orchestra export`` flags them.
"""

from __future__ import annotations

import ast
import importlib
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import Prop, TaskContext, TaskFailure, TaskPlugin


def notebook_namespace() -> dict[str, Any]:
    """The namespace user code lives in: the IPython user namespace, else ``__main__``."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


class Call(TaskPlugin):
    """Call ``function`` (a name in the notebook, or ``package.module:name``); output ``value``."""

    type = "io.nb_orchestra.python.Call"
    outputs = {"value": "The function's return value, as a Python object."}
    notebook_only = True
    properties = {
        "function": Prop("string", required=True, description="A callable of the notebook, or module:name."),
        "args": Prop("list", default=[], dynamic=False, description="Positional arguments (rendered, types kept)."),
        "kwargs": Prop("map", default={}, dynamic=False, description="Keyword arguments (rendered, types kept)."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        function = _resolve(ctx.get("function"))
        args = ctx.render(ctx.task.props.get("args") or [], typed=True)
        kwargs = ctx.render(ctx.task.props.get("kwargs") or {}, typed=True)
        with _user_errors():
            return {"value": function(*args, **kwargs)}


class Code(TaskPlugin):
    """Run Python in the kernel; the last expression is the output ``value``."""

    type = "io.nb_orchestra.python.Code"
    outputs = {"value": "The last expression's value, as a Python object."}
    notebook_only = True
    properties = {
        "code": Prop("string", required=True, dynamic=False,
                     description="Python; sees inputs, outputs, vars, taskrun, labels and the notebook's names."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        source = ctx.task.props["code"]
        try:
            tree = ast.parse(source, filename=f"<task {ctx.task.id}>")
        except SyntaxError as exc:
            raise TaskFailure(f"code: {exc.msg} (line {exc.lineno})") from None
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        namespace = dict(notebook_namespace())  # read the notebook's names; assignments stay in the task
        namespace.update({key: ctx.variables[key]
                          for key in ("inputs", "outputs", "vars", "labels", "flow", "execution")})
        namespace["taskrun"] = ctx.variables["taskrun"]
        filename = f"<task {ctx.task.id}>"
        with _user_errors():
            exec(compile(tree, filename, "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace) if last else None
        return {"value": value}


@contextmanager
def _user_errors() -> Iterator[None]:
    """An exception in the user's code fails the task with the user's frames only, not ours."""
    try:
        yield
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_OUR_CODE)]
        detail = "".join(traceback.format_list(frames))
        raise TaskFailure(f"{type(exc).__name__}: {exc}" + (f"\n{detail}" if detail else "")) from None


_OUR_CODE = str(Path(__file__).resolve().parent.parent)


def _resolve(name: str) -> Any:
    """A callable from the notebook's namespace, or ``package.module:attribute``."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise TaskFailure(f"function '{name}': cannot import {module_name}: {exc}") from None
        for part in attribute.split("."):
            target = getattr(target, part, None)
    else:
        target = notebook_namespace().get(name)
    if not callable(target):
        raise TaskFailure(f"function '{name}' is not a callable of the notebook (define it in a cell above, "
                          f"or write package.module:function)")
    return target
