"""``%flow eval EXPRESSION``: an expression rendered against an execution (Kestra's debug panel)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ... import api

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``eval``."""
    parser = subcommands.add_parser("eval", help="evaluate an expression against an execution", description=(
        "Render an expression with a finished execution's variables (inputs, outputs, vars, labels...), "
        "as Kestra's debug-expression panel does."))
    parser.add_argument("expression", help='e.g. "{{ outputs.extract.uri }}"')
    parser.add_argument("--execution", metavar="EXEC",
                        help="execution id or prefix, or a flow id (its latest execution) (default: the last)")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> Any:
    """The expression's typed value, as the execution's tasks saw it; text shows as plain text."""
    value = api.evaluate(args.expression, api.find_execution(args.execution))
    return PlainText(value) if isinstance(value, str) else value


class PlainText(str):
    """A string IPython shows without quotes, as Kestra's debug panel does."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))
