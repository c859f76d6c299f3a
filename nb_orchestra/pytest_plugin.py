"""The pytest plugin (entry point ``pytest11``): Kestra flow test files as pytest items.

Every ``*.test.yml``/``*.test.yaml`` file pytest visits is collected, and with ``--nbo-flows DIR``
every test suite under DIR (its YAML files are read by what they hold). One item per test case;
a disabled case is skipped; a failed one reports each failed assertion with its line, expected and
actual values. The flow under test is found beside the test file (see ``nb_orchestra.api.collect_tests``)
or among the registered flows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import FlowValidationError, UserError

if TYPE_CHECKING:  # the api is imported when a flow test is collected: pytest starts as fast as before
    from . import api

SUFFIXES = (".test.yml", ".test.yaml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nb_orchestra", "Kestra flow tests (nb_orchestra)")
    group.addoption("--nbo-flows", action="append", default=[], metavar="DIR",
                    help="also collect every Kestra flow test file under DIR (repeatable)")


def pytest_configure(config: pytest.Config) -> None:
    for folder in config.getoption("nbo_flows"):
        if not Path(folder).is_dir():
            raise pytest.UsageError(f"--nbo-flows {folder}: not a folder")
        config.args.append(str(folder))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIXES) or (file_path.suffix in (".yml", ".yaml")
                                             and _under_flow_folders(file_path, parent.config)):
        return FlowTestFile.from_parent(parent, path=file_path)
    return None


def _under_flow_folders(path: Path, config: pytest.Config) -> bool:
    """A YAML file under an --nbo-flows folder that holds a test suite (not a flow: those are found
    beside the tests that name them)."""
    if not any(path.resolve().is_relative_to(Path(folder).resolve()) for folder in config.getoption("nbo_flows")):
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return "testCases" in text and "flowId" in text


class FlowTestFile(pytest.File):
    """A test suite YAML: one item per test case."""

    def collect(self) -> Iterator[pytest.Item]:
        from . import api

        try:
            suites, flows = api.collect_tests([self.path])
        except FlowValidationError as exc:
            raise self.CollectError(exc.pretty()) from None
        except UserError as exc:
            raise self.CollectError(str(exc)) from None
        for suite in suites:
            flow = flows.get((suite.namespace, suite.flow_id))
            for case in suite.test_cases:
                yield FlowTestItem.from_parent(self, name=case.id, suite=suite, case=case, flow=flow)


class FlowTestFailed(Exception):
    """A case that did not pass: carries its result for the report."""

    def __init__(self, case: Any):
        super().__init__(case.case_id)
        self.case = case


class FlowTestItem(pytest.Item):
    """One test case, run in a fresh transient execution."""

    def __init__(self, *, suite: api.TestSuite, case: Any, flow: api.Flow | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.suite, self.case, self.flow = suite, case, flow

    def runtest(self) -> None:
        from . import api

        if self.case.disabled:
            pytest.skip("disabled: true")
        result = api.test(self.suite, flow=self.flow, only=[self.case.id]).cases[0]
        if not result.ok:
            raise FlowTestFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FlowTestFailed):
            from .views.flowtests import case_lines

            return "\n".join(case_lines(excinfo.value.case))
        if isinstance(excinfo.value, FlowValidationError):
            return excinfo.value.pretty()
        if isinstance(excinfo.value, UserError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.case.line - 1, 0), f"{self.suite.id}::{self.case.id}"
