"""``%flow triggers``: the armed triggers; enable or disable one."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .shared import find_flow, show_table, when

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``triggers``; ``--disable`` and ``--enable`` exclude each other."""
    parser = subcommands.add_parser("triggers", help="armed triggers: next fire, last execution, enabled",
                                    description="List the armed triggers; enable or disable one.")
    parser.add_argument("flow", nargs="?", metavar="FLOW", help="only this flow's triggers")
    toggle = parser.add_mutually_exclusive_group()
    toggle.add_argument("--disable", metavar="ID", help="stop a trigger from firing")
    toggle.add_argument("--enable", metavar="ID", help="let a disabled trigger fire again")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Apply ``--disable``/``--enable``, then show a table of the triggers (of FLOW only when given)."""
    from ...triggers import start_scheduler

    scheduler = start_scheduler()
    flow = find_flow(args.flow) if args.flow else None
    where = {"flow_id": flow.id, "namespace": flow.namespace} if flow else {}
    if args.disable:
        scheduler.disable(args.disable, **where)
    if args.enable:
        scheduler.enable(args.enable, **where)
    shown = [row for row in scheduler.rows() if flow is None or row.flow == f"{flow.namespace}.{flow.id}"]
    rows: list[tuple[str, ...]] = [
        (row.flow, row.trigger_id, row.type, row.cron or "", when(row.next_fire),
         f"{row.last_execution_id or ''} {row.last_state or ''}".strip(), "yes" if row.enabled else "no")
        for row in shown]
    header = ["flow", "trigger", "type", "cron", "next fire", "last execution", "enabled"]
    if any(row.warning for row in shown):  # an HTTP trigger's last poll failed: say why
        header.append("warning")
        rows = [(*cells, row.warning or "") for cells, row in zip(rows, shown, strict=True)]
    show_table(header, rows, "no triggers armed: define a flow with triggers in a %%flow cell")
