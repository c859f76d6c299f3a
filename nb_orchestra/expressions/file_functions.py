"""Kestra's functions on files by URI: ``fileSize(uri)`` (the size of an execution's file) and
``fileURI(path)`` (the ``kestra:///`` URI of a namespace file). Registered with the other functions
in :data:`nb_orchestra.expressions.more_functions.MORE_FUNCTIONS`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from nb_orchestra import internal_storage
from nb_orchestra.config import settings
from nb_orchestra.errors import TemplateError

_KESTRA = f"{internal_storage.SCHEME}:///"


@pass_context
def file_size(context: Context, path: Any) -> int:
    """``fileSize(uri)``: the size in bytes of a ``kestra:///`` file of this execution, or of the
    execution that triggered it (``trigger.executionId``), as Kestra allows."""
    if not (isinstance(path, str) and path.startswith(_KESTRA)):
        raise TemplateError(f"Unable to create the URI from the path {path}")
    flow, execution = context.get("flow"), context.get("execution")
    if not isinstance(flow, Mapping) or not isinstance(execution, Mapping):
        raise TemplateError("fileSize() needs a running flow")
    trigger = context.get("trigger")
    if not (_belongs_to(path, flow.get("namespace"), flow.get("id"), execution.get("id"))
            or (isinstance(trigger, Mapping) and _belongs_to(
                path, trigger.get("namespace"), trigger.get("flowId"), trigger.get("executionId")))):
        raise TemplateError(f"Unable to read the file '{path}' as it didn't belong to the current execution")
    try:
        local = internal_storage.to_path(path)
    except ValueError as exc:
        raise TemplateError(f"fileSize(): {exc}") from None
    if not local.is_file():
        raise TemplateError(f"fileSize(): no file at {path}")
    return local.stat().st_size


def _belongs_to(uri: str, namespace: Any, flow_id: Any, execution_id: Any) -> bool:
    """Whether ``uri`` is under the files of that execution (all three known)."""
    if not (namespace and flow_id and execution_id):
        return False
    folder = settings.execution_dir(str(namespace), str(flow_id), str(execution_id))
    return uri.startswith(internal_storage.to_uri(folder) + "/")


@pass_context
def file_uri(context: Context, path: Any) -> str:
    """``fileURI('a/b.txt')``: ``kestra:///<namespace as a path>/_files/a/b.txt``, the URI of a
    namespace file of the flow's namespace (``read()`` and ``inputFiles`` take it)."""
    if not isinstance(path, str):
        raise TemplateError("The 'fileURI' function expects an argument 'path' that is a path to a namespace file.")
    relative = path.removeprefix("/")
    if "../" in relative:
        raise TemplateError("Path must not contain '../'")
    flow = context.get("flow")
    namespace = flow.get("namespace") if isinstance(flow, Mapping) else None
    if not namespace:
        raise TemplateError("fileURI() needs a running flow")
    return f"{_KESTRA}{str(namespace).replace('.', '/')}/{internal_storage.NAMESPACE_FILES}/{relative}"
