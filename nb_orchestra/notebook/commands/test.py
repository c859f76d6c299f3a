"""``%flow test PATH...`` and the ``%%flowtest`` cell: run Kestra flow unit tests, show the report.

The report is HTML (with a text/plain fallback) and stays in the saved notebook; the result is
bound to a variable (the test suite's id, or ``-o NAME``); a failed case fails the cell unless
``--allow-failure``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from IPython.display import display

from ... import api
from ...errors import UserError
from ...views.flowtests import summary
from .shared import identifier

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


class FlowTestFailed(UserError):
    """A test case failed (or could not run): the cell fails, after the report is shown."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of a test run, shared by ``%flow test`` and ``%%flowtest``."""
    parser.add_argument("-o", "--out", metavar="NAME",
                        help="variable to bind the results to (default: the test suite's id as an identifier)")
    parser.add_argument("--case", action="append", metavar="ID", help="only the test case ID (repeatable)")
    parser.add_argument("--parallel", type=int, default=4, metavar="N", help="cases run at once (default 4)")
    parser.add_argument("--allow-failure", action="store_true", help="do not fail the cell when a case fails")


def add_parser(subcommands: Subcommands) -> None:
    """Add ``test``."""
    parser = subcommands.add_parser("test", help="run flow unit tests (test YAML files or folders)", description=(
        "Run the test cases of Kestra flow test files (or every test file under a folder) against the flows "
        "beside them or the registered ones, each in a fresh transient execution, and show the report."))
    parser.add_argument("paths", nargs="+", metavar="PATH", help="test files, flow files or folders")
    add_options(parser)
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Run the tests of the paths and show the report."""
    _run_and_show(magics, args, args.paths)


def cell_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The arguments of the ``%%flowtest`` line."""
    parser = parser_class(prog="%%flowtest", description=(
        "Run the Kestra flow test (test suite YAML: id, namespace, flowId, testCases) in this cell against "
        "its flow, registered by a %%flow cell (or -f FLOW_FILE), each case in a fresh transient execution, "
        "and show the report."))
    parser.add_argument("-f", "--flow", metavar="FLOW", help="the flow under test: a .yml file or a registered id")
    add_options(parser)
    return parser


def run_cell(magics: FlowMagics, args: argparse.Namespace, cell: str) -> None:
    """Run the cell's test. Its lines, in problems and in the report, count as the notebook shows them:
    ``%%flowtest`` is line 1."""
    _run_and_show(magics, args, [api.parse_test("\n" + cell)], flow=args.flow)


def _run_and_show(magics: FlowMagics, args: argparse.Namespace, sources: list[Any], flow: str | None = None) -> None:
    result = api.test(sources, flow=flow, parallel=args.parallel, only=args.case)
    display(result)  # text/html and text/plain
    names = {suite.suite.id for suite in result.suites}
    name = args.out or (identifier(names.pop()) if len(names) == 1 else "flow_tests")
    shell = magics.shell
    assert shell is not None
    shell.push({name: result}, interactive=True)
    if not result.ok and not args.allow_failure:
        raise FlowTestFailed(f"{summary(result)} of {len(result.cases)} test case(s); the report above shows "
                             f"each failed assertion (results in `{name}`)")
