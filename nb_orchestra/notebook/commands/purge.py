"""``%flow purge``: remove old executions with their logs and files."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ... import api
from ...durations import parse_age

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``purge``."""
    parser = subcommands.add_parser("purge", help="remove old executions, their logs and files",
                                    description="Remove finished executions older than a span, with their logs "
                                                "and files.")
    parser.add_argument("--older-than", required=True, metavar="SPAN", help="e.g. 30d, 12h, P30D")
    parser.add_argument("--flow", metavar="ID", help="only this flow's executions")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Purge, then print how many of each kind were removed."""
    try:
        span = parse_age(args.older_than)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    counts = api.purge(span, flow_id=args.flow)
    print(", ".join(f"{n} {what}" for what, n in counts.items()) + " removed")
