"""``%flow logs``: an execution's log lines."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ... import api
from ...records.states import LOG_LEVELS
from ...views.text import log_lines
from .shared import add_execution_argument

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``logs``."""
    parser = subcommands.add_parser("logs", help="an execution's log lines",
                                    description="Print an execution's log lines.")
    add_execution_argument(parser)
    parser.add_argument("--level", type=str.upper, default="INFO", choices=LOG_LEVELS,
                        help="lowest level shown (default INFO; a note counts the lines it hides)")
    parser.add_argument("--task", help="only this task's lines")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Print the lines at ``--level`` or above, of ``--task`` only when given."""
    for line in log_lines(api.find_execution(args.execution).logs, args.level, args.task):
        print(line)
