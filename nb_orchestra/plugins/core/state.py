"""Kestra's deprecated state store tasks: state.Set, state.Get and state.Delete.

A state is a JSON map named ``name``. It is kept where Kestra 0.18+ keeps it (``StateStore``): in the
KV store of the flow's namespace, under the key Kestra computes —
``<flow id slug>_states_tasks-states_<name>[_<murmur3 hash of the task run's loop value>]`` (no flow
part when ``namespace: true``). The KV store is already shared by every flow and process and purged
by kv.PurgeKV; using Kestra's own key keeps a state readable the same way on both (``kv('…')``), and
no second store (files under the home folder) has to be kept, listed or purged.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ...errors import KVStoreError
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin

_STATE_NAME = "tasks-states"  # Kestra's AbstractState: the state's name, ``name`` is its sub-name

_COMMON = {
    "name": Prop("string", default="default", description="The name of the state (one JSON map per name)."),
    "namespace": Prop("bool", default=False, description="Share the state with every flow of the namespace "
                      "instead of keeping it to this flow."),
    "taskrunValue": Prop("bool", default=True, description="Keep one state per loop value (the task run's "
                         "`value` inside a ForEach), instead of one for every value."),
}
_ERROR_ON_MISSING = Prop("bool", default=False, description="Fail when the state does not exist.")


def slugify(text: str) -> str:
    """Kestra's Slugify.of."""
    slug = re.sub(r"[^\w-]", "", unicodedata.normalize("NFD", re.sub(r"\s", "-", text)), flags=re.ASCII)
    slug = re.sub(r"-{2,}", "-", slug.replace("_", "-"))
    return slug.strip("-").lower()


def state_key(ctx: TaskContext) -> str:
    """The KV key of the task's state (Kestra's StateStore.statePrefix with hashed task run values)."""
    name = f"{_STATE_NAME}_{ctx.get('name')}"
    flow = "" if ctx.get("namespace") else slugify(ctx.execution.flow_id) + "_"
    value = ctx.run.value if ctx.get("taskrunValue") else None
    return f"{flow}states_{name}" + ("" if value is None else f"_{murmur3_128_hex(value)}")


def _read(ctx: TaskContext, key: str) -> dict[str, Any] | None:
    try:
        found, value = ctx.kv(ctx.execution.namespace).get(key)
    except KVStoreError as exc:
        raise TaskFailure(str(exc)) from None
    if not found:
        return None
    if not isinstance(value, dict):
        raise TaskFailure(f"State {key} is not a JSON map")
    return value


def merge(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Kestra's MapUtils.merge: maps merged key by key, any other value replaced."""
    merged = dict(current)
    for key, value in new.items():
        old = merged.get(key)
        merged[key] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


class Set(TaskPlugin):
    """Merge ``data`` into a state (created when missing): its maps merged, other values replaced."""

    type = "io.kestra.plugin.core.state.Set"
    aliases = ("io.kestra.core.tasks.states.Set",)
    outputs = {"count": "The number of entries of the state after the merge.",
               "key": "The KV key the state is kept under (in the flow's namespace)."}
    example = """\
id: state_set
namespace: company.team
tasks:
  - id: set
    type: io.kestra.plugin.core.state.Set
    data:
      "{{ inputs.key ?? 'name' }}": "{{ inputs.value ?? 'value' }}"
"""
    properties = {
        **_COMMON,
        "data": Prop("map", description="The entries to merge into the state (keys and values rendered)."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        key = state_key(ctx)
        state = merge(_read(ctx, key) or {}, ctx.get("data") or {})
        try:
            ctx.kv(ctx.execution.namespace).set(key, state)
        except KVStoreError as exc:
            raise TaskFailure(str(exc)) from None
        return {"count": len(state), "key": key}


class Get(TaskPlugin):
    """Read a state: an empty one when it does not exist (unless ``errorOnMissing``)."""

    type = "io.kestra.plugin.core.state.Get"
    aliases = ("io.kestra.core.tasks.states.Get",)
    outputs = {"count": "The number of entries of the state.", "data": "The state's entries."}
    properties = {**_COMMON, "errorOnMissing": _ERROR_ON_MISSING}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        key = state_key(ctx)
        state = _read(ctx, key)
        if state is None:
            if ctx.get("errorOnMissing"):
                raise TaskFailure(f"State {key} not found")
            state = {}
        return {"count": len(state), "data": state}


class Delete(TaskPlugin):
    """Delete a state."""

    type = "io.kestra.plugin.core.state.Delete"
    aliases = ("io.kestra.core.tasks.states.Delete",)
    outputs = {"deleted": "Whether there was a state to delete."}
    properties = {**_COMMON, "errorOnMissing": _ERROR_ON_MISSING}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        key = state_key(ctx)
        try:
            deleted = ctx.kv(ctx.execution.namespace).delete(key)
        except KVStoreError as exc:
            raise TaskFailure(str(exc)) from None
        if not deleted and ctx.get("errorOnMissing"):
            raise TaskFailure(f"Unable to find the state file '{ctx.get('name')}'")
        return {"deleted": deleted}


# -- Guava's Hashing.murmur3_128().hashString(value, UTF_8).toString() (Kestra's Hashing.hashToString) --

_M = 0xFFFFFFFFFFFFFFFF
_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _fmix(k: int) -> int:
    k = ((k ^ (k >> 33)) * 0xFF51AFD7ED558CCD) & _M
    k = ((k ^ (k >> 33)) * 0xC4CEB9FE1A85EC53) & _M
    return k ^ (k >> 33)


def _mix1(k1: int) -> int:
    return (_rotl((k1 * _C1) & _M, 31) * _C2) & _M


def _mix2(k2: int) -> int:
    return (_rotl((k2 * _C2) & _M, 33) * _C1) & _M


def murmur3_128_hex(text: str) -> str:
    """MurmurHash3 x64 128 (seed 0) of ``text``'s UTF-8 bytes, as Guava prints it (16 bytes, hex)."""
    data = text.encode()
    h1 = h2 = 0
    blocks = len(data) // 16
    for i in range(blocks):
        h1 ^= _mix1(int.from_bytes(data[16 * i:16 * i + 8], "little"))
        h1 = ((_rotl(h1, 27) + h2) * 5 + 0x52DCE729) & _M
        h2 ^= _mix2(int.from_bytes(data[16 * i + 8:16 * i + 16], "little"))
        h2 = ((_rotl(h2, 31) + h1) * 5 + 0x38495AB5) & _M
    tail = data[16 * blocks:]
    if len(tail) > 8:
        h2 ^= _mix2(int.from_bytes(tail[8:], "little"))
    if tail:
        h1 ^= _mix1(int.from_bytes(tail[:8], "little"))
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _M
    h2 = (h2 + h1) & _M
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _M
    h2 = (h2 + h1) & _M
    return (h1.to_bytes(8, "little") + h2.to_bytes(8, "little")).hex()
