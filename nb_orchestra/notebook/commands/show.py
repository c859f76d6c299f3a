"""``%flow show FLOW|EXEC``: a registered flow's YAML and the picture of its tasks, or the picture
of an execution's tasks coloured by the state of their runs."""

from __future__ import annotations

import argparse
from html import escape
from typing import TYPE_CHECKING

from IPython.core.error import UsageError
from IPython.display import SVG, display

from ... import api
from ...errors import FlowNotFoundError, UserError

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``show``."""
    parser = subcommands.add_parser(
        "show", help="a flow's YAML and a picture of its tasks, or an execution's coloured by state",
        description="Show a registered flow's YAML and its topology (coloured by the state of its latest "
                    "execution of this revision, if any), or the topology of an execution coloured by the "
                    "state of its task runs (tasks that never ran are faded).")
    parser.add_argument("target", metavar="FLOW|EXEC", help="flow id or namespace.id, or an execution id or prefix")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Display the flow's source, then its topology as SVG; or an execution's coloured topology."""
    from ...views.topology import states_by_task, topology_svg

    try:
        flow, missing = api.find_flow(args.target), ""
    except FlowNotFoundError as exc:
        flow, missing = None, str(exc)
    execution = _execution(args.target, flow)
    if flow is None:
        if execution is None:
            raise UsageError(f"{missing}, nor an execution")
        flow = _flow_of(execution)
    else:
        display({"text/plain": flow.source, "text/html": f"<pre>{escape(flow.source)}</pre>"}, raw=True)
    if execution is not None and execution.revision != flow.revision:
        execution = None  # an older revision's runs would not fit this picture
    display(SVG(topology_svg(flow, states_by_task(execution) if execution is not None else None)))


def _execution(target: str, flow: api.Flow | None) -> api.ExecutionView | None:
    """The execution ``target`` names (a flow's latest), or None."""
    try:
        found = api.find_execution(f"{flow.namespace}.{flow.id}" if flow is not None else target)
    except UserError:
        return None
    return found if flow is None or (found.namespace, found.flow_id) == (flow.namespace, flow.id) else None


def _flow_of(execution: api.ExecutionView) -> api.Flow:
    """The flow an execution ran: its own (live), or its revision's source read back from the store."""
    flow = getattr(execution, "flow", None)
    if flow is not None:
        return flow
    source = getattr(execution, "flow_source", None)
    if source is None:
        raise UsageError(f"the flow of execution {execution.id} is not known (no source stored for its revision)")
    return api.load_flow(source)
