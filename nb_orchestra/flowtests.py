"""Running Kestra flow unit tests locally: each test case a fresh, isolated, transient execution.

A case runs in its own temporary home (its own internal storage, namespace files, KV store and
SQLite store, through :func:`config.scoped`), with recording off and no event on the process-wide
bus (the history, the recorder and Flow triggers never see it), and is not listed among the
process's executions. Fixtures stand in for task runs (the engine's ``fixtures``), give the inputs,
the trigger and files; assertions are rendered against the finished execution. Independent cases
run concurrently, at most ``parallel`` at once. The home is removed when the case ends.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config, expressions, internal_storage, registry, store
from .engine import launch
from .engine.context import execution_variables
from .engine.execution import Execution
from .engine.runtime import Runtime
from .errors import FlowNotFoundError, UserError
from .model.flow import Flow
from .model.flowtest import Assertion, TestCase, TestSuite, check_against, missing_flow
from .store.kv import StoreKV
from .views import flowtests as report

PASSED, FAILED, ERROR, SKIPPED = "SUCCESS", "FAILED", "ERROR", "SKIPPED"  # Kestra's test states


@dataclass
class AssertionResult:
    """One operator of one assertion: what was expected, what the execution had, and whether it held."""

    operator: str
    expected: Any
    actual: Any
    ok: bool
    message: str | None
    line: int
    value: str  # the assertion's value as written
    task_id: str | None = None
    description: str | None = None


@dataclass
class CaseResult:
    """One test case: its state (SUCCESS, FAILED, ERROR, SKIPPED), assertion results and execution."""

    suite_id: str
    case_id: str
    state: str
    line: int
    file: str | None
    description: str | None = None
    assertions: list[AssertionResult] = field(default_factory=list)
    execution: Execution | None = None
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state in (PASSED, SKIPPED)

    @property
    def failures(self) -> list[AssertionResult]:
        return [result for result in self.assertions if not result.ok]

    def __repr__(self) -> str:
        return f"CaseResult({self.suite_id}/{self.case_id}: {self.state})"


@dataclass
class SuiteResult:
    """The results of one test file's cases, in file order."""

    suite: TestSuite
    cases: list[CaseResult]

    @property
    def ok(self) -> bool:
        return all(case.ok for case in self.cases)


@dataclass
class TestRun:
    """The result of ``nbo.test``: every suite's cases. ``ok`` is True when none failed; it shows as a
    compact report (text) or an HTML one (notebooks)."""

    __test__ = False  # not a pytest class

    suites: list[SuiteResult]

    @property
    def ok(self) -> bool:
        return all(suite.ok for suite in self.suites)

    @property
    def cases(self) -> list[CaseResult]:
        return [case for suite in self.suites for case in suite.cases]

    def case(self, case_id: str) -> CaseResult:
        """The result of the case ``case_id`` (the first one, when several suites share the id)."""
        for case in self.cases:
            if case.case_id == case_id:
                return case
        raise KeyError(f"no test case '{case_id}' (cases: {', '.join(c.case_id for c in self.cases)})")

    def counts(self) -> dict[str, int]:
        found = {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0}
        for case in self.cases:
            found[case.state] += 1
        return found

    def to_dict(self) -> dict[str, Any]:
        return report.to_dict(self)

    def junit_xml(self) -> str:
        return report.junit_xml(self)

    def __str__(self) -> str:
        return report.text_report(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        return report.html_report(self)


def run_suites(suites: Iterable[TestSuite], flows: Mapping[tuple[str, str], Flow] | None = None, *,
               parallel: int = config.DEFAULT_TEST_PARALLEL, keep: Path | None = None) -> TestRun:
    """Run every case of ``suites`` against its flow (from ``flows``, else the registry); the flows are
    checked first, so a suite naming a missing flow or task raises FlowTestValidationError before
    anything runs. With ``keep``, each case's home is ``keep/<suite id>/<case id>`` and stays (its
    files, namespace files and KV store), emptied first; else a temporary folder, removed."""
    if parallel < 1:
        raise UserError("parallel must be at least 1")
    planned = [(suite, _flow_of(suite, flows or {})) for suite in suites]
    jobs = [(suite, flow, case) for suite, flow in planned for case in suite.test_cases]
    running: list[Execution] = []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs))), thread_name_prefix="nbo-test") as pool:
        futures = [pool.submit(_run_case, suite, flow, case, running, keep) for suite, flow, case in jobs]
        try:
            results = [future.result() for future in futures]
        except KeyboardInterrupt:
            for execution in list(running):
                execution.kill()
            raise
    by_suite: dict[int, list[CaseResult]] = {}
    for (suite, _flow, _case), result in zip(jobs, results, strict=True):
        by_suite.setdefault(id(suite), []).append(result)
    return TestRun([SuiteResult(suite, by_suite.get(id(suite), [])) for suite, _flow in planned])


def _flow_of(suite: TestSuite, flows: Mapping[tuple[str, str], Flow]) -> Flow:
    flow = flows.get((suite.namespace, suite.flow_id))
    if flow is None:
        try:
            flow = registry.find_flow(suite.namespace, suite.flow_id, None)
        except FlowNotFoundError:
            known = [f"{f.namespace}.{f.id}" for f in [*flows.values(), *registry.flows()]]
            raise missing_flow(suite, known) from None
    check_against(suite, flow)
    return flow


def _run_case(suite: TestSuite, flow: Flow, case: TestCase, running: list[Execution],
              keep: Path | None) -> CaseResult:
    result = CaseResult(suite.id, case.id, PASSED, case.line, suite.name, case.description)
    if case.disabled:
        result.state = SKIPPED
        return result
    started = time.monotonic()
    if keep is None:
        home = Path(tempfile.mkdtemp(prefix="nbo-test-"))
    else:
        home = keep / suite.id / case.id
        if not home.resolve().is_relative_to(keep.resolve()) or home.resolve() == keep.resolve():
            raise UserError(f"test ids '{suite.id}' and '{case.id}' cannot name a folder under {keep}")
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
    try:
        with config.scoped(home=home, store=None, record=False):
            _run_in_home(flow, case, result, running)
    finally:
        store.discard_stores(home)
        if keep is None:
            shutil.rmtree(home, ignore_errors=True)
        result.duration = time.monotonic() - started
    return result


@dataclass(frozen=True)
class _StandIn:
    """What the engine needs of a task fixture, with the ``files`` of the case to render its outputs."""

    outputs: Mapping[str, Any] | None
    state: str
    description: str | None
    variables: Mapping[str, Any]


def _run_in_home(flow: Flow, case: TestCase, result: CaseResult, running: list[Execution]) -> None:
    fixtures = case.fixtures
    files = _write_files(flow.namespace, fixtures.files)
    try:
        inputs = expressions.render_value(dict(fixtures.inputs), files) if fixtures.inputs else {}
        trigger = None
        if fixtures.trigger is not None:
            trigger = {"id": fixtures.trigger.id, "type": fixtures.trigger.type,
                       **expressions.render_value(dict(fixtures.trigger.variables), files)}
        execution = launch.create_execution(flow, inputs, trigger=trigger, transient=True)
    except UserError as exc:
        result.state, result.error = ERROR, f"the execution could not be created: {exc}"
        return
    stand_ins = {(f.id, f.value): _StandIn(f.outputs, f.state, f.description, files) for f in fixtures.tasks}
    running.append(execution)
    try:
        final = launch.run_execution(execution, fixtures=stand_ins, transient=True)
    finally:
        running.remove(execution)
    result.execution = final
    variables = _assertion_variables(final, files)
    for assertion in case.assertions:
        result.assertions.extend(_check(assertion, variables))
    if not all(r.ok for r in result.assertions):
        result.state = FAILED


def _write_files(namespace: str, files: Mapping[str, str]) -> dict[str, Any]:
    """Each file fixture becomes a namespace file of the flow's namespace and a stored file; the
    variables ``files['name']`` (its kestra:/// URI) for fixture outputs, inputs and assertions."""
    uris = {}
    for name, text in files.items():
        namespace_file = internal_storage.namespace_file(namespace, name)
        namespace_file.parent.mkdir(parents=True, exist_ok=True)
        namespace_file.write_text(text, encoding="utf-8")
        stored = config.settings.home / "storage" / "fixtures" / name
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(text, encoding="utf-8")
        uris[name] = internal_storage.to_uri(stored)
    return {"files": uris}


def _assertion_variables(execution: Execution, files: Mapping[str, Any]) -> dict[str, Any]:
    variables = execution_variables(execution, Runtime(StoreKV(), execution.secrets, execution.logs))
    variables["execution"] = {**variables["execution"], "state": execution.state,
                              "outputs": execution.flow_outputs}
    variables.update(files)
    return variables


# -- assertions -------------------------------------------------------------------------------------

_NOT_RENDERED = object()


def _check(assertion: Assertion, variables: dict[str, Any]) -> list[AssertionResult]:
    """One result per operator of ``assertion``; a value that cannot be rendered is null for
    isNull/isNotNull and a failure (with the reason) for the others."""
    problem = None
    try:
        actual = (expressions.render_typed(assertion.value, variables) if isinstance(assertion.value, str)
                  else assertion.value)
    except UserError as exc:
        actual, problem = _NOT_RENDERED, str(exc)
    results = []
    for operator, raw in assertion.operators:
        try:
            expected = expressions.render_typed(raw, variables) if isinstance(raw, str) else raw
        except UserError as exc:
            expected, ok, why = raw, False, f"could not render the expected value: {exc}"
        else:
            ok, why = _holds(operator, expected, None if actual is _NOT_RENDERED else actual, problem)
        shown = None if actual is _NOT_RENDERED else actual
        message = None if ok else (assertion.error_message or why)
        results.append(AssertionResult(operator, expected, shown, ok, message, assertion.line, assertion.source,
                                       assertion.task_id, assertion.description))
    return results


_PHRASES = {
    "equalTo": "to equal", "notEqualTo": "to not equal", "endsWith": "to end with", "startsWith": "to start with",
    "contains": "to contain", "greaterThan": "to be greater than", "greaterThanOrEqualTo":
    "to be greater than or equal to", "lessThan": "to be less than", "lessThanOrEqualTo":
    "to be less than or equal to", "in": "to be one of", "notIn": "to be none of",
}


def _holds(operator: str, expected: Any, actual: Any, problem: str | None) -> tuple[bool, str]:
    """(whether ``operator`` holds, the message when it does not)."""
    if operator in ("isNull", "isNotNull"):
        want_null = bool(expected) == (operator == "isNull")
        ok = (actual is None) == want_null
        return ok, (f"expected the value to be null but was '{_text(actual)}'" if want_null
                    else "expected the value to be not null but was null"
                    + (f" ({problem})" if problem else ""))
    if problem is not None:
        return False, f"could not render the value: {problem}"
    ok = _OPERATORS[operator](actual, expected)
    if ok is None:
        return False, f"'{_text(actual)}' cannot be compared as a number with '{_text(expected)}'"
    return ok, f"expected {_PHRASES[operator]} '{_text(expected)}' but was '{_text(actual)}'"


def _text(value: Any) -> str:
    return "null" if value is None else expressions.to_text(value)


def _same(actual: Any, expected: Any) -> bool:
    """Equal values, or equal as Kestra prints them (200 and "200", a list and its JSON text)."""
    if actual == expected and type(actual) is not bool and type(expected) is not bool:
        return True
    return _text(actual) == _text(expected)


def _number(value: Any) -> float | None:
    try:
        return float(value) if not isinstance(value, bool) and value is not None else None
    except (TypeError, ValueError):
        return None


def _compare(test: Any) -> Any:
    def check(actual: Any, expected: Any) -> bool | None:
        a, e = _number(actual), _number(expected)
        return None if a is None or e is None else bool(test(a, e))
    return check


_OPERATORS: dict[str, Any] = {
    "equalTo": _same,
    "notEqualTo": lambda a, e: not _same(a, e),
    "endsWith": lambda a, e: _text(a).endswith(_text(e)),
    "startsWith": lambda a, e: _text(a).startswith(_text(e)),
    "contains": lambda a, e: _text(e) in _text(a),
    "greaterThan": _compare(lambda a, e: a > e),
    "greaterThanOrEqualTo": _compare(lambda a, e: a >= e),
    "lessThan": _compare(lambda a, e: a < e),
    "lessThanOrEqualTo": _compare(lambda a, e: a <= e),
    "in": lambda a, e: any(_same(a, x) for x in e),
    "notIn": lambda a, e: not any(_same(a, x) for x in e),
}
