"""Kestra's flow unit tests (a test suite YAML): the model and its located validation.

A suite names one flow (``namespace``, ``flowId``) and holds ``testCases`` of type
``io.kestra.core.tests.flow.UnitTest``, each with ``fixtures`` (inputs, files, tasks standing in
for task runs, a trigger) and ``assertions`` (a rendered ``value`` and one or more operators).
:func:`parse_test_suite` checks the format, :func:`check_against` what it names in the flow;
both raise FlowTestValidationError with every problem, its path, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlowTestValidationError, FlowValidationError, Problem
from ..inputs import input_id
from ..records import states
from .flow import Flow
from .parse import did_you_mean
from .yaml_source import Document, Path, format_path, load_document

UNIT_TEST = "io.kestra.core.tests.flow.UnitTest"

OPERATORS = ("equalTo", "notEqualTo", "endsWith", "startsWith", "contains", "greaterThan", "greaterThanOrEqualTo",
             "lessThan", "lessThanOrEqualTo", "in", "notIn", "isNull", "isNotNull")
# Kestra before 0.24 spelled these two so (its docs still show `equalsTo` in one example).
LEGACY_OPERATORS = {"equalsTo": "equalTo", "notEqualsTo": "notEqualTo"}
FIXTURE_STATES = (states.SUCCESS, states.WARNING, states.FAILED, states.KILLED, states.CANCELLED, states.SKIPPED)

# Ids as Kestra allows them in flows; a case id also names a folder (``nb-orchestra test --keep``).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_SUITE_KEYS = ("id", "namespace", "flowId", "description", "testCases")
_CASE_KEYS = ("id", "type", "description", "disabled", "fixtures", "assertions")
_FIXTURE_KEYS = ("inputs", "files", "tasks", "trigger")
_TASK_FIXTURE_KEYS = ("id", "value", "state", "outputs", "description", "assets")
_TRIGGER_KEYS = ("id", "type", "variables")
_ASSERTION_KEYS = ("value", "taskId", "errorMessage", "description", *OPERATORS, *LEGACY_OPERATORS)


@dataclass(frozen=True)
class TaskFixture:
    """Stands in for the runs of task ``id`` (of one loop ``value`` when given): they end in ``state``
    with ``outputs`` (rendered when the run would start) and their body never runs."""

    id: str
    value: str | None = None
    state: str = states.SUCCESS
    outputs: Mapping[str, Any] | None = None
    description: str | None = None
    line: int = 0


@dataclass(frozen=True)
class TriggerFixture:
    """The trigger the execution starts from: ``trigger.*`` variables."""

    id: str
    type: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fixtures:
    inputs: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    tasks: tuple[TaskFixture, ...] = ()
    trigger: TriggerFixture | None = None


@dataclass(frozen=True)
class Assertion:
    """``value`` (a template) checked by each of ``operators`` (name, expected), in file order."""

    value: Any
    operators: tuple[tuple[str, Any], ...]
    task_id: str | None = None
    error_message: str | None = None
    description: str | None = None
    line: int = 0
    source: str = ""  # the value as written, for reports


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest class

    id: str
    type: str = UNIT_TEST
    description: str | None = None
    disabled: bool = False
    fixtures: Fixtures = field(default_factory=Fixtures)
    assertions: tuple[Assertion, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class TestSuite:
    """One test file: the flow it tests and its cases. ``name`` is its file (or None for a text)."""

    __test__ = False

    id: str
    namespace: str
    flow_id: str
    test_cases: tuple[TestCase, ...]
    description: str | None = None
    source: str = ""
    name: str | None = None
    positions: Mapping[Path, tuple[int, int]] = field(default_factory=dict, repr=False, compare=False)


def looks_like_test_suite(data: Any) -> bool:
    """True for a document that is a test suite rather than a flow (it has ``flowId`` and ``testCases``)."""
    return isinstance(data, dict) and "flowId" in data and "testCases" in data


def parse_test_suite(text: str, name: str | None = None) -> TestSuite:
    """Parse and check a test suite document; FlowTestValidationError lists every problem."""
    try:
        doc = load_document(text, name=name)
    except FlowValidationError as exc:  # the YAML itself: the same problems, under a test's header
        raise FlowTestValidationError(exc.problems, source=text, name=name) from None
    return _Reader(doc, name).suite()


def missing_flow(suite: TestSuite, known: list[str]) -> FlowTestValidationError:
    """The error of a suite whose flow is not registered, located at its ``flowId``."""
    line, column = _locate(suite.positions, ("flowId",))
    message = (f"no flow {suite.namespace}.{suite.flow_id} is registered "
               f"(registered: {', '.join(known) or 'none'}); register it first, or give the flow with the test")
    return FlowTestValidationError([Problem("flowId", message, line, column)], source=suite.source, name=suite.name)


def check_against(suite: TestSuite, flow: Flow) -> None:
    """What the suite names must exist in ``flow``: fixture tasks, fixture inputs, assertion task ids."""
    task_ids = list(dict.fromkeys(task.id for task in flow.all_tasks()))
    input_ids = [input_id(declaration) for declaration in flow.inputs]
    problems: list[Problem] = []

    def problem(path: Path, message: str) -> None:
        line, column = _locate(suite.positions, path)
        problems.append(Problem(format_path(path), message, line, column))

    where = f"flow {flow.namespace}.{flow.id}"
    for i, case in enumerate(suite.test_cases):
        for j, fixture in enumerate(case.fixtures.tasks):
            if fixture.id not in task_ids:
                problem(("testCases", i, "fixtures", "tasks", j, "id"),
                        f"no task '{fixture.id}' in {where}{did_you_mean(fixture.id, task_ids)} "
                        f"(its tasks: {', '.join(task_ids)})")
        for key in case.fixtures.inputs:
            top = str(key).split(".")[0]
            if str(key) not in input_ids and not any(i.split(".")[0] == top for i in input_ids):
                problem(("testCases", i, "fixtures", "inputs", key),
                        f"no input '{key}' in {where}{did_you_mean(key, input_ids)}"
                        f" (its inputs: {', '.join(input_ids) or 'none'})")
        for j, assertion in enumerate(case.assertions):
            if assertion.task_id is not None and assertion.task_id not in task_ids:
                problem(("testCases", i, "assertions", j, "taskId"),
                        f"no task '{assertion.task_id}' in {where}{did_you_mean(assertion.task_id, task_ids)}")
    if problems:
        ordered = sorted(problems, key=lambda p: (p.line, p.column))
        raise FlowTestValidationError(ordered, source=suite.source, name=suite.name)


def _locate(positions: Mapping[Path, tuple[int, int]], path: Path) -> tuple[int, int]:
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get((), (0, 0))


class _Reader:
    """Builds the suite, collecting every problem before raising them together."""

    def __init__(self, doc: Document, name: str | None):
        self.doc = doc
        self.name = name
        self.problems: list[Problem] = []

    def problem(self, path: Path, message: str) -> None:
        line, column = self.doc.locate(path)
        self.problems.append(Problem(format_path(path), message, line, column))

    def line(self, path: Path) -> int:
        return self.doc.locate(path)[0]

    def suite(self) -> TestSuite:
        data = self.doc.data
        if not isinstance(data, dict):
            self.problem((), "a flow test is a map with id, namespace, flowId and testCases")
            raise self.error()
        self.keys(data, (), _SUITE_KEYS, "a test suite")
        for key in ("id", "namespace", "flowId"):
            self.text(data, (), key, required=True)
        self.identifier(data, ())
        cases_data = data.get("testCases")
        cases: list[TestCase] = []
        if not isinstance(cases_data, list) or not cases_data:
            self.problem(("testCases",), "testCases must be a non-empty list of test cases"
                         if "testCases" in data else "missing required property 'testCases'")
        else:
            seen: set[str] = set()
            for i, case_data in enumerate(cases_data):
                case = self.case(case_data, ("testCases", i))
                if case is None:
                    continue
                if case.id in seen:
                    self.problem(("testCases", i, "id"), f"duplicate test case id '{case.id}'")
                seen.add(case.id)
                cases.append(case)
        if self.problems:
            raise self.error()
        return TestSuite(id=str(data["id"]), namespace=str(data["namespace"]), flow_id=str(data["flowId"]),
                         test_cases=tuple(cases), description=_opt_text(data.get("description")),
                         source=self.doc.text, name=self.name, positions=self.doc.positions)

    def error(self) -> FlowTestValidationError:
        ordered = sorted(self.problems, key=lambda p: (p.line, p.column))
        return FlowTestValidationError(ordered, source=self.doc.text, name=self.name)

    # -- parts ---------------------------------------------------------------------------------

    def case(self, data: Any, path: Path) -> TestCase | None:
        if self.entries(data, path, _CASE_KEYS, "a test case",
                        "a test case is a map with id, type and assertions") is None:
            return None
        case_id = self.text(data, path, "id", required=True)
        self.identifier(data, path)
        kind = self.text(data, path, "type", required=True)
        if kind is not None and kind != UNIT_TEST:
            self.problem(path + ("type",), f"unknown test case type '{kind}'; the only type is {UNIT_TEST}")
        disabled = data.get("disabled", False)
        if not isinstance(disabled, bool):
            self.problem(path + ("disabled",), "disabled must be true or false")
        fixtures = self.fixtures(data.get("fixtures"), path + ("fixtures",))
        assertions_data = data.get("assertions")
        assertions: list[Assertion] = []
        if assertions_data is None:
            self.problem(path, "missing required property 'assertions'")
        elif not isinstance(assertions_data, list):
            self.problem(path + ("assertions",), "assertions must be a list")
        else:
            for j, item in enumerate(assertions_data):
                assertion = self.assertion(item, path + ("assertions", j))
                if assertion is not None:
                    assertions.append(assertion)
        return TestCase(id=str(case_id), type=str(kind), description=_opt_text(data.get("description")),
                        disabled=disabled is True, fixtures=fixtures, assertions=tuple(assertions),
                        line=self.line(path))

    def fixtures(self, data: Any, path: Path) -> Fixtures:
        if data is None:
            return Fixtures()
        if self.entries(data, path, _FIXTURE_KEYS, "the fixtures",
                        "fixtures must be a map (inputs, files, tasks, trigger)") is None:
            return Fixtures()
        inputs = self.mapping(data, path, "inputs")
        files = self.mapping(data, path, "files")
        for key, value in files.items():
            if not isinstance(value, str):
                self.problem(path + ("files", key), "a file fixture is the file's text")
        tasks: list[TaskFixture] = []
        tasks_data = data.get("tasks", [])
        if not isinstance(tasks_data, list):
            self.problem(path + ("tasks",), "tasks must be a list of task fixtures")
        else:
            seen: set[tuple[str, str | None]] = set()
            for j, item in enumerate(tasks_data):
                fixture = self.task_fixture(item, path + ("tasks", j))
                if fixture is None:
                    continue
                if (fixture.id, fixture.value) in seen:
                    what = f"task '{fixture.id}'" + (f" with value '{fixture.value}'" if fixture.value else "")
                    self.problem(path + ("tasks", j), f"a second fixture for {what}")
                seen.add((fixture.id, fixture.value))
                tasks.append(fixture)
        trigger = self.trigger(data.get("trigger"), path + ("trigger",))
        return Fixtures(inputs=inputs, files={str(k): str(v) for k, v in files.items()}, tasks=tuple(tasks),
                        trigger=trigger)

    def task_fixture(self, data: Any, path: Path) -> TaskFixture | None:
        if self.entries(data, path, _TASK_FIXTURE_KEYS, "a task fixture",
                        "a task fixture is a map with the task's id") is None:
            return None
        task_id = self.text(data, path, "id", required=True)
        value = data.get("value")
        if isinstance(value, (dict, list)):
            self.problem(path + ("value",), "value is the loop value of one run (text)")
            value = None
        state = data.get("state", states.SUCCESS)
        if state not in FIXTURE_STATES:
            self.problem(path + ("state",), f"state must be one of {', '.join(FIXTURE_STATES)}, not '{state}'"
                         + did_you_mean(str(state).upper(), FIXTURE_STATES))
            state = states.SUCCESS
        outputs = self.mapping(data, path, "outputs")
        if task_id is None:
            return None
        return TaskFixture(id=task_id, value=None if value is None else _scalar_text(value), state=state,
                           outputs=outputs or None, description=_opt_text(data.get("description")),
                           line=self.line(path))

    def trigger(self, data: Any, path: Path) -> TriggerFixture | None:
        if data is None:
            return None
        if self.entries(data, path, _TRIGGER_KEYS, "a trigger fixture",
                        "trigger must be a map with id, type and variables") is None:
            return None
        trigger_id = self.text(data, path, "id", required=True)
        kind = self.text(data, path, "type", required=True)
        variables = self.mapping(data, path, "variables")
        return TriggerFixture(id=str(trigger_id), type=str(kind), variables=variables)

    def assertion(self, data: Any, path: Path) -> Assertion | None:
        all_known = self.entries(data, path, _ASSERTION_KEYS, "an assertion",
                                 "an assertion is a map with value and an operator (equalTo, contains...)",
                                 unknown="unknown operator")
        if all_known is None:
            return None
        if "value" not in data:
            self.problem(path, "missing required property 'value'")
        operators: list[tuple[str, Any]] = []
        for key, expected in data.items():
            operator = LEGACY_OPERATORS.get(key, key)
            if operator not in OPERATORS:
                continue
            where = path + (key,)
            if operator in ("isNull", "isNotNull") and not isinstance(expected, bool):
                self.problem(where, f"{key} is true or false")
            elif operator in ("in", "notIn") and not isinstance(expected, list):
                self.problem(where, f"{key} is a list of values")
            elif operator in ("greaterThan", "greaterThanOrEqualTo", "lessThan", "lessThanOrEqualTo") and (
                    isinstance(expected, bool) or not isinstance(expected, (int, float, str))):
                self.problem(where, f"{key} is a number")
            elif expected is None:
                self.problem(where, f"{key} needs a value to compare with")
            operators.append((operator, expected))
        if not operators and "value" in data and all_known:
            self.problem(path, f"no assertion operator: give one of {', '.join(OPERATORS)}")
        for key in ("taskId", "errorMessage", "description"):
            self.text(data, path, key)
        value = data.get("value")
        return Assertion(value=value, operators=tuple(operators), task_id=_opt_text(data.get("taskId")),
                         error_message=_opt_text(data.get("errorMessage")),
                         description=_opt_text(data.get("description")), line=self.line(path + ("value",)),
                         source=value if isinstance(value, str) else repr(value))

    # -- checks ----------------------------------------------------------------------------------

    def entries(self, data: Any, path: Path, known: tuple[str, ...], what: str, not_a_map: str,
                unknown: str = "unknown property") -> bool | None:
        """None (and the problem ``not_a_map``) when ``data`` is not a map; else report each key not
        in ``known``, and say whether every key is known."""
        if not isinstance(data, dict):
            self.problem(path, not_a_map)
            return None
        return self.keys(data, path, known, what, unknown)

    def keys(self, data: dict, path: Path, known: tuple[str, ...], what: str,
             unknown: str = "unknown property") -> bool:
        """Report each key not in ``known``; True when every key is known."""
        strangers = [key for key in data if key not in known]
        for key in strangers:
            self.problem(path + (key,), f"{unknown} '{key}' in {what}{did_you_mean(key, known)}")
        return not strangers

    def identifier(self, data: dict, path: Path) -> None:
        value = data.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool) and not _ID.match(str(value)):
            self.problem(path + ("id",), f"id '{value}' must be letters, digits, '_', '-' or '.' "
                                         "(and start with a letter or a digit)")

    def text(self, data: dict, path: Path, key: str, required: bool = False) -> str | None:
        if key not in data or data[key] is None:
            if required:
                self.problem(path, f"missing required property '{key}'")
            return None
        value = data[key]
        if isinstance(value, (dict, list)):
            self.problem(path + (key,), f"{key} must be text")
            return None
        return _scalar_text(value)

    def mapping(self, data: dict, path: Path, key: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path + (key,), f"{key} must be a map")
            return {}
        return value


def _scalar_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _opt_text(value: Any) -> str | None:
    return None if value is None else _scalar_text(value)

