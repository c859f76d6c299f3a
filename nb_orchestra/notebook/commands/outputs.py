"""``%flow outputs``: an execution's outputs, as the cell's value."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ... import api
from ...secrets import mask_value
from .shared import add_execution_argument

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``outputs``."""
    parser = subcommands.add_parser("outputs", help="an execution's outputs",
                                    description="Return an execution's outputs, secret values masked.")
    add_execution_argument(parser)
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> Any:
    """The outputs of the execution, by task id, with its secret values masked: the cell's value ends
    up in the saved notebook (``ex.outputs`` keeps the clear values)."""
    execution = api.find_execution(args.execution)
    return mask_value(execution.outputs, execution.secrets)
