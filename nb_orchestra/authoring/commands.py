"""Completion of a command line: ``%flow SUBCOMMAND ARGS`` and the options of ``%%flow``.

The commands are described as data (:class:`Command`: options, positional arguments named by
their metavar), so this stays a pure function of the text typed; the values a metavar stands
for (``FLOW``: flow ids, ``EXEC``: execution ids...) are handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .completion import Candidate, Completions

# What each metavar stands for ("FLOW" -> the flow ids...), asked only when it is completed.
Values = Mapping[str, Callable[[], Sequence[str]]]


@dataclass(frozen=True)
class Option:
    """An option: its spellings, the metavar of its value ("" for a flag) and its choices."""

    names: tuple[str, ...]
    value: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    """A (sub)command: its options and the metavars of its positional arguments, in order; the
    last one repeats when ``repeats``."""

    name: str
    options: tuple[Option, ...] = ()
    arguments: tuple[str, ...] = ()
    repeats: bool = False


def complete_arguments(typed: str, command: Command, values: Values) -> Completions:
    """Completions at the end of ``typed``, the arguments of ``command`` typed so far."""
    words = typed.split()
    current = "" if not typed or typed[-1].isspace() else words.pop()
    start = len(typed) - len(current)
    options = {name: option for option in command.options for name in option.names}
    if current.startswith("-"):
        names = [name for option in command.options
                 for name in sorted(option.names, key=lambda n: not n.startswith("--"))]
        return Completions(start, [Candidate(name, "option") for name in names if name.startswith(current)])
    previous = options.get(words[-1]) if words else None
    if previous is not None and previous.value:
        choices = list(previous.choices) or _values(previous.value, values)
        return Completions(start, [Candidate(c, previous.value) for c in choices if c.startswith(current)])
    position = _positionals(words, options)
    if position >= len(command.arguments):
        if not (command.repeats and command.arguments):
            return Completions(start)
        position = len(command.arguments) - 1
    metavar = command.arguments[position]
    return Completions(start, [Candidate(v, metavar) for v in _values(metavar, values) if v.startswith(current)])


def complete_command(typed: str, commands: Sequence[Command], values: Values) -> Completions:
    """Completions at the end of ``typed``, the text after ``%flow``: a subcommand, then its arguments."""
    stripped = typed.lstrip()
    name, space, rest = stripped.partition(" ")
    if not space:
        start = len(typed) - len(name)
        return Completions(start, [Candidate(c.name, "command") for c in commands if c.name.startswith(name)])
    command = next((c for c in commands if c.name == name), None)
    if command is None:
        return Completions(len(typed))
    found = complete_arguments(rest, command, values)
    return Completions(found.start + len(typed) - len(rest), found.candidates)


def _positionals(words: list[str], options: Mapping[str, Option]) -> int:
    """How many positional arguments ``words`` holds (an option's value is not one)."""
    count, skip = 0, False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            option = options.get(word.split("=", 1)[0])
            skip = option is not None and bool(option.value) and "=" not in word
        else:
            count += 1
    return count


def _values(metavar: str, values: Values) -> list[str]:
    """The values a metavar stands for: ``FLOW|EXEC`` is both, ``FLOW_OR_PATH`` a flow."""
    parts = metavar.replace("_OR_", "|").split("|")
    return list(dict.fromkeys(value for part in parts if part in values for value in values[part]()))
