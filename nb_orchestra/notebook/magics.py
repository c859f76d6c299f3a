"""``%%flow`` and ``%flow``: parse arguments, then hand over to the engine and the views."""

from __future__ import annotations

import argparse
from html import escape
import keyword
import re
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.display import SVG, display
from traitlets import Unicode, observe

from .. import expressions, registry
from ..api import load_flow
from ..engine import launch, states
from ..engine.context import execution_variables
from ..engine.execution import Execution
from ..engine.runtime import Runtime
from ..store import find_execution as _find_execution
from ..store import parse_since
from ..errors import FlowValidationError, UserError
from ..inputs import input_id, is_required, parse_assignments
from ..model.flow import Flow
from ..views.html import table_html
from ..views.text import format_seconds
from .live import LiveDisplay, live_widget, schedule_widget


class ExecutionFailed(UserError):
    """A flow run by a cell ended FAILED or KILLED: the cell fails, so "Run All" stops."""


class MissingInputs(UserError):
    """Required inputs without a value where nobody can fill in a form."""


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


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE",
                        help="an input value; repeat for several inputs")
    parser.add_argument("-o", "--out", metavar="NAME",
                        help="variable to bind the Execution to (default: the flow id as an identifier)")
    parser.add_argument("--background", action="store_true",
                        help="return at once; the progress view keeps updating while later cells run")
    parser.add_argument("--allow-failure", action="store_true",
                        help="do not fail the cell when the execution ends FAILED or KILLED")


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%flow", description=(
        "Validate the Kestra flow in this cell, register it (by namespace and id; a changed text is a new "
        "revision) and run it with a live progress tree. The Execution is bound to a variable named after "
        "the flow id (or -o NAME). When a required input has no value, an input form is shown instead."))
    _add_run_options(parser)
    parser.add_argument("--no-run", action="store_true",
                        help="only validate and register the flow (subflows, scheduled flows)")
    return parser


def _line_parser() -> _Parser:
    parser = _Parser(prog="%flow", description="Work with registered flows and their executions.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("list", help="registered flows", description="List registered flows.")
    show = sub.add_parser("show", help="a flow's YAML and a picture of its tasks",
                          description="Show a registered flow's YAML and its topology.")
    show.add_argument("flow", metavar="FLOW", help="flow id, or namespace.id")
    run = sub.add_parser("run", help="run a registered flow", description="Run a registered flow.")
    run.add_argument("flow", metavar="FLOW", help="flow id, or namespace.id")
    _add_run_options(run)
    executions = sub.add_parser("executions", help="past executions, also of earlier kernels",
                                description="List executions from the store, newest first.")
    executions.add_argument("flow", nargs="?", metavar="FLOW", help="only this flow's executions (id)")
    executions.add_argument("--namespace", help="only this namespace (and its children)")
    executions.add_argument("--state", type=str.upper, help="only executions in this state")
    executions.add_argument("--label", metavar="KEY=VALUE", help="only executions with this label")
    executions.add_argument("--since", metavar="WHEN", help="started after a date (2019-01-01) or an age ago (2h, 7d)")
    executions.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    purge = sub.add_parser("purge", help="remove old executions, their logs and files",
                           description="Remove finished executions older than a span, with their logs and files.")
    purge.add_argument("--older-than", required=True, metavar="SPAN", help="e.g. 30d, 12h, P30D")
    purge.add_argument("--flow", metavar="ID", help="only this flow's executions")
    logs = sub.add_parser("logs", help="an execution's log lines", description="Print an execution's log lines.")
    logs.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the last)")
    logs.add_argument("--level", type=str.upper, default="TRACE", choices=states.LOG_LEVELS,
                      help="lowest level shown")
    logs.add_argument("--task", help="only this task's lines")
    outputs = sub.add_parser("outputs", help="an execution's outputs", description="Return an execution's outputs.")
    outputs.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the last)")
    evaluate = sub.add_parser("eval", help="evaluate an expression against an execution", description=(
        "Render an expression with a finished execution's variables (inputs, outputs, vars, labels...), "
        "as Kestra's debug-expression panel does."))
    evaluate.add_argument("expression", help='e.g. "{{ outputs.extract.uri }}"')
    evaluate.add_argument("--execution", metavar="EXEC", help="execution id or prefix (default: the last)")
    kill = sub.add_parser("kill", help="stop a running execution", description="Kill running executions.")
    kill.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: all running)")
    resume = sub.add_parser("resume", help="resume a paused execution", description="Resume a PAUSED execution.")
    resume.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the last)")
    validate = sub.add_parser("validate", help="validate a flow file or a registered flow",
                              description="Validate a flow file, or re-check registered flows.")
    validate.add_argument("flow", nargs="?", metavar="FLOW_OR_PATH", help="a .yml/.yaml path or a flow id")
    restart = sub.add_parser("restart", help="run a failed execution again, keeping what succeeded",
                             description="Kestra's Restart: the same execution runs again; task runs that "
                                         "succeeded are kept, failed ones get a new attempt.")
    restart.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the last)")
    restart.add_argument("--allow-failure", action="store_true", help="do not fail the cell if it fails again")
    replay = sub.add_parser("replay", help="a new execution from a task on, reusing earlier outputs",
                            description="Kestra's Replay: a new execution copies the task runs before TASK and "
                                        "runs TASK and everything after it again.")
    replay.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the last)")
    replay.add_argument("--from", dest="from_task", required=True, metavar="TASK", help="the task to run again from")
    replay.add_argument("--value", help="the loop value of TASK's run, inside a ForEach")
    replay.add_argument("-o", "--out", metavar="NAME", help="variable to bind the new Execution to")
    replay.add_argument("--allow-failure", action="store_true", help="do not fail the cell if it fails")
    triggers = sub.add_parser("triggers", help="armed triggers: next fire, last execution, enabled",
                              description="List the armed triggers; enable or disable one.")
    triggers.add_argument("flow", nargs="?", metavar="FLOW", help="only this flow's triggers")
    toggle = triggers.add_mutually_exclusive_group()
    toggle.add_argument("--disable", metavar="ID", help="stop a trigger from firing")
    toggle.add_argument("--enable", metavar="ID", help="let a disabled trigger fire again")
    backfill = sub.add_parser("backfill", help="one execution per past tick of a schedule", description=(
        "Run one execution per tick of a Schedule trigger in [--start, --end), with trigger.date set, the "
        "trigger's inputs applied and the label backfill: true. Returns the executions."))
    backfill.add_argument("flow", metavar="FLOW", help="flow id, or namespace.id")
    backfill.add_argument("--start", required=True, help="first date (inclusive), e.g. 2019-01-01")
    backfill.add_argument("--end", help="last date (exclusive); default now")
    backfill.add_argument("--trigger", metavar="ID", help="the Schedule trigger (when the flow has several)")
    backfill.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE",
                          help="an input value overriding the trigger's; repeat for several")
    backfill.add_argument("--concurrency", type=int, default=1, metavar="N", help="ticks run at once (default 1)")
    gantt = sub.add_parser("gantt", help="a Gantt chart of an execution",
                           description="Draw one bar per task run of an execution, coloured by state.")
    gantt.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the last)")
    return parser


def identifier(flow_id: str) -> str:
    """The flow id as a Python variable name: ``inputs-demo`` -> ``inputs_demo``."""
    name = re.sub(r"\W", "_", flow_id)
    if not name or name[0].isdigit():
        name = "_" + name
    return name + "_" if keyword.iskeyword(name) else name


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
        from ..config import configure

        configure(**{change["name"]: change["new"]})

    def __init__(self, shell: Any):
        super().__init__(shell)
        self._cell_parser = _cell_parser()
        self._line_parser = _line_parser()

    @no_var_expand  # `{{ expressions }}` are Kestra's, not IPython's {variable} expansion
    @line_cell_magic
    def flow(self, line: str, cell: str | None = None) -> Any:
        """Run a Kestra flow (``%%flow``), or manage flows and executions (``%flow --help``)."""
        parser = self._line_parser if cell is None else self._cell_parser
        try:
            args = parser.parse_args(shlex.split(line))
        except _HelpShown:
            return None
        if cell is not None:
            return self._flow_cell(args, line, cell)
        if not args.command:
            parser.print_help()
            return None
        return getattr(self, f"_cmd_{args.command}")(args)

    # -- the %%flow cell -----------------------------------------------------------

    def _flow_cell(self, args: argparse.Namespace, line: str, cell: str) -> None:
        try:
            flow = registry.register(load_flow(cell))
        except FlowValidationError as exc:  # count lines as the notebook shows them: %%flow is line 1
            raise exc.shifted(1, f"%%flow {line}\n{cell}") from None
        for warning in flow.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.no_run:
            print(f"Registered {flow.namespace}.{flow.id} (revision {flow.revision}): "
                  f"{sum(1 for _ in flow.all_tasks())} tasks, {len(flow.inputs)} inputs, {len(flow.triggers)} triggers")
            if any(str(t.get("type", "")).endswith(".Schedule") and not t.get("disabled") for t in flow.triggers):
                display(schedule_widget(flow))
            return
        self._run_flow(flow, args)

    def _run_flow(self, flow: Flow, args: argparse.Namespace) -> None:
        inputs = parse_assignments(args.input)
        name = args.out or identifier(flow.id)
        missing = _missing_inputs(flow, inputs)
        if missing:
            self._show_form(flow, inputs, name, missing)
            return
        execution = launch.create_execution(flow, inputs)
        self._bind(name, execution)
        if args.background:
            display(live_widget(execution))
            launch.run_in_background(execution)
            return
        final = self._run_live(execution, lambda tick: launch.run_execution(execution, tick=tick),
                               args.allow_failure)
        if final is not execution:  # flow-level retry created new executions
            self._bind(name, final)

    def _run_live(self, execution: Execution, run: Any, allow_failure: bool) -> Execution:
        """``run(tick)`` with a live tree of the execution it runs; a failure fails the cell."""
        view = LiveDisplay(execution, live=getattr(self.shell, "kernel", None) is not None)
        try:
            final = run(view.tick)
        except KeyboardInterrupt:
            view.final()
            raise
        view.final(final)
        if final.state in states.FAILURES and not allow_failure:
            raise ExecutionFailed(_failure_summary(final))
        return final

    def _show_form(self, flow: Flow, inputs: dict[str, str], name: str, missing: list[str]) -> None:
        if not self._interactive():
            raise MissingInputs(
                f"flow {flow.namespace}.{flow.id} needs a value for: {', '.join(missing)}. Nobody can fill in a "
                f"form here: pass {' '.join(f'-i {m}=VALUE' for m in missing)} or give the inputs defaults.")
        import ipywidgets as widgets

        from .form import InputForm

        runs = widgets.VBox()
        runs.add_class("nbo-runs")

        def execute(values: dict[str, Any]) -> None:
            try:
                execution = launch.create_execution(flow, values)
            except UserError as exc:
                runs.children = (widgets.HTML(f"<pre>{exc}</pre>"), *runs.children)
                return
            self._bind(name, execution)
            runs.children = (live_widget(execution), *runs.children)
            launch.run_in_background(execution)

        display(InputForm(flow, values=inputs, on_execute=execute))  # with text/html and text/plain fallbacks
        display(runs)

    def _interactive(self) -> bool:
        """True in a front end where a person can answer a form (JupyterLab, Notebook, VS Code...).

        nbclient, papermill and nbconvert send their cells with allow_stdin=False.
        """
        kernel = getattr(self.shell, "kernel", None)
        return kernel is not None and bool(getattr(kernel, "_allow_stdin", False))

    def _bind(self, name: str, execution: Execution) -> None:
        current = self.shell.user_ns.get(name)
        if current is not None and not isinstance(current, Execution):
            print(f"nb_orchestra: `{name}` already holds a {type(current).__name__}; the execution was not bound "
                  f"to it (use -o NAME)", file=sys.stderr)
            return
        self.shell.push({name: execution}, interactive=True)

    # -- %flow COMMAND ----------------------------------------------------------------

    def _cmd_list(self, args: argparse.Namespace) -> None:
        rows = [(f.namespace, f.id, f.revision, sum(1 for _ in f.all_tasks()), len(f.inputs), len(f.triggers))
                for f in registry.flows()]
        _show_table(["namespace", "id", "revision", "tasks", "inputs", "triggers"], rows, "no flows registered yet")

    def _cmd_show(self, args: argparse.Namespace) -> None:
        from ..views.pictures import topology_svg

        flow = _find_flow(args.flow)
        display({"text/plain": flow.source, "text/html": f"<pre>{escape(flow.source)}</pre>"}, raw=True)
        display(SVG(topology_svg(flow)))

    def _cmd_run(self, args: argparse.Namespace) -> None:
        self._run_flow(_find_flow(args.flow), args)

    def _cmd_executions(self, args: argparse.Namespace) -> None:
        from ..store import executions

        flow_id = args.flow.rsplit(".", 1)[-1] if args.flow else None
        found = executions(flow_id=flow_id, namespace=args.namespace, state=args.state, label=args.label,
                           since=parse_since(args.since), limit=args.limit)
        rows = [(ex.id, f"{ex.namespace}.{ex.flow_id}", ex.state, f"{ex.start_date:%Y-%m-%d %H:%M:%S}",
                 format_seconds(ex.duration), ", ".join(f"{k}={v}" for k, v in ex.labels.items())) for ex in found]
        _show_table(["id", "flow", "state", "started (UTC)", "duration", "labels"], rows, "no executions yet")

    def _cmd_purge(self, args: argparse.Namespace) -> None:
        from ..durations import parse_age
        from ..store import get_store

        try:
            span = parse_age(args.older_than)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        counts = get_store().purge(span, flow_id=args.flow)
        print(", ".join(f"{n} {what}" for what, n in counts.items()) + " removed")

    def _cmd_logs(self, args: argparse.Namespace) -> None:
        execution = _find_execution(args.execution)
        lowest = states.LOG_LEVELS.index(args.level)
        for record in execution.logs:
            if states.LOG_LEVELS.index(record.level) >= lowest and (not args.task or record.task_id == args.task):
                value = f"[{record.value}]" if record.value is not None else ""
                print(f"{record.timestamp:%H:%M:%S} {record.level:<5} {record.task_id or '-'}{value}: {record.message}")

    def _cmd_outputs(self, args: argparse.Namespace) -> Any:
        return _find_execution(args.execution).outputs

    def _cmd_eval(self, args: argparse.Namespace) -> Any:
        execution = launch.revive(_find_execution(args.execution))
        return expressions.render_typed(args.expression, execution_variables(execution, Runtime(execution.secrets, execution.logs)))

    def _cmd_kill(self, args: argparse.Namespace) -> None:
        targets = [_find_execution(args.execution)] if args.execution else [
            ex for ex in launch.recent if ex.state not in states.TERMINAL]
        for execution in targets:
            execution.kill()
            print(f"kill requested: {execution.namespace}.{execution.flow_id} {execution.id}")
        if not targets:
            print("no running execution")

    def _cmd_resume(self, args: argparse.Namespace) -> None:
        execution = _find_execution(args.execution)
        if execution.state != states.PAUSED:
            raise UsageError(f"execution {execution.id} is {execution.state}, not PAUSED")
        execution.resume()
        print(f"resumed {execution.id}")

    def _cmd_validate(self, args: argparse.Namespace) -> None:
        flows = [load_flow(args.flow)] if args.flow and args.flow.endswith((".yml", ".yaml")) else (
            [load_flow(_find_flow(args.flow).source)] if args.flow else [load_flow(f.source) for f in registry.flows()])
        for flow in flows:
            print(f"OK {flow.namespace}.{flow.id}: {sum(1 for _ in flow.all_tasks())} tasks")
            for warning in flow.warnings:
                print(f"  warning: {warning}")

    def _cmd_restart(self, args: argparse.Namespace) -> None:
        execution = launch.revive(_find_execution(args.execution))
        self._run_live(execution, lambda tick: launch.restart_execution(execution, tick=tick), args.allow_failure)

    def _cmd_replay(self, args: argparse.Namespace) -> None:
        replay, reuse = launch.prepare_replay(_find_execution(args.execution), args.from_task, args.value)
        self._bind(args.out or identifier(replay.flow_id), replay)
        self._run_live(replay, lambda tick: launch.run_execution(replay, tick=tick, reuse=reuse), args.allow_failure)

    def _cmd_triggers(self, args: argparse.Namespace) -> None:
        from ..triggers import start_scheduler

        scheduler = start_scheduler()
        flow = _find_flow(args.flow) if args.flow else None
        where = {"flow_id": flow.id, "namespace": flow.namespace} if flow else {}
        if args.disable:
            scheduler.disable(args.disable, **where)
        if args.enable:
            scheduler.enable(args.enable, **where)
        rows = [(row.flow, row.trigger_id, row.type, row.cron or "", _when(row.next_fire),
                 f"{row.last_execution_id or ''} {row.last_state or ''}".strip(), "yes" if row.enabled else "no")
                for row in scheduler.rows() if flow is None or row.flow == f"{flow.namespace}.{flow.id}"]
        _show_table(["flow", "trigger", "type", "cron", "next fire", "last execution", "enabled"], rows,
                    "no triggers armed: define a flow with triggers in a %%flow cell")

    def _cmd_backfill(self, args: argparse.Namespace) -> list[Execution]:
        from ..triggers import backfill, summary

        flow = _find_flow(args.flow)
        handle = display({"text/plain": f"backfill {flow.namespace}.{flow.id}: starting"}, raw=True, display_id=True)

        def progress(done: int, total: int, execution: Execution) -> None:
            handle.update({"text/plain": f"backfill {flow.namespace}.{flow.id}: {done} of {total} done "
                                         f"(last: {_when(execution.trigger['date'])} {execution.state})"}, raw=True)

        executions = backfill(flow, args.start, args.end, trigger_id=args.trigger,
                              inputs=parse_assignments(args.input), concurrency=args.concurrency, on_progress=progress)
        rows = [(_when(ex.trigger["date"]), ex.id, ex.state, format_seconds(ex.duration)) for ex in executions]
        handle.update({"text/plain": summary(executions, f"backfill {flow.namespace}.{flow.id}"),
                       "text/html": table_html(["trigger.date", "execution", "state", "duration"], rows)}, raw=True)
        return executions

    def _cmd_gantt(self, args: argparse.Namespace) -> None:
        from ..views.pictures import gantt_svg

        display(SVG(gantt_svg(_find_execution(args.execution))))


def _when(moment: Any) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def _missing_inputs(flow: Flow, supplied: dict[str, Any]) -> list[str]:
    return [input_id(decl) for decl in flow.inputs
            if is_required(decl) and decl.get("defaults") is None and not decl.get("dependsOn")
            and input_id(decl) not in supplied]


def _failure_summary(execution: Execution) -> str:
    failed = [run for run in execution.taskruns if run.state == states.FAILED and run.message]
    causes = "; ".join(f"task `{run.task_id}`{f'[{run.value}]' if run.value else ''}: {run.message}"
                       for run in failed[:3])
    return (f"execution {execution.id} of {execution.namespace}.{execution.flow_id} ended {execution.state}"
            + (f": {causes}" if causes else (f": {execution.message}" if execution.message else "")))


def _find_flow(name: str) -> Flow:
    matches = [f for f in registry.flows() if name in (f.id, f"{f.namespace}.{f.id}")]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(f"{f.namespace}.{f.id}" for f in registry.flows()) or "none yet: run a %%flow cell"
    if not matches:
        raise UsageError(f"no registered flow '{name}' (registered: {known})")
    raise UsageError(f"'{name}' names several flows; use namespace.id ({known})")


def _show_table(headers: list[str], rows: list[tuple], empty: str) -> None:
    if not rows:
        print(empty)
        return
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    text = "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [headers, *rows])
    display({"text/plain": text, "text/html": table_html(headers, rows)}, raw=True)
