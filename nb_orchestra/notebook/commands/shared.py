"""What several ``%flow`` commands (and the ``%%flow`` cell) share: options, names, tables."""

from __future__ import annotations

import argparse
import keyword
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.display import display

from ... import api
from ...errors import FlowNotFoundError
from ...views.html import table_html
from ...views.text import text_table

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run: inputs, the variable to bind, background, allowed failure."""
    parser.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE",
                        help="an input value; repeat for several inputs")
    parser.add_argument("-o", "--out", metavar="NAME",
                        help="variable to bind the Execution to (default: the flow id as an identifier)")
    parser.add_argument("--background", action="store_true",
                        help="return at once; the progress view keeps updating while later cells run")
    parser.add_argument("--allow-failure", action="store_true",
                        help="do not fail the cell when the execution ends FAILED or KILLED")


def add_flow_argument(parser: argparse.ArgumentParser) -> None:
    """The FLOW a command works on."""
    parser.add_argument("flow", metavar="FLOW", help="flow id, or namespace.id")


def add_execution_argument(parser: argparse.ArgumentParser, default: str = "the last") -> None:
    """The optional EXEC a command works on, and what it means when left out."""
    parser.add_argument("execution", nargs="?", metavar="EXEC",
                        help=f"execution id or prefix, or a flow id (its latest execution) (default: {default})")


def identifier(flow_id: str) -> str:
    """The flow id as a Python variable name: ``inputs-demo`` -> ``inputs_demo``."""
    name = re.sub(r"\W", "_", flow_id)
    if not name or name[0].isdigit():
        name = "_" + name
    return name + "_" if keyword.iskeyword(name) else name


def find_flow(name: str) -> api.Flow:
    """The registered flow ``name`` names; a short UsageError when there is not exactly one."""
    try:
        return api.find_flow(name)
    except FlowNotFoundError as exc:
        raise UsageError(str(exc)) from None


def show_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> None:
    """A table as HTML with a text/plain fallback; ``empty`` printed when there are no rows."""
    if not rows:
        print(empty)
        return
    display({"text/plain": text_table(headers, rows), "text/html": table_html(headers, rows)}, raw=True)


def when(moment: datetime | None) -> str:
    """A moment to the second, or nothing."""
    return moment.isoformat(timespec="seconds") if moment is not None else ""
