"""io.kestra.plugin.core.flow.Loop: child tasks once per value, each iteration in a context of its own.

Unlike ForEach, every task under an iteration, however deeply nested, reads the iteration as
``item`` (``value``, ``index``, ``key`` for a map, ``parent``/``parents`` in a loop inside a loop), and
the outputs of an iteration's tasks stay inside it: ``outputs.t`` there is that iteration's own run,
and after the loop only the values the ``outputs`` property declares are reached, as the Loop's
``outputs`` output (a list, one entry per iteration). The engine keeps the iteration's context
(``Group.item``); this module decides the iterations and gathers what they produce.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ... import expressions
from ...errors import UserError
from ...inputs import INPUT_TYPES, coerce_input
from ...records import states
from ..base import FlowableTask, Group, GroupEnd, Plan, Prop, TaskContext, TaskFailure
from ..files import stored_file
from ..ion import kestra_value, simpleion, store_values
from .flow import loop_values

FETCH_TYPES = ("AUTO", "FETCH", "STORE")
ION_MISSING = ("Loop reads a kestra:// file of values (and stores outputs with fetchType STORE) as Amazon "
               "Ion and needs the amazon.ion package: pip install 'nb-orchestra[sqlite]'")


class Loop(FlowableTask):
    """Run ``tasks`` once per item of ``values``, each iteration isolated, ``concurrencyLimit`` at a time.

    ``values``: a list, a map (``item.key``), a JSON array or object, an expression giving one, or a
    kestra:// URI (one iteration per line, each line read as an Ion value). Inside: ``item.value``
    (objects as JSON text), ``item.index`` (from 0); ``errors`` run in the failed iteration,
    ``finally`` once after the loop. Outside: only the values ``outputs`` declares."""

    type = "io.kestra.plugin.core.flow.Loop"
    example = """\
id: loop_example
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["alpha", "beta"]
    outputs:
      - id: label
        type: STRING
        value: "{{ outputs.process.value }}"
    tasks:
      - id: process
        type: io.kestra.plugin.core.debug.Return
        format: "processed {{ item.value }} ({{ item.index }})"
  - id: all
    type: io.kestra.plugin.core.log.Log
    message: "{{ loopOutputs(outputs.loop.outputs, 'label') }}"
"""
    outputs = {
        "iterationCount": "The number of iterations.",
        "runningIterations": "The iterations still running.",
        "terminatedIterations": "The iterations that ended.",
        "outputs": "One entry per ended iteration, in the order they ended: `item` (`value`, `iteration`, "
                   "`key`) and `outputs` (the declared values; with fetchType STORE, `uri` of an Ion file "
                   "holding them). Absent when `outputs` declares none.",
    }
    properties = {
        **FlowableTask.properties,
        "values": Prop("any", required=True, dynamic=False,
                       description="A list, a map, a JSON array or object, an expression giving one, or a "
                                   "kestra:// URI of a file read one value per line."),
        "tasks": Prop("tasks", required=True, dynamic=False, description="The tasks of one iteration."),
        "concurrencyLimit": Prop("int", default=0, dynamic=False,
                                 description="Iterations run at once: 0 = all, 1 = one after the other."),
        "transmitFailed": Prop("bool", default=True, dynamic=False,
                               description="Fail the loop (and start no new iteration) when an iteration fails; "
                                           "false: the loop goes on and ends SUCCESS."),
        "outputs": Prop("list", dynamic=False,
                        description="Values exposed after the loop, rendered at the end of each iteration: "
                                    "flow-output declarations ({id, type, value})."),
        "fetchType": Prop("enum", default="AUTO", choices=FETCH_TYPES, dynamic=False,
                          description="FETCH: the declared values in `outputs`; STORE: an Ion file per "
                                      "iteration instead; AUTO: STORE when `values` is a kestra:// URI."),
        "breakWhen": Prop("string", dynamic=False,
                          description="Expression rendered after each iteration (with `item` and `iteration`: "
                                      "`executionId`, `state`, `outputs`); truthy: start no further iteration."),
    }

    def plan(self, ctx: TaskContext) -> Plan:
        items, from_file = _items(ctx)
        limit = ctx.get("concurrencyLimit")
        if limit < 0:
            raise TaskFailure("property 'concurrencyLimit': must be 0 (no limit) or more")
        outer = ctx.variables.get("item")  # this Loop runs inside another one's iteration
        parents = [] if outer is None else [_without_parents(outer), *outer.get("parents", ())]
        tasks, errors = ctx.task.children["tasks"], ctx.task.children.get("errors", ())
        groups = []
        for index, (key, value) in enumerate(items):
            item: dict[str, Any] = {"value": value, "index": index}
            if key is not None:
                item["key"] = key
            if parents:
                item["parent"], item["parents"] = parents[0], parents
            groups.append(Group(tasks, value, index, item=item, errors=errors))
        fetch_type = ctx.get("fetchType")
        tally = _Tally(len(groups), limit, ctx.get("transmitFailed"), ctx.task.props.get("outputs") or [],
                       fetch_type == "STORE" or (fetch_type == "AUTO" and from_file),
                       ctx.task.props.get("breakWhen"))
        # the Loop's errors run in the failed iteration; its finally once, after the loop (the default)
        return Plan(groups, concurrency=limit, outputs=tally.outputs(), errors=(), group_done=tally.group_done,
                    transmit_failed=tally.transmit_failed)

    def check(self, task) -> list[tuple[str | tuple[str | int, ...], str]]:
        problems: list[tuple[str | tuple[str | int, ...], str]] = []
        limit = task.props.get("concurrencyLimit")
        if isinstance(limit, int) and limit < 0:
            problems.append(("concurrencyLimit", "must be greater than or equal to 0"))
        declared = task.props.get("outputs")
        seen: set[str] = set()
        for i, output in enumerate(declared if isinstance(declared, list) else []):
            where = ("outputs", i)
            if not isinstance(output, dict) or any(output.get(name) is None for name in ("id", "type", "value")):
                problems.append((where, "a loop output must be a map with id, type and value"))
                continue
            if output["type"] not in INPUT_TYPES:
                problems.append((where + ("type",), f"unknown output type '{output['type']}'"))
            if output["id"] in seen:
                problems.append((where + ("id",), f"Duplicate output with name [{output['id']}]"))
            seen.add(output["id"])
        return problems


class _Tally:
    """The Loop's outputs as its iterations end: counts, declared values, breakWhen."""

    def __init__(self, count: int, limit: int, transmit_failed: bool, declared: Sequence[Mapping[str, Any]],
                 store: bool, break_when: str | None):
        self.count = count
        self.limit = limit or count
        self.transmit_failed = transmit_failed
        self.declared = declared
        self.store = store
        self.break_when = break_when
        self.terminated = 0
        self.stopped = False
        self.results: list[dict[str, Any]] = []

    def outputs(self) -> dict[str, Any]:
        running = 0 if self.stopped else min(self.limit, self.count - self.terminated)
        outputs: dict[str, Any] = {"iterationCount": self.count, "runningIterations": running,
                                   "terminatedIterations": self.terminated}
        if self.results:
            # The one list, growing as iterations end: a copy at every end made a loop quadratic.
            outputs["outputs"] = self.results
        return outputs

    def group_done(self, ctx: TaskContext, group: Group, state: str) -> GroupEnd | None:
        failed = state in states.FAILURES
        if failed and self.transmit_failed:  # as Kestra: the loop ends FAILED, its counts as they were
            return None
        item = dict(group.item or {})
        self.terminated += 1
        values = None if failed or not self.declared else self._values(ctx)
        if values is not None:
            entry = {"value": item["value"], "iteration": item["index"]}
            if "key" in item:
                entry["key"] = item["key"]
            self.results.append({"item": entry, "outputs": values})
        if self.break_when is not None and self._breaks(ctx, state, values):
            self.stopped = True
        return GroupEnd(outputs=self.outputs(), stop=self.stopped)

    def _values(self, ctx: TaskContext) -> dict[str, Any]:
        """The declared outputs rendered as the iteration's tasks saw it (item, their outputs)."""
        values = {}
        for output in self.declared:
            try:
                value = ctx.render(output["value"], typed=True)
                if str(output["type"]).upper() == "STRING" and value is not None and not isinstance(value, str):
                    value = expressions.to_text(value)  # as Kestra: a STRING output of a map is its JSON
                values[output["id"]] = None if value is None else coerce_input(dict(output), value)
            except (UserError, ValueError) as exc:
                raise TaskFailure(f"Invalid loop output `{output['id']}`: {exc}") from None
        if self.store:
            return {"uri": store_values(ctx, [values], ION_MISSING)["uri"]}
        return values

    def _breaks(self, ctx: TaskContext, state: str, values: dict[str, Any] | None) -> bool:
        iteration = {"executionId": ctx.execution.id, "state": state, "outputs": values or {}}
        try:
            text = expressions.render(str(self.break_when), {**ctx.variables, "iteration": iteration})
        except UserError as exc:
            raise TaskFailure(f"property 'breakWhen': {exc}") from None
        return expressions.is_truthy(text)


def _items(ctx: TaskContext) -> tuple[list[tuple[str | None, str]], bool]:
    """The iterations' (key, value) pairs, and whether they came from a kestra:// file."""
    try:
        values = ctx.render(ctx.task.props["values"], typed=True)
    except UserError as exc:
        raise TaskFailure(f"property 'values': {exc}") from None
    if isinstance(values, str):
        text = values.strip()
        if text.startswith("kestra://"):
            return [(None, value) for value in _file_values(text)], True
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            values = None
    if isinstance(values, Mapping):
        return [(str(key), _text(value)) for key, value in values.items()], False
    if isinstance(values, list):
        return [(None, value) for value in loop_values(values)], False
    raise TaskFailure("property 'values': expected a list, a map, a JSON array or object or a kestra:// URI, "
                      f"got {expressions.to_text(ctx.task.props['values'])!r}")


def _text(value: Any) -> str:
    if value is None:
        raise TaskFailure("property 'values': found a null value")
    return value if isinstance(value, str) else expressions.to_text(value)


def _file_values(uri: str) -> list[str]:
    """A stored file's lines, each read as one Ion value (a line that is not one: its text)."""
    ion = simpleion(ION_MISSING)
    from amazon.ion.exceptions import IonException
    from amazon.ion.simpleion import IonPyValueModel

    model = IonPyValueModel.MAY_BE_BARE | IonPyValueModel.SYMBOL_AS_TEXT | IonPyValueModel.STRUCT_AS_STD_DICT
    values = []
    with stored_file(uri, "values").open(encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                value = ion.loads(line, value_model=model)
            except (IonException, ValueError):
                value = line
            values.append(_text(kestra_value(value)))
    return values


def _without_parents(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in ("parent", "parents")}
