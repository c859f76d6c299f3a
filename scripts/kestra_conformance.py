"""Measure nb_orchestra against Kestra's own core test flows (a dev tool; nothing of Kestra is committed).

Given a checkout of kestra-io/kestra (a work tree, or a bare git directory read with
``git --git-dir``, or a folder holding only ``core/src/test/resources/flows``), it reports:

- how many flows of ``flows/valids/`` load here (parse + validate), and why the others are refused,
  grouped (``unknown task type X: N flows``...);
- how many flows of ``flows/invalids/`` are refused here;
- for the flows whose Java test asserts a simple final state (the facts are listed by hand in
  ``scripts/kestra_conformance.json``, read from the tests), whether running them here ends in that
  state, each with a time limit; flows needing external services, and those whose test needs more
  than one run, are listed as skipped;
- with ``--markdown``: docs/kestra-compatibility.md, a table of every core plugin type (from
  ``core/src/main/java/io/kestra/plugin/core/``) and every Kestra expression filter, function, test
  and operator (from ``core/src/main/java/io/kestra/core/runners/pebble/Extension.java``), each
  supported here or not, the Kestra version followed (``gradle.properties``) and the deliberate
  differences.

    .venv/bin/python scripts/kestra_conformance.py /tmp/kestra                 # a text report
    .venv/bin/python scripts/kestra_conformance.py /work/.mirror/kestra-io+kestra/repo --markdown \\
        > docs/kestra-compatibility.md                                          # the document
    .venv/bin/python scripts/kestra_conformance.py KESTRA --no-run --json      # figures as JSON
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DATA = HERE / "kestra_conformance.json"
INTRO = HERE / "kestra_compatibility_intro.md"

FLOWS = "core/src/test/resources/flows"
PLUGINS = "core/src/main/java/io/kestra/plugin/core"
EXTENSION = "core/src/main/java/io/kestra/core/runners/pebble/Extension.java"
CORE_PREFIX = "io.kestra.plugin.core."
# Type names of Kestra's own test plugins (core/src/test/java): not part of any Kestra release.
TEST_ONLY = ("io.kestra.core.tasks.test.", "io.kestra.core.runners.test.", "io.kestra.plugin.core.test.")


# -- reading a Kestra checkout --------------------------------------------------------------------

class KestraTree:
    """The files of a Kestra checkout: a work tree, or a bare git directory (read at ``rev``)."""

    def __init__(self, path: str | Path, rev: str = "HEAD"):
        self.path = Path(path)
        self.rev = rev
        self.bare = not (self.path / "core").is_dir() and (self.path / "HEAD").is_file() \
            and (self.path / "objects").is_dir()
        if not self.bare and not self.path.is_dir():
            raise SystemExit(f"{self.path}: not a folder")

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", f"--git-dir={self.path}", *args], check=True, capture_output=True,
                              text=True, encoding="utf-8").stdout

    def files(self, prefix: str) -> list[str]:
        """Paths (relative to the repository) of the files under ``prefix``, sorted."""
        if self.bare:
            try:
                return sorted(self._git("ls-tree", "-r", "--name-only", self.rev, "--", prefix).splitlines())
            except subprocess.CalledProcessError:
                return []
        base = self.path / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.path).as_posix() for p in base.rglob("*") if p.is_file())

    def read(self, path: str) -> str | None:
        """A file's text, or None when it is not there."""
        if self.bare:
            try:
                return self._git("show", f"{self.rev}:{path}")
            except subprocess.CalledProcessError:
                return None
        file = self.path / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    def commit(self) -> str | None:
        """The commit read (``sha date``), when the tree is a git repository."""
        git_dir = self.path if self.bare else self.path / ".git"
        if not git_dir.exists():
            return None
        try:
            out = subprocess.run(["git", f"--git-dir={git_dir}", "log", "-1", "--format=%H %cs", self.rev],
                                 check=True, capture_output=True, text=True).stdout.strip()
        except subprocess.CalledProcessError:
            return None
        return out or None


def kestra_version(tree: KestraTree) -> str | None:
    """The ``version=`` of the checkout's gradle.properties."""
    text = tree.read("gradle.properties") or ""
    match = re.search(r"^version\s*=\s*(\S+)", text, re.M)
    return match.group(1) if match else None


@dataclass(frozen=True)
class CorePlugin:
    """One plugin class of Kestra's core (io.kestra.plugin.core.*)."""

    name: str
    kind: str  # task, trigger, condition, task runner, dashboard
    aliases: tuple[str, ...] = ()
    deprecated: bool = False


_CLASS = re.compile(r"^public\s+class\s+(\w+)(?:<.*?>)?\s+extends\s+(\w+)", re.M)


def plugin_kind(superclass: str) -> str:
    """A plugin's kind from the class it extends."""
    if superclass == "AbstractTrigger":
        return "trigger"
    if superclass == "Condition":
        return "condition"
    if superclass == "TaskRunner":
        return "task runner"
    if superclass in ("Chart", "DataChart", "DataFilter"):
        return "dashboard"
    return "task"


def core_plugins(tree: KestraTree) -> list[CorePlugin]:
    """Every @Plugin class under core/src/main/java/io/kestra/plugin/core/, with its aliases."""
    found = []
    for path in tree.files(PLUGINS):
        if not path.endswith(".java") or path.endswith("package-info.java"):
            continue
        text = tree.read(path) or ""
        declaration = _CLASS.search(text)
        if declaration is None or not re.search(r"^@Plugin\b", text, re.M):
            continue
        name = CORE_PREFIX + path[len(PLUGINS) + 1:-len(".java")].replace("/", ".")
        head = text[:declaration.start()]
        aliases: tuple[str, ...] = ()
        alias_match = re.search(r"aliases\s*=\s*(\{[^}]*\}|\"[^\"]*\")", head)
        if alias_match:
            aliases = tuple(re.findall(r'"([^"]+)"', alias_match.group(1)))
        deprecated = re.search(r"^@Deprecated\b", head, re.M) is not None
        found.append(CorePlugin(name, plugin_kind(declaration.group(2)), aliases, deprecated))
    return sorted(found, key=lambda p: (p.kind, p.name))


def pebble_names(tree: KestraTree) -> dict[str, list[str]]:
    """Kestra's expression extension: its filters, functions, tests and operators, by kind."""
    text = tree.read(EXTENSION) or ""
    return {
        "filter": sorted(set(re.findall(r'filters\.put\("(\w+)"', text))),
        "function": sorted(set(re.findall(r'functions\.put\("(\w+)"', text))),
        "test": sorted(set(re.findall(r'tests\.put\("(\w+)"', text))),
        "operator": sorted(set(re.findall(r'BinaryOperatorImpl\("([^"]+)"', text))),
    }


# -- what nb_orchestra supports -------------------------------------------------------------------

def _probe(text: str) -> list[str]:
    """The problems of loading a flow text here (empty when it loads)."""
    from nb_orchestra import api
    from nb_orchestra.errors import FlowValidationError

    try:
        api.load_flow(text)
    except FlowValidationError as exc:
        return [p.message for p in exc.problems]
    return []


def plugin_support(plugin: CorePlugin) -> tuple[str, str]:
    """(``yes``/``refused``/``no``/``n/a``, a note) for one core plugin type here."""
    from nb_orchestra.model.condition_types import check_condition
    from nb_orchestra.model.parse import TRIGGER_TYPES
    from nb_orchestra.plugins import find_plugin, refusal

    names = (plugin.name, *plugin.aliases)
    if plugin.kind == "task":
        for name in names:
            found = find_plugin(name)
            if found is not None:
                note = "" if found.type == plugin.name else f"as {found.type}"
                return "yes", note
        reason = next((r for r in map(refusal, names) if r), None)
        return ("refused", reason) if reason else ("no", "")
    if plugin.kind == "trigger":
        return ("yes", "") if any(n in TRIGGER_TYPES for n in names) else ("no", "")
    if plugin.kind == "condition":
        unsupported = any(path == ".type" and "not supported" in message
                          for path, message in check_condition({"type": plugin.name}))
        return ("no", "") if unsupported else ("yes", "")
    if plugin.kind == "task runner":
        refused = _probe("id: probe\nnamespace: probe\ntasks:\n  - id: t\n"
                         "    type: io.kestra.plugin.scripts.shell.Commands\n"
                         f"    taskRunner:\n      type: {plugin.name}\n    commands: ['true']\n")
        return ("no", refused[0]) if refused else ("yes", "")
    return "n/a", "Kestra UI dashboards"


def expression_support() -> dict[str, set[str]]:
    """The filters, functions and tests of our expression environment, and the operators we translate."""
    from nb_orchestra.expressions import environment, filters, functions

    operators = {"??", "???"} if _renders("{{ missing ?? 'x' }}{{ missing ??? 'x' }}") == "xx" else set()
    return {
        "filter": {n for n in filters.FILTERS if n in environment.ENVIRONMENT.filters},
        "function": {n for n in functions.FUNCTIONS if n in environment.ENVIRONMENT.globals},
        "test": set(environment.ENVIRONMENT.tests),
        "operator": operators,
    }


def _renders(template: str) -> str | None:
    from nb_orchestra import api

    try:
        return api.render(template, {})
    except Exception:  # an operator we do not translate is a syntax error here
        return None


# -- loading the test flows -----------------------------------------------------------------------

@dataclass
class FlowLoad:
    """One flow file of the test tree and what loading it here gave."""

    path: str
    flow: str | None  # namespace.id, when the YAML says so
    problems: list[str]
    types: set[str] = field(default_factory=set)
    text: str = field(default="", repr=False)

    @property
    def loads(self) -> bool:
        return not self.problems

    @property
    def test_only(self) -> bool:
        """Uses a task or trigger type of Kestra's own test plugins."""
        return any(t.startswith(TEST_ONLY) for t in self.types)


def _types(data: Any) -> set[str]:
    """Every ``type:`` value in a YAML document."""
    found: set[str] = set()
    if isinstance(data, Mapping):
        if isinstance(data.get("type"), str):
            found.add(data["type"])
        for value in data.values():
            found |= _types(value)
    elif isinstance(data, list):
        for value in data:
            found |= _types(value)
    return found


def load_flows(tree: KestraTree, folder: str) -> list[FlowLoad]:
    """Load every ``*.yml``/``*.yaml`` under ``flows/<folder>/`` here."""
    from nb_orchestra import api
    from nb_orchestra.errors import FlowValidationError, UserError

    results = []
    for path in tree.files(f"{FLOWS}/{folder}"):
        if not path.endswith((".yml", ".yaml")):
            continue
        text = tree.read(path) or ""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
        flow = None
        if isinstance(data, Mapping) and data.get("id") and data.get("namespace"):
            flow = f"{data['namespace']}.{data['id']}"
        name = path.rsplit("/", 1)[-1]
        try:
            api.load_flow(text)
            problems: list[str] = []
        except FlowValidationError as exc:
            problems = [p.message for p in exc.problems] or [str(exc)]
        except UserError as exc:
            problems = [str(exc)]
        except Exception as exc:  # a crash of the parser is a finding too
            problems = [f"crash: {type(exc).__name__}: {exc}"]
        results.append(FlowLoad(name, flow, problems, _types(data), text))
    return results


_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"unknown (task|trigger) type '([^']+)'"), r"unknown \1 type \2"),
    (re.compile(r"unknown property '([^']+)' for (\w+) task"), r"unknown property \1 of \2"),
    (re.compile(r"condition type '([^']+)' is not supported"), r"unsupported condition \1"),
    (re.compile(r"missing required property '([^']+)' for (\w+) task"), r"missing property \1 of \2"),
]


def reason(message: str) -> str:
    """A problem's message, reduced to what groups flows refused for the same cause."""
    for pattern, replacement in _REASONS:
        match = pattern.search(message)
        if match:
            return match.expand(replacement)
    text = re.sub(r"\s*\(first used at line \d+\)|;? did you mean.*$", "", message)
    text = re.sub(r"\[[^\]]*\]", "[…]", text)
    text = re.sub(r"'[^']*'", "'…'", text)
    return text.split(":", 1)[0] if len(text) > 90 else text


def refusal_reasons(loads: Iterable[FlowLoad]) -> Counter[str]:
    """How many flows each reason refuses (a flow counts once per distinct reason), most first."""
    counts: Counter[str] = Counter()
    for load in loads:
        counts.update({reason(p) for p in load.problems})
    return Counter(dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))))  # ties in name order


# -- running the flows whose tests assert a final state -------------------------------------------

@dataclass
class CaseResult:
    """One expectation of the data file and what running the flow here gave."""

    flow: str
    inputs: dict[str, Any]
    expected: str
    test: str
    state: str | None = None  # None: not run
    note: str = ""
    expected_task_runs: int | None = None
    task_runs: int | None = None

    @property
    def status(self) -> str:
        """``agree``, ``differ`` or ``skipped``."""
        if self.state is None and self.note.startswith("skipped"):
            return "skipped"
        return "agree" if self.state == self.expected else "differ"


def read_data(path: Path = DATA) -> dict[str, Any]:
    """The hand-listed facts (expected states, skipped flows, deliberate differences)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def run_cases(loads: Sequence[FlowLoad], data: Mapping[str, Any],
              timeout: float = 30.0) -> list[CaseResult]:
    """Run each case of ``data["cases"]`` here (in a temporary home, nothing recorded)."""
    from nb_orchestra import api, config
    from nb_orchestra.errors import UserError

    by_flow = {load.flow: load for load in loads if load.flow}
    skipped = {**data.get("skipped", {}), **data.get("external", {})}
    results = []
    with tempfile.TemporaryDirectory(prefix="kestra-conformance-") as home, \
            config.scoped(home=Path(home), store=None, record=False):
        for known in by_flow.values():  # subflows resolve against every flow that loads
            if known.loads:
                with contextlib.suppress(UserError):
                    api.register_flow(known.text)
        for case in data.get("cases", []):
            result = CaseResult(case["flow"], dict(case.get("inputs") or {}), case["state"], case.get("test", ""),
                                expected_task_runs=case.get("taskRuns"))
            results.append(result)
            load = by_flow.get(case["flow"])
            if case["flow"] in skipped:
                result.note = f"skipped: {skipped[case['flow']]}"
            elif load is None:
                result.note = "no such flow in the tree"
            elif load.test_only:
                result.note = "skipped: uses Kestra's test-only plugins"
            elif not load.loads:
                result.note = f"refused: {reason(load.problems[0])}"
            else:
                _run_case(result, load.text, timeout, case.get("outputs"))
    return results


def _run_case(result: CaseResult, text: str, timeout: float, outputs: Mapping[str, Any] | None) -> None:
    from nb_orchestra import api
    from nb_orchestra.errors import UserError

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            execution = api.create(text, result.inputs)
            api.start(execution, background=True)
            if not execution.wait(timeout):
                execution.kill()
                execution.wait(5)
                result.note = f"timed out after {timeout:g}s"
                result.state = "TIMEOUT"
                return
    except UserError as exc:
        result.note = f"not created: {str(exc).splitlines()[0]}"
        return
    result.state = str(execution.state)
    result.task_runs = len(execution.taskruns)
    notes = []
    if result.expected_task_runs is not None and result.task_runs != result.expected_task_runs:
        notes.append(f"{result.task_runs} task runs, Kestra {result.expected_task_runs}")
    for key, value in (outputs or {}).items():
        got = execution.flow_outputs.get(key)
        if got != value:
            notes.append(f"output {key} = {got!r}, Kestra {value!r}")
    if result.state != result.expected:
        failed = [f"{t.task_id}: {t.state}" for t in execution.taskruns if str(t.state) == "FAILED"][:2]
        errors = [log.message for log in execution.logs if str(log.level) == "ERROR"][:1]
        notes.extend(failed + [e.splitlines()[0][:160] for e in errors if e])
    result.note = "; ".join(notes)


# -- the report -----------------------------------------------------------------------------------

@dataclass
class Report:
    """Every figure of one measurement."""

    version: str | None
    commit: str | None
    valids: list[FlowLoad]
    invalids: list[FlowLoad]
    cases: list[CaseResult]
    plugins: list[CorePlugin]
    expressions: dict[str, list[str]]
    data: dict[str, Any]

    @property
    def valid_loaded(self) -> int:
        return sum(1 for f in self.valids if f.loads)

    @property
    def invalid_refused(self) -> int:
        return sum(1 for f in self.invalids if not f.loads)

    @property
    def core_valids(self) -> list[FlowLoad]:
        """The valid flows that use no type of Kestra's test plugins."""
        return [f for f in self.valids if not f.test_only]

    def case_counts(self) -> Counter[str]:
        return Counter(c.status for c in self.cases)


def measure(tree: KestraTree, data: dict[str, Any], *, run: bool = True, timeout: float = 30.0) -> Report:
    """Load (and run) everything; the figures of the report."""
    valids = load_flows(tree, "valids")
    invalids = load_flows(tree, "invalids")
    cases = run_cases(valids, data, timeout) if run else []
    return Report(kestra_version(tree), tree.commit(), valids, invalids, cases, core_plugins(tree),
                  pebble_names(tree), data)


def _percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def text_report(report: Report) -> str:
    """The figures for a terminal."""
    core = report.core_valids
    lines = [
        f"Kestra {report.version or '?'}" + (f" at {report.commit}" if report.commit else ""),
        f"valid flows that load here:      {_percent(report.valid_loaded, len(report.valids))}",
        f"  without Kestra's test plugins: {_percent(sum(1 for f in core if f.loads), len(core))}",
        f"invalid flows refused here:      {_percent(report.invalid_refused, len(report.invalids))}",
        "", "why valid flows are refused (flows):",
    ]
    lines += [f"  {n:3}  {why}" for why, n in refusal_reasons(report.valids).most_common()]
    accepted = [f.path for f in report.invalids if f.loads]
    if accepted:
        lines += ["", "invalid flows accepted here: " + ", ".join(accepted)]
    if report.cases:
        counts = report.case_counts()
        ran = counts["agree"] + counts["differ"]
        lines += ["", f"final state as Kestra's tests assert: {_percent(counts['agree'], ran)} "
                      f"({counts['skipped']} skipped)"]
        for c in report.cases:
            inputs = f" {json.dumps(c.inputs)}" if c.inputs else ""
            lines.append(f"  {c.status:7}  {c.flow}{inputs}: Kestra {c.expected}, here {c.state or '-'}"
                         + (f"  ({c.note})" if c.note else ""))
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: Report, intro: str | None = None) -> str:
    """docs/kestra-compatibility.md: the intro, the figures and the tables."""
    out: list[str] = []
    if intro:
        out += [intro.rstrip(), ""]
    commit = f" (commit `{report.commit.split()[0][:12]}` of {report.commit.split()[1]})" if report.commit else ""
    out += ["<!-- generated by scripts/kestra_conformance.py --markdown from here on; do not edit by hand -->", "",
            f"Kestra version followed: **{report.version or 'unknown'}**{commit}.", ""]

    core = report.core_valids
    out += ["## Kestra's core test flows", "",
            "| measure | here |", "| --- | --- |",
            f"| valid flows (`flows/valids/`) that load | {_percent(report.valid_loaded, len(report.valids))} |",
            "| ... of those using no Kestra test-only plugin | "
            f"{_percent(sum(1 for f in core if f.loads), len(core))} |",
            f"| invalid flows (`flows/invalids/`) refused | "
            f"{_percent(report.invalid_refused, len(report.invalids))} |"]
    if report.cases:
        counts = report.case_counts()
        ran = counts["agree"] + counts["differ"]
        out.append(f"| runs ending in the state Kestra's tests assert | {_percent(counts['agree'], ran)}"
                   f" ({counts['skipped']} skipped) |")
    out += ["", "Why valid flows are refused:", "", "| reason | flows |", "| --- | --- |"]
    out += [f"| {_cell(why)} | {n} |" for why, n in refusal_reasons(report.valids).most_common()]
    out += ["", "Invalid flows, and the first problem found here:", "", "| flow file | here |", "| --- | --- |"]
    out += [f"| `{f.path}` | {_cell(f.problems[0]) if f.problems else '**accepted**'} |" for f in report.invalids]
    if report.cases:
        out += ["", "Runs (the expected states are read from Kestra's Java tests, listed in "
                    "`scripts/kestra_conformance.json`):",
                "", "| flow | inputs | Kestra | here | | note |", "| --- | --- | --- | --- | --- | --- |"]
        marks = {"agree": "✓", "differ": "✗", "skipped": "skipped"}
        for c in report.cases:
            inputs = f"`{json.dumps(c.inputs)}`" if c.inputs else ""
            out.append(f"| `{c.flow}` | {inputs} | {c.expected} | {c.state or ''} | {marks[c.status]} | "
                       f"{_cell(c.note)} |")
    external = report.data.get("external", {})
    if external:
        out += ["", "Not run (they need external services): "
                + "; ".join(f"`{flow}` ({why})" for flow, why in external.items()) + "."]

    out += ["", "## Core plugin types", "",
            "From `core/src/main/java/io/kestra/plugin/core/`. *refused*: rejected on purpose at validation, "
            "with the reason.", "", "| type | kind | here | note |", "| --- | --- | --- | --- |"]
    for plugin in report.plugins:
        support, note = plugin_support(plugin)
        if plugin.deprecated:
            note = "deprecated in Kestra" + (f"; {note}" if note else "")
        out.append(f"| `{plugin.name}` | {plugin.kind} | {support} | {_cell(note)} |")
    if not report.plugins:
        out.append("| (the checkout has no core/src/main) | | | |")

    ours = expression_support()
    out += ["", "## Expression language", "",
            "Kestra's Pebble extension (`core/src/main/java/io/kestra/core/runners/pebble/Extension.java`); "
            "Pebble's own built-ins (`upper`, `default`, `range`...) are in docs/expressions.md.", "",
            "| name | kind | here |", "| --- | --- | --- |"]
    for kind, names in report.expressions.items():
        for name in names:
            out.append(f"| `{name}` | {kind} | {'yes' if name in ours[kind] else 'no'} |")
    extra = sorted(set().union(*(ours[k] - set(v) for k, v in report.expressions.items() if k != "test")))
    if extra:
        out += ["", "Also here (Pebble built-ins or older names): " + ", ".join(f"`{n}`" for n in extra) + "."]

    differences = report.data.get("differences", [])
    out += ["", "## Deliberate differences", "", "| what | here | where documented |", "| --- | --- | --- |"]
    out += [f"| {_cell(what)} | {_cell(how)} | {where} |" for what, how, where in differences]
    return "\n".join(out) + "\n"


def report_json(report: Report) -> dict[str, Any]:
    """The figures as JSON."""
    counts = report.case_counts()
    return {
        "version": report.version, "commit": report.commit,
        "valids": {"total": len(report.valids), "loaded": report.valid_loaded,
                   "core_total": len(report.core_valids),
                   "core_loaded": sum(1 for f in report.core_valids if f.loads)},
        "invalids": {"total": len(report.invalids), "refused": report.invalid_refused,
                     "accepted": [f.path for f in report.invalids if f.loads]},
        "reasons": dict(refusal_reasons(report.valids).most_common()),
        "runs": {"agree": counts["agree"], "differ": counts["differ"], "skipped": counts["skipped"],
                 "cases": [{"flow": c.flow, "inputs": c.inputs, "expected": c.expected, "state": c.state,
                            "status": c.status, "note": c.note} for c in report.cases]},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Load (and run) Kestra's core test flows here and report how many behave as Kestra's tests "
                    "assert; --markdown writes docs/kestra-compatibility.md.")
    parser.add_argument("kestra", help="a checkout of kestra-io/kestra: a work tree, a bare git directory, "
                                       "or a folder holding core/src/test/resources/flows")
    parser.add_argument("--rev", default="HEAD", help="the revision read from a bare git directory (HEAD)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the expected states (default {DATA.name})")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a run may take (30)")
    parser.add_argument("--no-run", action="store_true", help="only load the flows")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--markdown", action="store_true", help="print docs/kestra-compatibility.md")
    output.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    tree = KestraTree(args.kestra, args.rev)
    if not tree.files(f"{FLOWS}/valids"):
        parser.error(f"{args.kestra}: no {FLOWS}/valids/ there")
    report = measure(tree, read_data(args.data), run=not args.no_run, timeout=args.timeout)
    if args.markdown:
        sys.stdout.write(markdown(report, INTRO.read_text(encoding="utf-8") if INTRO.is_file() else None))
    elif args.json:
        sys.stdout.write(json.dumps(report_json(report), indent=2) + "\n")
    else:
        sys.stdout.write(text_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
