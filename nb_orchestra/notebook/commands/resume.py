"""``%flow resume``: resume a PAUSED execution."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ... import api
from ...inputs import parse_assignments
from ...records import states
from .shared import add_execution_argument

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``resume``."""
    parser = subcommands.add_parser("resume", help="resume a paused execution",
                                    description="Resume a PAUSED execution; -i answers the onResume inputs of "
                                                "its Pause tasks.")
    add_execution_argument(parser)
    parser.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE",
                        help="an onResume input of the paused Pause task (repeatable)")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Resume the execution; a UsageError when it is not PAUSED."""
    execution = api.find_execution(args.execution)
    if execution.state != states.PAUSED:
        raise UsageError(f"execution {execution.id} is {execution.state}, not PAUSED")
    if not isinstance(execution, api.Execution):  # a stored one: its pause lives in another process
        raise UsageError(f"execution {execution.id} was not started by this kernel: it cannot be resumed here")
    execution.resume(parse_assignments(args.input))
    print(f"resumed {execution.id}")
