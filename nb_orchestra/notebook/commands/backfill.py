"""``%flow backfill FLOW``: one execution per past tick of a Schedule trigger."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.display import display

from ... import api
from ...inputs import parse_assignments
from ...views.html import table_html
from ...views.text import format_seconds
from .shared import add_flow_argument, find_flow, when

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``backfill``."""
    parser = subcommands.add_parser("backfill", help="one execution per past tick of a schedule", description=(
        "Run one execution per tick of a Schedule trigger in [--start, --end), with trigger.date set, the "
        "trigger's inputs applied and the label backfill: true. Returns the executions."))
    add_flow_argument(parser)
    parser.add_argument("--start", required=True, help="first date (inclusive), e.g. 2019-01-01")
    parser.add_argument("--end", help="last date (exclusive); default now")
    parser.add_argument("--trigger", metavar="ID", help="the Schedule trigger (when the flow has several)")
    parser.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE",
                        help="an input value overriding the trigger's; repeat for several")
    parser.add_argument("--concurrency", type=int, default=1, metavar="N", help="ticks run at once (default 1)")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> list[api.Execution]:
    """Run the ticks with a progress line, then a table of the executions; returns them."""
    from ... import triggers

    flow = find_flow(args.flow)
    status = display({"text/plain": f"backfill {flow.namespace}.{flow.id}: starting"}, raw=True, display_id=True)

    def progress(done: int, total: int, execution: api.Execution) -> None:
        status.update({"text/plain": f"backfill {flow.namespace}.{flow.id}: {done} of {total} done "
                                     f"(last: {_tick(execution)} {execution.state})"}, raw=True)

    executions = triggers.backfill(flow, args.start, args.end, trigger_id=args.trigger,
                                   inputs=parse_assignments(args.input), concurrency=args.concurrency,
                                   on_progress=progress)
    rows = [(_tick(ex), ex.id, ex.state, format_seconds(ex.duration)) for ex in executions]
    status.update({"text/plain": triggers.summary(executions, f"backfill {flow.namespace}.{flow.id}"),
                   "text/html": table_html(["trigger.date", "execution", "state", "duration"], rows)}, raw=True)
    return executions


def _tick(execution: api.Execution) -> str:
    """The tick an execution of the backfill ran for: its ``trigger.date`` (always set by backfill)."""
    return when(execution.trigger["date"] if execution.trigger is not None else None)
