"""``%flow doc TYPE``: a task type's documentation, an example flow with it."""

from __future__ import annotations

import argparse
from html import escape
from typing import TYPE_CHECKING

from IPython.core.error import UsageError
from IPython.display import display

from ... import api
from ...errors import UserError

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``doc``."""
    parser = subcommands.add_parser(
        "doc", help="a task type's properties, outputs and an example flow",
        description="Show a task type's description, its properties (kind, required, default, rendered or not), "
                    "its outputs and an example flow, as docs/plugins.md documents them.")
    parser.add_argument("type", metavar="TYPE",
                        help="a task type (io.kestra.plugin.core.log.Log) or its class name (Log)")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Display the documentation as Markdown, with the Markdown text as its plain-text form."""
    try:
        text = api.task_type_doc(args.type)
    except UserError as exc:
        raise UsageError(str(exc)) from None
    display({"text/markdown": text, "text/plain": text}, raw=True)


def inspection(name: str) -> dict[str, str] | None:
    """The bundle IPython's object inspector shows for a task type (Shift+Tab on its name in a cell),
    or None when ``name`` is not a full type name (a bare `Log` stays a Python name). The kernel
    drops text/html unless the HTML pager is on."""
    if "." not in name:
        return None
    try:
        text = api.task_type_doc(name)
    except UserError:
        return None
    return {"text/plain": text, "text/markdown": text, "text/html": f"<pre>{escape(text)}</pre>"}
