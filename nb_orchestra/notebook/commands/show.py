"""``%flow show FLOW``: a registered flow's YAML and the picture of its tasks."""

from __future__ import annotations

import argparse
from html import escape
from typing import TYPE_CHECKING

from IPython.display import SVG, display

from .shared import add_flow_argument, find_flow

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``show``."""
    parser = subcommands.add_parser("show", help="a flow's YAML and a picture of its tasks",
                                    description="Show a registered flow's YAML and its topology.")
    add_flow_argument(parser)
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Display the flow's source, then its topology as SVG."""
    from ...views.topology import topology_svg

    flow = find_flow(args.flow)
    display({"text/plain": flow.source, "text/html": f"<pre>{escape(flow.source)}</pre>"}, raw=True)
    display(SVG(topology_svg(flow)))
