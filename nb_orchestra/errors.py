"""Errors a user can cause, shown as short messages without an internal traceback.

IPython prints ``_render_traceback_()`` instead of a traceback when an exception
has it, and still marks the cell as failed, so "Run All" stops where it should.
Bugs in nb_orchestra itself are ordinary exceptions and keep their traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """``"; did you mean 'user'?"`` for the closest of ``choices`` to ``word``, or nothing."""
    import difflib  # on first use: every module imports this one, few ever suggest a name

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class UserError(Exception):
    """Base class for every mistake in a flow, an input or an expression."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


@dataclass(frozen=True)
class Problem:
    """One located problem in a flow document.

    ``path`` reads like ``tasks[1].then[0].message``; ``line`` and ``column``
    are 1-based positions in the YAML text (0 when unknown).
    """

    path: str
    message: str
    line: int = 0
    column: int = 0
    # A second line the message names ("first used at line 5"), moved with the problem.
    related_line: int = 0

    def moved(self, lines: int) -> Problem:
        """The same problem ``lines`` further down (a notebook cell under its magic line)."""
        if not self.line:
            return self
        message = self.message
        if self.related_line:
            message = message.replace(f"line {self.related_line}", f"line {self.related_line + lines}")
        return Problem(self.path, message, self.line + lines, self.column,
                       self.related_line + lines if self.related_line else 0)

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


class FlowValidationError(UserError):
    """A flow document that cannot run; carries every problem found at once."""

    document = "flow"  # what the problems are in, as the summary names it

    def __init__(self, problems: list[Problem], source: str | None = None, name: str | None = None):
        self.problems = list(problems)
        self.source = source
        self.name = name
        super().__init__(self._summary())

    def _summary(self) -> str:
        head = f"{len(self.problems)} problem(s) in {self.document}" + (f" {self.name}" if self.name else "")
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)

    def shifted(self, lines: int, source: str) -> FlowValidationError:
        """The same problems ``lines`` further down ``source`` (a notebook cell under its magic line)."""
        return type(self)([p.moved(lines) for p in self.problems], source=source, name=self.name)

    def pretty(self) -> str:
        """Each problem with the offending YAML line and a caret under the column."""
        lines = self.source.splitlines() if self.source else []
        out = [f"{len(self.problems)} problem(s) in {self.document}" + (f" {self.name}" if self.name else "") + ":"]
        for p in self.problems:
            out.append(f"  - {p}")
            if p.line and 0 < p.line <= len(lines):
                text = lines[p.line - 1]
                out.append(f"      {p.line:>4} | {text}")
                lead = "".join("\t" if char == "\t" else " " for char in text[:max(p.column - 1, 0)])
                out.append("           | " + lead + "^")  # a tab in the line is a tab here too: the caret lines up
        return "\n".join(out)

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: " + self.pretty()]


class FlowTestValidationError(FlowValidationError):
    """A flow test file that cannot run (its format, or what it names in the flow); every problem at once."""

    document = "flow test"


@dataclass(frozen=True)
class InputProblem:
    """One problem with a flow's inputs: the input it is about (None when it is about none), the
    message for people ("Must be between 18 and 99 (got 200).") and ``kestra``, the same problem
    as Kestra words it ("Invalid input for `age`, it must be less than `99`, but received `200`";
    empty where Kestra has no message). ``str()`` names the input once: "age: Must be ..."."""

    input_id: str | None
    message: str
    kestra: str = ""

    def __str__(self) -> str:
        return f"{self.input_id}: {self.message}" if self.input_id else self.message


class InputError(UserError):
    """Missing or invalid flow inputs; ``problems`` lists every one at once (a plain string is a
    problem about no particular input)."""

    def __init__(self, problems: Iterable[InputProblem | str]):
        self.problems = [p if isinstance(p, InputProblem) else InputProblem(None, p) for p in problems]
        super().__init__("; ".join(map(str, self.problems)))


class TemplateError(UserError):
    """An expression that cannot be rendered (syntax, undefined variable, bad filter use)."""


class RenderStopped(BaseException):
    """Raised inside a render whose task run was killed or timed out. A BaseException, like
    KeyboardInterrupt, so that no handler of template errors turns it into a task failure."""


class PebbleSyntaxError(TemplateError):
    """A Pebble expression that cannot be parsed; ``tag`` is the offending tag text."""

    def __init__(self, message: str, tag: str = "", line: int = 0):
        super().__init__(message)
        self.tag = tag
        self.line = line


class FlowNotFoundError(UserError, LookupError):
    """A Subflow or a command names a flow that is not registered."""


class SubflowDepthError(UserError):
    """Subflows nested deeper than ``settings.max_subflow_depth`` (a flow that calls itself, or A -> B -> A)."""


class FlowDisabledError(UserError):
    """The flow has ``disabled: true``."""


class ExecutionNotFoundError(UserError, LookupError):
    """No execution with that id (or id prefix), or several match a prefix."""


class ExecutionFailed(UserError):
    """A flow run from a notebook cell ended FAILED or KILLED: the cell fails, as a failed run should,
    with the summary of its failures alone (it names the execution)."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


class ExecutionInterrupted(ExecutionFailed):
    """A flow run from a notebook cell was interrupted or killed: one line, and the cell fails."""


class OutputNotFoundError(UserError, AttributeError, KeyError):
    """``ex.outputs.name`` or ``ex.outputs[name]`` where there is no such output (short, no traceback)."""

    def __str__(self) -> str:  # not KeyError's quoted form
        return str(self.args[0]) if self.args else ""


class MissingInputs(UserError):
    """Required inputs without a value where nobody can fill in a form (nbclient, papermill)."""


class SecretError(UserError, LookupError):
    """A secret that is not set, or whose environment variable is not valid base64."""


class KVStoreError(UserError, ValueError):
    """An invalid KV key, or a value that cannot be set."""


class KVExpiredError(KVStoreError):
    """The entry exists but its TTL has passed (it is deleted on that read, as Kestra does)."""

    def __init__(self) -> None:
        super().__init__("The requested value has expired")
