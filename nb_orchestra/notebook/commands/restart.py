"""``%flow restart``: Kestra's Restart of a FAILED or KILLED execution."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ... import api
from .shared import add_execution_argument

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``restart``."""
    parser = subcommands.add_parser("restart", help="run a failed execution again, keeping what succeeded",
                                    description="Kestra's Restart: the same execution runs again; task runs that "
                                                "succeeded are kept, failed ones get a new attempt.")
    add_execution_argument(parser)
    parser.add_argument("--allow-failure", action="store_true", help="do not fail the cell if it fails again")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Run the execution again with a live view; a failure fails the cell unless allowed."""
    execution = api.revive(api.find_execution(args.execution))
    magics.run_live(execution, lambda tick: api.restart(execution, tick=tick), args.allow_failure)
