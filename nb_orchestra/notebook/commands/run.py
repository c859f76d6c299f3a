"""``%flow run FLOW``: run a registered flow, as a ``%%flow`` cell runs its own."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from IPython.utils.text import DollarFormatter

from .shared import add_flow_argument, add_run_options, find_flow

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``run``."""
    parser = subcommands.add_parser(
        "run", help="run a registered flow",
        description="Run a registered flow. As in other IPython magics, $name and {expression} in FLOW and the "
                    "values of -i and -o take the notebook's values ($$, {{ and }} give a plain $, { and }).")
    add_flow_argument(parser)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Run the flow with a live view (or show the input form when a required input has no value)."""
    assert magics.shell is not None  # load_ipython_extension registers the magics with the running shell
    namespace = magics.shell.user_ns
    args.flow = _expand(args.flow, namespace)
    args.input = [_expand(assignment, namespace) for assignment in args.input]
    if args.out:
        args.out = _expand(args.out, namespace)
    magics.run_flow(find_flow(args.flow), args)


def _expand(text: str, namespace: dict[str, Any]) -> str:
    """``text`` with ``$name`` and ``{expression}`` evaluated in ``namespace``, as IPython expands a magic's line.

    Each argument is expanded on its own, so a value with spaces stays one value. Like IPython, a text that
    does not expand (an unknown name, a JSON map) is kept as written.
    """
    try:
        return DollarFormatter().vformat(text, args=[], kwargs=namespace)
    except Exception:
        return text
