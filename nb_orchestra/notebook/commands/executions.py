"""``%flow executions``: executions from the store, also those of earlier kernels."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ... import api
from ...durations import parse_since
from ...views.text import EXECUTION_COLUMNS, execution_row
from .shared import show_table

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``executions`` and its filters."""
    parser = subcommands.add_parser("executions", help="past executions, also of earlier kernels",
                                    description="List executions from the store, newest first.")
    parser.add_argument("flow", nargs="?", metavar="FLOW", help="only this flow's executions (id)")
    parser.add_argument("--namespace", help="only this namespace (and its children)")
    parser.add_argument("--state", type=str.upper, help="only executions in this state")
    parser.add_argument("--label", metavar="KEY=VALUE", help="only executions with this label")
    parser.add_argument("--since", metavar="WHEN", help="started after a date (2019-01-01) or an age ago (2h, 7d)")
    parser.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """A table of the executions that pass the filters, newest first."""
    flow_id = args.flow.rsplit(".", 1)[-1] if args.flow else None
    found = api.executions(flow_id=flow_id, namespace=args.namespace, state=args.state, label=args.label,
                           since=parse_since(args.since), limit=args.limit)
    show_table(EXECUTION_COLUMNS, [execution_row(ex) for ex in found], "no executions yet")
