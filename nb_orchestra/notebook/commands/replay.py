"""``%flow replay``: Kestra's Replay, a new execution from a task on."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ... import api
from .shared import add_execution_argument, identifier

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``replay``."""
    parser = subcommands.add_parser("replay", help="a new execution from a task on, reusing earlier outputs",
                                    description="Kestra's Replay: a new execution copies the task runs before "
                                                "TASK and runs TASK and everything after it again.")
    add_execution_argument(parser)
    parser.add_argument("--from", dest="from_task", required=True, metavar="TASK", help="the task to run again from")
    parser.add_argument("--value", help="the loop value of TASK's run, inside a ForEach")
    parser.add_argument("-o", "--out", metavar="NAME", help="variable to bind the new Execution to")
    parser.add_argument("--allow-failure", action="store_true", help="do not fail the cell if it fails")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Bind the new execution, then run it with a live view; a failure fails the cell unless allowed."""
    replay, start_replay = api.prepare_replay(api.find_execution(args.execution), args.from_task, args.value)
    magics.bind(args.out or identifier(replay.flow_id), replay)
    magics.run_live(replay, start_replay, args.allow_failure)
