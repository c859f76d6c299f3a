"""io.kestra.plugin.core.flow.ForEachItem: a file's lines in batches, each batch a subflow execution.

As Kestra, the task runs three tasks of its own, one after the other, whose runs and outputs sit
under ``<id>_split``, ``<id>_items`` and ``<id>_merge``:

- split: the lines of ``items`` (a ``kestra://`` file) cut into batch files by ``batch`` (``rows``,
  default 1; or ``bytes``; or ``partitions``), each line followed by ``separator``; ``splits`` is a
  file listing their URIs, one a line.
- items: one execution of the subflow per batch (``{{ taskrun.items }}`` is the batch file's URI and
  ``{{ taskrun.iteration }}`` its number, from 1, in ``inputs``); outputs ``numberOfBatches`` and
  ``iterations`` (how many executions ended in each state), none when the file has no line.
  With ``transmitFailed`` a failed execution fails it. Kestra starts the executions all at once;
  here they run one after the other.
- merge: the flow outputs of every execution, one Ion value a line, as ``subflowOutputs``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ... import expressions
from ...internal_storage import to_path, to_uri
from ..base import FlowableTask, Group, Plan, Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file
from ..ion import storage_path, write_ion
from .flow import _labels as subflow_labels

TYPE = "io.kestra.plugin.core.flow.ForEachItem"
SPLIT, ITEMS, MERGE = "_split", "_items", "_merge"
_ION = "writing subflow outputs needs amazon.ion (pip install amazon.ion)"
_BYTES = re.compile(r"^\s*(\d+)\s*([KMGT]?B?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024 ** 2, "MB": 1024 ** 2, "G": 1024 ** 3,
          "GB": 1024 ** 3, "T": 1024 ** 4, "TB": 1024 ** 4}
_BATCH_KEYS = ("rows", "bytes", "partitions", "separator")
_SUBFLOW_PROPS = ("namespace", "flowId", "revision", "inputs", "labels", "wait", "transmitFailed", "inheritLabels")


class ForEachItem(FlowableTask):
    """Split a file's lines into batches and run one subflow execution per batch."""

    type = TYPE
    example = """\
id: for_each_item
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.file }}"
    batch:
      rows: 4
    namespace: company.team
    flowId: subflow
    inputs:
      items: "{{ taskrun.items }}"
"""
    properties = {
        **FlowableTask.properties,
        "items": Prop("string", required=True,
                      description="A kestra:// file (rendered), one item a line: `{{ inputs.file }}`, "
                                  "`{{ outputs.t.uri }}`."),
        "batch": Prop("map", default={},
                      description="rows (default 1), bytes ('10MB') or partitions per batch; "
                                  "separator (default newline)."),
        "namespace": Prop("string", required=True, description="Namespace of the subflow."),
        "flowId": Prop("string", required=True, description="Id of the subflow."),
        "revision": Prop("int", dynamic=False, description="Revision of the subflow; the latest when absent."),
        "inputs": Prop("map", default={},
                       description="Inputs of each execution; `{{ taskrun.items }}` is its batch file."),
        "labels": Prop("any", description="Labels added to each execution."),
        "wait": Prop("bool", default=True, dynamic=False, description="Wait for the executions to end."),
        "transmitFailed": Prop("bool", default=True, dynamic=False,
                               description="Fail when an execution fails (with wait)."),
        "inheritLabels": Prop("bool", default=False, dynamic=False,
                              description="Copy this execution's labels to each execution."),
        "scheduleDate": Prop("string", dynamic=False, description="Not supported: executions start at once."),
    }

    def check(self, task: Any) -> list[tuple[str | tuple[str | int, ...], str]]:
        problems: list[tuple[str | tuple[str | int, ...], str]] = []
        if task.props.get("scheduleDate") is not None:
            problems.append(("scheduleDate", "scheduleDate is not supported: the executions start at once"))
        batch = task.props.get("batch")
        for key in batch if isinstance(batch, dict) else ():
            if key not in _BATCH_KEYS:
                problems.append((("batch", key), f"unknown property '{key}' for batch: use {', '.join(_BATCH_KEYS)}"))
        return problems

    def implicit_tasks(self, raw: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        task_id = str(raw.get("id"))
        subflow = {key: raw[key] for key in _SUBFLOW_PROPS if key in raw}
        return {"tasks": [
            {"id": task_id + SPLIT, "type": Split.type, "items": raw.get("items"), "batch": raw.get("batch") or {}},
            {"id": task_id + ITEMS, "type": Executions.type, "splitTask": task_id + SPLIT, **subflow},
            {"id": task_id + MERGE, "type": MergeOutputs.type, "itemsTask": task_id + ITEMS},
        ]}

    def plan(self, ctx: TaskContext) -> Plan:
        return Plan([Group(ctx.task.children["tasks"])])


def _internal(description: str) -> Prop:
    return Prop("any", dynamic=False, description=description)


class Split(TaskPlugin):
    """ForEachItem's first task: the batch files."""

    type = TYPE + "$ForEachItemSplit"
    internal = True
    blocking = True
    outputs = {"splits": "A file listing the batch files' URIs, one a line."}
    properties = {"items": _internal("The file to split."), "batch": _internal("How to cut it.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        uri = str(ctx.render(ctx.task.props["items"]))
        if not uri.startswith("kestra://"):
            raise TaskFailure(f"Unable to split the items from {uri}, this is not an internal storage URI!")
        source = stored_file(uri, "items")
        batch = ctx.render(ctx.task.props.get("batch") or {})
        if not isinstance(batch, Mapping):
            raise TaskFailure(f"property 'batch': expected a map, got {batch!r}")
        separator = str(batch.get("separator", "\n"))
        lines = source.read_text(encoding="utf-8").splitlines()
        chunks = _chunks(lines, separator, batch)
        suffix = source.suffix or ".tmp"
        uris = []
        for number, chunk in enumerate(chunks, start=1):
            path = storage_path(ctx, f"batch_{number}{suffix}")
            path.write_text("".join(line + separator for line in chunk), encoding="utf-8")
            uris.append(to_uri(path))
        listing = storage_path(ctx, "splits.txt")
        listing.write_text("\n".join(uris), encoding="utf-8")
        return {"splits": to_uri(listing)}


def _chunks(lines: list[str], separator: str, batch: Mapping[str, Any]) -> list[list[str]]:
    """Kestra's StorageService.split: by bytes, else partitions (round robin), else rows."""
    if batch.get("bytes") is not None:
        limit = _byte_size(batch["bytes"])
        return _cut(lines, lambda size, rows: size >= limit, separator)
    if batch.get("partitions") is not None:
        count = _positive(batch["partitions"], "partitions")
        parts: list[list[str]] = [[] for _ in range(count)]
        for index, line in enumerate(lines):
            parts[index % count].append(line)
        return [part for part in parts if part]
    rows = _positive(batch.get("rows", 1), "rows")
    return _cut(lines, lambda size, count: count >= rows, separator)


def _cut(lines: list[str], full: Any, separator: str) -> list[list[str]]:
    chunks: list[list[str]] = []
    size = 0
    for line in lines:
        if not chunks or full(size, len(chunks[-1])):
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len((line + separator).encode("utf-8"))
    return chunks


def _positive(value: Any, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise TaskFailure(f"batch.{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise TaskFailure(f"batch.{name} must be 1 or more, got {number}")
    return number


def _byte_size(value: Any) -> int:
    match = _BYTES.match(str(value))
    if match is None:
        raise TaskFailure(f"Invalid size with value '{value}'")
    return int(match[1]) * _UNITS[match[2].upper()]


def _sibling_outputs(ctx: TaskContext, task_id: str) -> Any:
    """The outputs of another task of the same ForEachItem run (inside loops, of the same values)."""
    node = ctx.variables["outputs"].get(task_id)
    for value in ctx.run.path:
        node = node.get(value) if isinstance(node, Mapping) else None
    return node


class Executions(TaskPlugin):
    """ForEachItem's second task: one subflow execution per batch."""

    type = TYPE + "$ForEachItemExecutable"
    internal = True
    blocking = True
    outputs = {
        "numberOfBatches": "How many batches (subflow executions) there are.",
        "iterations": "How many executions are in each state (CREATED, RUNNING, SUCCESS...).",
        "subflowOutputsBaseUri": "Where each execution's flow outputs are kept (<base>/<iteration>/outputs.ion).",
    }
    properties = {
        "splitTask": _internal("The id of the split task."),
        **{key: _internal(f"The ForEachItem's {key}.") for key in _SUBFLOW_PROPS},
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        props = ctx.task.props
        listing = (_sibling_outputs(ctx, props["splitTask"]) or {}).get("splits")
        splits = to_path(listing).read_text(encoding="utf-8").split() if listing else []
        if not splits:
            return None
        namespace, flow_id = str(ctx.render(props["namespace"])), str(ctx.render(props["flowId"]))
        wait, transmit = props.get("wait", True), props.get("transmitFailed", True)
        labels = dict(ctx.execution.labels) if props.get("inheritLabels") else {}
        labels.update(subflow_labels(ctx.render(props.get("labels") or {})))
        iterations = {"CREATED": 0, "RUNNING": 0}
        base = storage_path(ctx, "outputs")
        for iteration, uri in enumerate(splits, start=1):
            variables = {**ctx.variables, "taskrun": {**ctx.variables["taskrun"], "items": uri, "iteration": iteration}}
            inputs = expressions.render_value(props.get("inputs") or {}, variables)
            child = ctx.run_subflow(namespace, flow_id, props.get("revision"), inputs, labels, wait)
            iterations[child.state] = iterations.get(child.state, 0) + 1
            if wait and child.flow_outputs:
                path = base / str(iteration) / "outputs.ion"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_ion(path, [dict(child.flow_outputs)], _ION)
        if not wait:  # as Kestra: an execution started counts as a SUCCESS of this task
            iterations = {"RUNNING": 0, "SUCCESS": len(splits)}
        outputs = {"numberOfBatches": len(splits), "iterations": iterations, "subflowOutputsBaseUri": _dir_uri(base)}
        failed = iterations.get("FAILED", 0) + iterations.get("KILLED", 0)
        if wait and transmit and failed:
            raise TaskFailure(f"{failed} of {len(splits)} executions of {namespace}.{flow_id} failed", outputs)
        ctx.warning = bool(wait and transmit and iterations.get("WARNING"))
        return outputs


def _dir_uri(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    return to_uri(path)


class MergeOutputs(TaskPlugin):
    """ForEachItem's last task: the subflows' outputs in one file."""

    type = TYPE + "$ForEachItemMergeOutputs"
    internal = True
    blocking = True
    outputs = {"subflowOutputs": "An Ion file: the flow outputs of each execution, one a line, in order."}
    properties = {"itemsTask": _internal("The id of the task that ran the subflows.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        base = (_sibling_outputs(ctx, ctx.task.props["itemsTask"]) or {}).get("subflowOutputsBaseUri")
        if base is None:
            return None
        files = sorted(to_path(base).glob("*/outputs.ion"), key=lambda path: int(path.parent.name))
        if not files:
            return None
        merged = storage_path(ctx, "outputs.ion")
        merged.write_text("".join(path.read_text(encoding="utf-8") for path in files), encoding="utf-8")
        return {"subflowOutputs": to_uri(merged)}
