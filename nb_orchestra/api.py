"""The public Python API: load, validate, register and run flows."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from . import expressions, registry
from .engine import events
from .engine.execution import Execution
from .engine.launch import create_execution, replay_execution, run_execution, run_in_background
from .errors import UserError
from .model.flow import Flow
from .model.parse import parse_flow

def load_flow(source: str | os.PathLike[str] | Flow) -> Flow:
    """Parse and validate a flow from YAML text, a ``.yml``/``.yaml`` path, or a Flow; a bare name
    (``hello`` or ``company.team.hello``) is a registered flow.

    Raises FlowValidationError listing every problem with its line and column.
    """
    if isinstance(source, Flow):
        return source
    if isinstance(source, str) and _IDENTIFIER.match(source.strip()):
        return _registered(source.strip())
    if isinstance(source, os.PathLike) or _looks_like_path(source):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"no such flow file: {path}") from None
        return _parse(text, str(path))
    return _parse(source, None)


@functools.lru_cache(maxsize=64)
def _parsed(text: str, name: str | None) -> Flow:
    return parse_flow(text, name=name)


def _parse(text: str, name: str | None) -> Flow:
    """Parse once per distinct text (a notebook cell runs again and again unchanged); each caller gets
    its own Flow object, sharing the immutable tasks."""
    return dataclasses.replace(_parsed(text, name))


_IDENTIFIER = re.compile(r"^[A-Za-z0-9_][\w.-]*$")


def _registered(name: str) -> Flow:
    """A registered flow named by ``id`` or ``namespace.id`` (what a bare word passed as a flow means)."""
    matches = [f for f in registry.flows() if name in (f.id, f"{f.namespace}.{f.id}")]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(f"{f.namespace}.{f.id}" for f in registry.flows()) or "none"
    raise UserError(f"'{name}' is not YAML text, a .yml/.yaml path or a {'unique ' if matches else ''}registered "
                    f"flow (registered: {known})")


def _looks_like_path(source: str) -> bool:
    return "\n" not in source and source.strip().lower().endswith((".yml", ".yaml"))


def register_flow(source: str | os.PathLike[str] | Flow) -> Flow:
    """Validate a flow and add it to the process-wide registry (for Subflow tasks and triggers)."""
    return registry.register(load_flow(source))


def run(source: str | os.PathLike[str] | Flow, inputs: Mapping[str, Any] | None = None, *,
        labels: Mapping[str, str] | None = None, trigger: dict[str, Any] | None = None,
        listeners: Iterable[events.Listener] = (), background: bool = False) -> Execution:
    """Run a flow and return its Execution (state SUCCESS, WARNING, FAILED or KILLED).

    Blocking unless ``background``; then call ``execution.wait()``. Invalid
    inputs raise InputError before any execution exists, as in Kestra.
    """
    flow = load_flow(source)
    execution = create_execution(flow, inputs, labels=labels, trigger=trigger)
    bus = events.EventBus()
    for listener in listeners:
        bus.subscribe(listener)
    if background:
        run_in_background(execution, bus)
        return execution
    return run_execution(execution, bus)


def render(template: str, context: Mapping[str, Any] | None = None) -> str:
    """Render a template with Kestra's Pebble semantics: ``render("{{ x | upper }}", {"x": "a"})``."""
    return expressions.render(template, context or {})


def replay(execution: Execution, from_task: str, value: str | None = None) -> Execution:
    """Kestra's Replay: a new execution reusing the outputs of everything before ``from_task``.

    ``value`` picks the run of ``from_task`` for one loop value. Blocking; returns the new execution.
    """
    return replay_execution(execution, from_task, value)
