"""``%%flow`` and ``%flow``: parse arguments, then hand over to the api and the views.

The ``%%flow`` cell is here; each ``%flow COMMAND`` is a module of :mod:`.commands`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class, no_var_expand
from IPython.display import display
from traitlets import Unicode, observe

from .. import api
from ..errors import ExecutionFailed, ExecutionInterrupted, FlowValidationError, InputError, MissingInputs, UserError
from ..inputs import check_names, missing_inputs, parse_assignments
from ..records import states
from ..views.text import plural
from .commands import COMMANDS, test
from .commands.shared import add_run_options, identifier
from .live import LiveDisplay, RunsView, show_live, show_schedule


class _HelpShown(Exception):
    """--help was printed: nothing else to do."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are short UsageErrors and whose --help returns to the magic."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message, file=sys.stderr)
        raise _HelpShown()


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%flow", description=(
        "Validate the Kestra flow in this cell, register it (by namespace and id; a changed text is a new "
        "revision) and run it with a live progress tree. The Execution is bound to a variable named after "
        "the flow id (or -o NAME). When a required input has no value, an input form is shown instead."))
    add_run_options(parser)
    parser.add_argument("--no-run", action="store_true",
                        help="only validate and register the flow (subflows, scheduled flows)")
    return parser


def _line_parser() -> _Parser:
    parser = _Parser(prog="%flow", description="Work with registered flows and their executions.")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(subcommands)
    return parser


@magics_class
class FlowMagics(Magics):
    """``%%flow`` runs the flow in the cell; ``%flow COMMAND`` does everything else.

    ``%config FlowMagics.store = "postgresql://user:pw@host:5432/db"`` (or ``.home``) sets where
    executions are kept, as ``nb_orchestra.configure`` does.
    """

    home = Unicode(None, allow_none=True, help="Folder for execution files and the SQLite store.").tag(config=True)
    store = Unicode(None, allow_none=True, help="postgresql://... to keep executions in PostgreSQL.").tag(config=True)

    @observe("home", "store")
    def _configure(self, change: Any) -> None:
        api.configure(**{change["name"]: change["new"]})

    def __init__(self, shell: Any):
        super().__init__(shell)
        self.cell_parser = _cell_parser()
        self.line_parser = _line_parser()
        self._test_parser = test.cell_parser(_Parser)

    @no_var_expand  # `{{ expressions }}` are Kestra's, not IPython's {variable} expansion
    @line_cell_magic
    def flow(self, line: str, cell: str | None = None) -> Any:
        """Run a Kestra flow (``%%flow``), or manage flows and executions (``%flow --help``)."""
        parser = self.line_parser if cell is None else self.cell_parser
        try:
            args = parser.parse_args(shlex.split(line))
        except _HelpShown:
            return None
        if cell is not None:
            return self._flow_cell(args, line, cell)
        if not args.command:
            parser.print_help()
            return None
        return args.handler(self, args)

    @no_var_expand
    @cell_magic
    def flowtest(self, line: str, cell: str) -> None:
        """Run the Kestra flow test in this cell against its flow (``%%flowtest --help``)."""
        try:
            args = self._test_parser.parse_args(shlex.split(line))
        except _HelpShown:
            return
        test.run_cell(self, args, cell)

    # -- the %%flow cell -----------------------------------------------------------

    def _flow_cell(self, args: argparse.Namespace, line: str, cell: str) -> None:
        try:
            flow = api.register_flow(cell)
        except FlowValidationError as exc:  # count lines as the notebook shows them: %%flow is line 1
            raise exc.shifted(1, f"%%flow {line}\n{cell}") from None
        for warning in flow.warnings:  # in the cell's own numbering too
            print(f"warning: {warning.moved(1)}", file=sys.stderr)
        if args.no_run:
            counts = [(sum(1 for _ in flow.all_tasks()), "task"), (len(flow.inputs), "input"),
                      (len(flow.triggers), "trigger")]
            print(f"Registered {flow.namespace}.{flow.id} (revision {flow.revision}): "
                  + ", ".join(f"{n} {plural(n, word)}" for n, word in counts))
            if any(t.kind == "Schedule" and not t.disabled for t in flow.triggers):
                show_schedule(flow)
            return
        self.run_flow(flow, args)

    def run_flow(self, flow: api.Flow, args: argparse.Namespace) -> None:
        """Run ``flow`` with the run options in ``args``, or show the input form when a required input
        has no value."""
        inputs = parse_assignments(args.input)
        check_names(flow.inputs, inputs)  # a misspelt -i name is an error, not a value silently ignored
        name = args.out or identifier(flow.id)
        missing = missing_inputs(flow.inputs, inputs)
        if missing:
            self._show_form(flow, inputs, name, missing)
            return
        execution = api.create(flow, inputs)
        self.bind(name, execution)
        if args.background:
            show_live(execution, self._interactive())
            api.start(execution, background=True)
            return
        final = self.run_live(execution, lambda tick: api.start(execution, tick=tick), args.allow_failure)
        if final is not execution:  # flow-level retry created new executions
            self.bind(name, final)

    def run_live(self, execution: api.Execution, run: Callable[[api.Tick], api.Execution],
                 allow_failure: bool) -> api.Execution:
        """``run(tick)`` with a live tree of the execution it runs; a failure fails the cell."""
        view = LiveDisplay(execution, live=getattr(self.shell, "kernel", None) is not None)
        try:
            final = run(view.tick)
        except KeyboardInterrupt:  # the engine has killed the execution: its tree says so, one line here
            view.final()
            raise ExecutionInterrupted(f"Interrupted: execution {execution.id} KILLED") from None
        view.final(final)
        if final.state == states.KILLED and not allow_failure:
            raise ExecutionInterrupted(f"Killed: execution {final.id} KILLED")
        if final.state in states.FAILURES and not allow_failure:
            raise ExecutionFailed(_failure_summary(final))
        return final

    def _show_form(self, flow: api.Flow, inputs: dict[str, str], name: str, missing: list[str]) -> None:
        if not self._interactive():
            raise MissingInputs(
                f"flow {flow.namespace}.{flow.id} needs a value for: {', '.join(missing)}. Nobody can fill in a "
                f"form here: pass {' '.join(f'-i {m}=VALUE' for m in missing)} or give the inputs defaults.")
        from .form import InputForm

        def execute(values: dict[str, Any]) -> None:
            try:
                execution = api.create(flow, values)
            except InputError:
                raise  # the form shows each problem under the field of its input
            except UserError as exc:
                runs.error(str(exc))
                return
            self.bind(name, execution)
            runs.add(execution)
            api.start(execution, background=True)

        display(InputForm(flow, values=inputs, on_execute=execute))  # with text/html and text/plain fallbacks
        runs = RunsView()

    def _interactive(self) -> bool:
        """True in a front end where a person can answer a form (JupyterLab, Notebook, VS Code...).

        nbclient, papermill and nbconvert send their cells with allow_stdin=False.
        """
        kernel = getattr(self.shell, "kernel", None)
        return kernel is not None and bool(getattr(kernel, "_allow_stdin", False))

    def bind(self, name: str, execution: api.Execution) -> None:
        """Bind ``execution`` to the variable ``name``, unless that holds something else already."""
        shell = self.shell
        assert shell is not None  # load_ipython_extension registers these magics with the running shell
        current = shell.user_ns.get(name)
        if current is not None and not isinstance(current, api.Execution):
            print(f"nb_orchestra: `{name}` already holds a {type(current).__name__}; the execution was not bound "
                  f"to it (use -o NAME)", file=sys.stderr)
            return
        shell.push({name: execution}, interactive=True)


def _failure_summary(execution: api.Execution) -> str:
    """Every failed task run, once: runs of one task failing alike are counted, not repeated."""
    failed = [run for run in execution.taskruns if run.state == states.FAILED and run.message]
    alike: dict[tuple[str, str], list[Any]] = {}
    for run in failed:
        alike.setdefault((run.task_id, run.message or ""), []).append(run)
    lines = []
    for (task_id, message), runs in alike.items():
        value = f"[{runs[0].value}]" if runs[0].value is not None else ""
        who = f"{len(runs)} runs of `{task_id}`" if len(runs) > 1 else f"`{task_id}`{value}"
        lines.append(f"  {who} failed: {message}{_hint(message)}")
    head = f"execution {execution.id} of {execution.namespace}.{execution.flow_id} ended {execution.state}"
    if not lines:
        return head + (f": {execution.message}" if execution.message else "")
    return head + ":\n" + "\n".join(lines)


# Mistakes students make often, and what fixes them.
_HINTS = (
    ("to string and integer", "loop values (`taskrun.value`) are text: use `| number` to compute with them"),
    ("Unable to find `outputs.", "a task's outputs exist only after it ran: check the task id and the order"),
)


def _hint(message: str) -> str:
    return "".join(f"\n    hint: {hint}" for clue, hint in _HINTS if clue in message)
