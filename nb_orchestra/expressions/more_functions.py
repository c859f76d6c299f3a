"""Kestra functions beyond the common ones: id, printContext/fetchContext, block, randomPort, fileExists,
fromIon, loopOutputs, currentEachOutput; fileSize and fileURI (file_functions), encrypt and decrypt
(encryption).  Registered in :data:`nb_orchestra.expressions.functions.FUNCTIONS`."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions.encryption import decrypt, encrypt
from nb_orchestra.expressions.file_functions import file_size, file_uri
from nb_orchestra.expressions.operators import require
from nb_orchestra.expressions.pebble import block_name

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id() -> str:
    """``id()``: a random 22-character base62 id, like Kestra's ``IdUtils.create()`` (a UUID's 128 bits)."""
    number = secrets.randbits(128)
    digits = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


@pass_context
def print_context(context: Context) -> dict[str, Any]:
    """``printContext()`` (alias ``fetchContext()``): every variable the expression can read.

    Functions and nb_orchestra's internal names (``_runtime``...) are left out, as Kestra leaves
    out Pebble's own scope.
    """
    from nb_orchestra.expressions.environment import ENVIRONMENT  # that module imports this one

    functions = ENVIRONMENT.globals
    return {name: value for name, value in context.get_all().items()
            if not name.startswith("_") and not (name in functions and functions[name] is value)}


@pass_context
def block(context: Context, name: Any) -> str:
    """``block('name')``: the content of ``{% block name %}`` rendered again."""
    require(name)
    renderers = context.blocks.get(block_name(str(name)))
    if not renderers:
        raise TemplateError(f"block(): no block named '{name}' in this template")
    return "".join(renderers[0](context))


def random_port() -> int:
    """``randomPort()``: a TCP port free on this machine at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


@pass_context
def file_exists(context: Context, path: Any, namespace: Any = None) -> bool:
    """``fileExists(path)``: whether ``read(path)`` finds a file (a ``kestra://`` URI, a namespace file)."""
    from nb_orchestra.expressions import functions  # that module imports this one

    require(path, namespace)
    if context.get("_runtime") is None:
        raise TemplateError("fileExists() needs a running flow")
    try:
        functions.read(context, path, namespace)
    except (TemplateError, OSError, ValueError):
        return False
    return True


def loop_outputs(outputs: Any = None, name: Any = None) -> list[Any]:
    """``loopOutputs(outputs.loop.outputs, 'id')``: one declared output of every Loop iteration (None
    where an iteration has none)."""
    if not isinstance(outputs, list):
        raise TemplateError("The 'loopOutputs' function expects 'outputs' to be a list.")
    if not isinstance(name, str):
        raise TemplateError("The 'loopOutputs' function expects 'name' to be a string.")
    return [entry["outputs"].get(name) if isinstance(entry, dict) and isinstance(entry.get("outputs"), dict)
            else None for entry in outputs]


@pass_context
def current_each_output(context: Context, outputs: Any) -> Any:
    """``currentEachOutput(outputs.task)``: the outputs of ``task`` in the current ForEach iteration:
    ``outputs.task[<outermost value>]...[taskrun.value]``, the values of ``parents`` then the task run's."""
    if not isinstance(outputs, Mapping):
        raise TemplateError("The 'currentEachOutput' function expects an argument 'outputs' with type map.")
    parents = context.get("parents")
    taskrun = context.get("taskrun")
    values = [parent["taskrun"]["value"] for parent in reversed(parents if isinstance(parents, list) else [])
              if isinstance(parent, Mapping) and "value" in (parent.get("taskrun") or {})]
    values.append(taskrun.get("value") if isinstance(taskrun, Mapping) else None)
    current: Any = outputs
    for value in values:
        if not isinstance(current, Mapping):
            return None
        current = current.get(value)
    return current


def from_ion(ion: Any = ...) -> Any:
    """``fromIon(ion)``: the value of Ion text (the Ion reader is imported with the first call)."""
    from nb_orchestra.expressions.formats import from_ion as read_ion

    return read_ion(ion)


MORE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "id": new_id,
    "printContext": print_context,
    "fetchContext": print_context,
    "block": block,
    "randomPort": random_port,
    "fileExists": file_exists,
    "fromIon": from_ion,
    "loopOutputs": loop_outputs,
    "currentEachOutput": current_each_output,
    "fileSize": file_size,
    "fileURI": file_uri,
    "encrypt": encrypt,
    "decrypt": decrypt,
}
