"""``%flow kill``: stop one running execution, or all of them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ... import api
from .shared import add_execution_argument

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``kill``."""
    parser = subcommands.add_parser("kill", help="stop a running execution", description="Kill running executions.")
    add_execution_argument(parser, default="all running")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Ask the execution (or every running one) to stop; print each one asked."""
    if args.execution:
        execution = api.find_execution(args.execution)
        if not isinstance(execution, api.Execution):  # a stored one: its engine is another process's
            raise UsageError(f"execution {execution.id} was not started by this kernel: it cannot be killed here")
        targets = [execution]
    else:
        targets = api.running_executions()
    for execution in targets:
        execution.kill()
        print(f"kill requested: {execution.namespace}.{execution.flow_id} {execution.id}")
    if not targets:
        print("no running execution")
