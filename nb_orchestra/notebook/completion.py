"""Completion and inspection in the kernel: IPython's completer and inspector, hooked to the api.

One matcher (IPython's completer API v2, which sees the whole cell and the cursor) completes a
``%%flow`` cell's YAML body, its first line's options, and ``%flow`` lines; its candidates replace
the others (Python names mean nothing in YAML). Front ends that ask the kernel (JupyterLab,
Notebook 7, VS Code, terminal IPython) all get it. The inspector (Shift+Tab on a task type in a
cell) falls back to the type's documentation when the name is no Python object.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher

from .. import api
from .commands import doc

MATCHER_ID = "nb_orchestra.flow"
_LINE_MAGIC = re.compile(r"^\s*%flow(?=\s|$)")
_CELL_MAGIC = "%%flow"


def install(shell: Any, line_parser: argparse.ArgumentParser, cell_parser: argparse.ArgumentParser) -> None:
    """Add the matcher to ``shell``'s completer and the type documentation to its inspector (once)."""
    completer = shell.Completer
    if not any(getattr(m, "matcher_identifier", None) == MATCHER_ID for m in completer.custom_matchers):
        completer.custom_matchers.append(_matcher(commands(line_parser), [_command("", cell_parser)]))
    if not getattr(shell.object_inspect_mime, "nb_orchestra", False):
        shell.object_inspect_mime = _inspector(shell.object_inspect_mime)


def commands(parser: argparse.ArgumentParser) -> list[api.Command]:
    """The subcommands of ``parser`` as the api describes commands."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [_command(name, sub) for name, sub in action.choices.items()]
    return found


def _command(name: str, parser: argparse.ArgumentParser) -> api.Command:
    options, arguments, repeats = [], [], False
    for action in parser._actions:
        if action.option_strings:
            takes = action.nargs != 0
            metavar = (action.metavar or action.dest.upper()) if takes else ""
            options.append(api.CommandOption(tuple(action.option_strings), str(metavar),
                                             tuple(map(str, action.choices or ()))))
        elif not isinstance(action, argparse._SubParsersAction):
            arguments.append(str(action.metavar or action.dest.upper()))
            repeats = action.nargs in ("+", "*")
    return api.Command(name, tuple(options), tuple(arguments), repeats)


def _matcher(line_commands: Sequence[api.Command], cell_command: Sequence[api.Command]) -> Any:
    @context_matcher(identifier=MATCHER_ID)
    def flow_matcher(context: CompletionContext) -> dict[str, Any]:  # IPython's SimpleMatcherResult
        found = _complete(context, line_commands, cell_command)
        if found is None:
            return {"completions": [], "suppress": False}
        typed, completions = found
        return {"completions": [SimpleCompletion(c.text, type=c.kind or None) for c in completions.candidates],
                "matched_fragment": typed[completions.start:], "suppress": True, "ordered": True}

    return flow_matcher


def _complete(context: CompletionContext, line_commands: Sequence[api.Command],
              cell_command: Sequence[api.Command]) -> tuple[str, api.Completions] | None:
    """(text up to the cursor, completions) when the cursor is in a ``%%flow`` cell or a ``%flow``
    line; None elsewhere."""
    lines = context.full_text.split("\n")
    before = "\n".join(lines[:context.cursor_line] + [lines[context.cursor_line][:context.cursor_position]])
    if lines[0].startswith(_CELL_MAGIC) and lines[0][len(_CELL_MAGIC):len(_CELL_MAGIC) + 1] in ("", " "):
        if context.cursor_line == 0:
            if len(before) < len(_CELL_MAGIC):
                return None  # the magic's own name: IPython completes it
            return before, _shift(api.complete_command(before[len(_CELL_MAGIC):], cell_command), len(_CELL_MAGIC))
        offset = len(lines[0]) + 1
        body = context.full_text[offset:]
        return before, _shift(api.complete_flow(body, len(before) - offset), offset)
    current = before.rsplit("\n", 1)[-1]
    magic = _LINE_MAGIC.match(current)
    if magic is None:
        return None
    line_start = len(before) - len(current)
    found = api.complete_command(current[magic.end():], line_commands)
    return before, _shift(found, line_start + magic.end())


def _shift(completions: api.Completions, offset: int) -> api.Completions:
    return api.Completions(completions.start + offset, completions.candidates)


def _inspector(inspect: Any) -> Any:
    """``shell.object_inspect_mime`` that documents a task type when ``oname`` is no Python object."""

    def object_inspect_mime(oname: str, detail_level: int = 0, omit_sections: Sequence[str] = ()) -> dict:
        try:
            return inspect(oname, detail_level=detail_level, omit_sections=omit_sections)
        except KeyError:
            found = doc.inspection(oname)
            if found is None:
                raise
            return found

    object_inspect_mime.nb_orchestra = True  # type: ignore[attr-defined]
    return object_inspect_mime
