"""``%flow run FLOW``: run a registered flow, as a ``%%flow`` cell runs its own."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .shared import add_flow_argument, add_run_options, find_flow

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``run``."""
    parser = subcommands.add_parser("run", help="run a registered flow", description="Run a registered flow.")
    add_flow_argument(parser)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Run the flow with a live view (or show the input form when a required input has no value)."""
    magics.run_flow(find_flow(args.flow), args)
