"""``%flow list``: the registered flows."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ... import api
from .shared import show_table

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``list``."""
    parser = subcommands.add_parser("list", help="registered flows", description="List registered flows.")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """A table of the registered flows with their revision and counts of tasks, inputs, triggers."""
    rows = [(f.namespace, f.id, f.revision, sum(1 for _ in f.all_tasks()), len(f.inputs), len(f.triggers))
            for f in api.registered_flows()]
    show_table(["namespace", "id", "revision", "tasks", "inputs", "triggers"], rows, "no flows registered yet")
