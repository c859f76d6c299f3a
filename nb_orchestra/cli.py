"""The ``nb-orchestra`` command: run and validate flow files."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from .errors import FlowValidationError, UserError
from .records.states import LOG_LEVELS as LEVELS

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INVALID
    if getattr(args, "home", None):
        from .api import configure

        configure(home=args.home)
    try:
        return args.handler(args)
    except FlowValidationError as exc:
        print(exc.pretty(), file=sys.stderr)
        return EXIT_INVALID
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nb-orchestra", description="Run and validate Kestra flows without a Kestra server.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a flow file", description=(
        "Run a flow file to the end. Prints log lines as they come, then the tree of task runs. "
        "Exit code 0 for SUCCESS or WARNING, 1 for FAILED or KILLED, 2 for an invalid flow or input, "
        "130 when interrupted."))
    run.add_argument("flow", metavar="FLOW.yaml", help="the flow file")
    run.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE",
                     help="an input value (repeat for several inputs)")
    run.add_argument("--json", action="store_true",
                     help="print one JSON object (id, state, inputs, outputs, taskruns, logs) instead")
    run.add_argument("--log-level", default="INFO", choices=LEVELS, type=str.upper,
                     help="lowest level of the log lines printed while it runs (default INFO)")
    run.add_argument("--home", metavar="DIR", help="folder for execution files (default .nb_orchestra)")
    run.set_defaults(handler=_run)

    validate = sub.add_parser("validate", help="validate flow files", description=(
        "Validate flow files and print every problem with its line and column. Exit code 1 when any is invalid."))
    validate.add_argument("flows", nargs="+", metavar="FLOW.yaml", help="flow files")
    validate.set_defaults(handler=_validate)

    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", metavar="DIR",
                      help="the nb_orchestra home (default $NB_ORCHESTRA_HOME or .nb_orchestra)")
    executions = sub.add_parser("executions", parents=[home], help="list past executions", description=(
        "List executions kept in the store, newest first (also those of earlier kernels and processes)."))
    executions.add_argument("--flow", metavar="ID", help="only this flow's executions")
    executions.add_argument("--namespace", help="only this namespace (and its children)")
    executions.add_argument("--state", type=str.upper, help="only executions in this state")
    executions.add_argument("--label", metavar="KEY=VALUE", help="only executions with this label")
    executions.add_argument("--since", metavar="WHEN", help="started after a date (2019-01-01) or an age ago (2h)")
    executions.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    executions.add_argument("--json", action="store_true", help="one JSON object per line")
    executions.set_defaults(handler=_executions)
    logs = sub.add_parser("logs", parents=[home], help="print an execution's log lines",
                          description="Print the log lines of a stored execution.")
    logs.add_argument("execution", nargs="?", metavar="EXEC", help="execution id or prefix (default: the newest)")
    logs.add_argument("--level", type=str.upper, default="INFO", choices=LEVELS,
                      help="lowest level shown (default INFO; a note counts the lines it hides)")
    logs.add_argument("--task", metavar="ID", help="only this task's lines")
    logs.set_defaults(handler=_logs)

    plugins = sub.add_parser("plugins", help="list the supported task types", description=(
        "List every supported task type (current and legacy names resolve to these)."))
    plugins.add_argument("--markdown", action="store_true", help="print the full catalogue (docs/plugins.md)")
    plugins.set_defaults(handler=_plugins)

    export = sub.add_parser("export", help="write the flows of notebooks' %%%%flow cells as Kestra flow files",
                            description=(
        "Write the flow of every %%flow cell of a notebook, or of every notebook under a folder, to "
        "OUTDIR/<namespace>/<id>.yml (Kestra's layout), the YAML unchanged. Warns about notebook-only tasks "
        "and about flows defined twice (the last one wins). Exit code 1 when a cell holds an invalid flow."))
    export.add_argument("source", metavar="NOTEBOOK_OR_DIR", help="a .ipynb file, or a folder of them")
    export.add_argument("outdir", metavar="OUTDIR", help="where the flow files go")
    export.set_defaults(handler=_export)

    test = sub.add_parser("test", help="run Kestra flow unit tests (test YAML files)", description=(
        "Run the test cases of Kestra flow test files (flowId + testCases; *.test.yml by convention), each "
        "in a fresh transient execution that nothing records. A folder gives every test file under it. A "
        "test's flow is found among the flow files and folders given, or beside the test file (in the parent "
        "of a tests/ folder). Prints ✓/✗ per case and each failed assertion with its line. Exit code 0 when "
        "every case passed, 1 when one failed or could not run, 2 for an invalid test or flow."))
    test.add_argument("paths", nargs="+", metavar="PATH", help="test files, flow files or folders")
    test.add_argument("--json", action="store_true", help="print the results as one JSON object")
    test.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE (for CI)")
    test.add_argument("--case", action="append", metavar="ID", help="only the test case ID (repeatable)")
    test.add_argument("--parallel", type=int, default=4, metavar="N", help="cases run at once (default 4)")
    test.add_argument("--keep", metavar="DIR",
                      help="keep each case's files (storage, namespace files, KV) in DIR/<suite>/<case>")
    test.set_defaults(handler=_test)
    return parser


def _run(args: argparse.Namespace) -> int:
    from . import api
    from .inputs import check_names, parse_assignments
    from .records import states
    from .views.text import execution_tree

    flow = api.load_flow(args.flow)
    for warning in flow.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    listeners = [] if args.json else [_LivePrinter(args.log_level)]
    inputs = parse_assignments(args.input, "--input")
    check_names(flow.inputs, inputs)  # a misspelt --input name is an error, not silently ignored
    try:
        execution = api.run(flow, inputs, listeners=listeners)
    except KeyboardInterrupt:
        print("interrupted: execution KILLED", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json:
        from .secrets import mask

        print(mask(json.dumps(_json_summary(execution), default=_to_json, ensure_ascii=False), execution.secrets))
    else:
        print(execution_tree(execution))
    return EXIT_OK if states.is_ok(execution.state) else EXIT_FAILED


class _LivePrinter:
    """Prints log lines as they are emitted (from any thread, one line at a time)."""

    def __init__(self, level: str) -> None:
        self._lock = threading.Lock()
        self._min_rank = LEVELS.index(level)

    def __call__(self, event: Any) -> None:
        from .records.events import LogEmitted
        from .views.text import log_line

        if isinstance(event, LogEmitted) and LEVELS.index(event.record.level) >= self._min_rank:
            record = event.record
            with self._lock:
                print(log_line(record), file=sys.stderr if record.level in ("WARN", "ERROR") else sys.stdout,
                      flush=True)


def _json_summary(execution: Any) -> dict[str, Any]:
    data = execution.to_dict()
    return {key: data[key] for key in ("id", "namespace", "flow_id", "state", "inputs", "outputs",
                                        "flow_outputs", "labels", "taskruns", "logs")}


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        from .durations import format_duration

        return format_duration(value)
    return str(value)


def _validate(args: argparse.Namespace) -> int:
    from . import api

    failed = 0
    for path in args.flows:
        try:
            flow = api.load_flow(path)
        except FlowValidationError as exc:
            failed += 1
            print(f"{path}: INVALID\n{exc.pretty()}")
            continue
        except UserError as exc:
            failed += 1
            print(f"{path}: {exc}")
            continue
        print(f"{path}: OK ({flow.namespace}.{flow.id}, {sum(1 for _ in flow.all_tasks())} tasks)")
        for warning in flow.warnings:
            print(f"  warning: {warning}")
    return EXIT_FAILED if failed else EXIT_OK


def _executions(args: argparse.Namespace) -> int:
    from . import api
    from .durations import parse_since
    from .views.text import EXECUTION_COLUMNS, execution_row, text_table

    found = api.executions(flow_id=args.flow, namespace=args.namespace, state=args.state, label=args.label,
                           since=parse_since(args.since), limit=args.limit)
    if args.json:
        for ex in found:
            print(json.dumps({"id": ex.id, "namespace": ex.namespace, "flow_id": ex.flow_id, "state": ex.state,
                              "start_date": ex.start_date, "end_date": ex.end_date, "labels": ex.labels},
                             default=_to_json))
    elif found:
        print(text_table(EXECUTION_COLUMNS, [execution_row(ex) for ex in found]))
    else:
        print("no executions")
    return EXIT_OK


def _logs(args: argparse.Namespace) -> int:
    from . import api
    from .views.text import log_lines

    for line in log_lines(api.find_execution(args.execution).logs, args.level, args.task):
        print(line)
    return EXIT_OK


def _plugins(args: argparse.Namespace) -> int:
    from . import api

    if args.markdown:
        print(api.plugin_catalog_markdown(), end="")
    else:
        for type_name in api.plugin_types():
            print(type_name)
    return EXIT_OK


def _test(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import api

    try:
        result = api.test(args.paths, parallel=args.parallel, only=args.case, keep=args.keep)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.junit:
        Path(args.junit).write_text(result.junit_xml(), encoding="utf-8")
    print(json.dumps(result.to_dict(), default=_to_json, ensure_ascii=False, indent=2) if args.json else result)
    return EXIT_OK if result.ok else EXIT_FAILED


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .export import export

    return EXIT_FAILED if export(Path(args.source), Path(args.outdir)) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
