"""``%flow validate``: validate a flow file, or re-check the registered flows."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ... import api
from .shared import find_flow

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``validate``."""
    parser = subcommands.add_parser("validate", help="validate a flow file or a registered flow",
                                    description="Validate a flow file, or re-check registered flows.")
    parser.add_argument("flow", nargs="?", metavar="FLOW_OR_PATH", help="a .yml/.yaml path or a flow id")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Print OK and the warnings of each flow; an invalid one raises FlowValidationError."""
    flows = [api.load_flow(args.flow)] if args.flow and args.flow.endswith((".yml", ".yaml")) else (
        [api.load_flow(find_flow(args.flow).source)] if args.flow else
        [api.load_flow(f.source) for f in api.registered_flows()])
    for flow in flows:
        print(f"OK {flow.namespace}.{flow.id}: {sum(1 for _ in flow.all_tasks())} tasks")
        for warning in flow.warnings:
            print(f"  warning: {warning}")
