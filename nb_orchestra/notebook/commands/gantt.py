"""``%flow gantt``: a Gantt chart of an execution."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.display import SVG, display

from ... import api
from .shared import add_execution_argument

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``gantt``."""
    parser = subcommands.add_parser("gantt", help="a Gantt chart of an execution",
                                    description="Draw one bar per task run of an execution, coloured by state.")
    add_execution_argument(parser)
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Display the chart as SVG: one bar per task run, coloured by state."""
    from ...views.gantt import gantt_svg

    display(SVG(gantt_svg(api.find_execution(args.execution))))
