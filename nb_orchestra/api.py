"""The public Python API and the composition root: the only door front ends use.

It wires the layers together: settings and the store's recorder (``configure``), the flow
model and the registry (``load_flow``, ``register_flow``, ``find_flow``), the engine
(``create``/``start``, ``run``, ``restart``, ``replay``) and the history (``executions``,
``find_execution``, ``revive``). The notebook, the command line and the triggers call
nothing below it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config, expressions, internal_storage, registry
from .config import DEFAULT_TEST_PARALLEL, Settings, settings
from .engine import launch
from .engine.context import execution_variables
from .engine.execution import Execution
from .engine.runtime import Runtime
from .errors import ExecutionNotFoundError, FlowNotFoundError, FlowValidationError, UserError
from .model.flow import Flow
from .model.parse import parse_flow
from .model.yaml_source import load_document
from .records import events, states
from .records.execution import ExecutionView
from .secrets import SecretValues
from .store import get_store, recorder
from .store.kv import StoreKV
from .store.records import StoredExecution

if TYPE_CHECKING:
    from .authoring.commands import Command
    from .authoring.commands import Option as CommandOption  # noqa: F401 (api.CommandOption, for front ends)
    from .authoring.completion import Completions
    from .flowtests import TestRun
    from .model.flowtest import TestSuite

    TestSource = str | os.PathLike[str] | TestSuite

Tick = Callable[[], None]

# Flow tests and authoring help are imported on first use (a plain run needs neither), and so are
# the names of theirs this module shows: (module, name).
_LAZY_NAMES = {
    "Completions": ("authoring.completion", "Completions"), "Command": ("authoring.commands", "Command"),
    "CommandOption": ("authoring.commands", "Option"), "TestRun": ("flowtests", "TestRun"),
    "TestSuite": ("model.flowtest", "TestSuite"),
}


def __getattr__(name: str) -> Any:
    if name == "TestSource":
        return str | os.PathLike[str] | __getattr__("TestSuite")
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY_NAMES[name]
    value = getattr(importlib.import_module(f".{module}", __package__), attribute)
    globals()[name] = value
    return value


def configure(home: str | os.PathLike[str] | None = None, store: str | None = None, workers: int | None = None,
              record: bool | None = None, max_subflow_depth: int | None = None) -> Settings:
    """Set where executions keep their files (``home``) and the worker-thread pool size.

    ``store`` names the execution store ("postgresql://..."); None keeps the default.
    ``record=False`` keeps executions in memory only (no history); True records them again.
    ``max_subflow_depth`` bounds how deep subflows nest (default 10).
    """
    config.configure(home=home, store=store, workers=workers, record=record, max_subflow_depth=max_subflow_depth)
    if record is False:
        recorder.stop_recording()  # writes what is pending first
    return settings


# -- flows ----------------------------------------------------------------------------------

def load_flow(source: str | os.PathLike[str] | Flow) -> Flow:
    """Parse and validate a flow from YAML text, a ``.yml``/``.yaml`` path, or a Flow; a bare name
    (``hello`` or ``company.team.hello``) that is not a file is a registered flow.

    Raises FlowValidationError listing every problem with its line and column.
    """
    if isinstance(source, Flow):
        return source
    if isinstance(source, os.PathLike):
        return _load_file(Path(source))
    name = source.strip()
    if "\n" not in name and Path(name).exists():  # an existing file always wins over a flow's name
        return _load_file(Path(name))
    if _IDENTIFIER.match(name):
        try:
            return find_flow(name)
        except FlowNotFoundError as exc:
            if _looks_like_path(name):
                raise FlowNotFoundError(f"no flow file {name}, and {exc}") from None
            raise
    if _looks_like_path(source):
        return _load_file(Path(name))
    return _parse(source, None)


def _load_file(path: Path) -> Flow:
    return _parse(_read_text(path, "flow"), str(path))


def _read_text(path: Path, what: str) -> str:
    """The text of a YAML file (UTF-8, with or without BOM, or UTF-16); short UserErrors."""
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a {what} file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such {what} file: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig" if not data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-16")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{path}, line {line}: not UTF-8 text (save the {what} as UTF-8)") from None


@functools.lru_cache(maxsize=64)
def _parsed(text: str, name: str | None) -> Flow:
    return parse_flow(text, name=name)


def _parse(text: str, name: str | None) -> Flow:
    """Parse once per distinct text (a notebook cell runs again and again unchanged); each caller gets
    its own Flow object, sharing the immutable tasks."""
    return dataclasses.replace(_parsed(text, name))


_IDENTIFIER = re.compile(r"^[A-Za-z0-9_][\w.-]*\Z")


def _looks_like_path(source: str) -> bool:
    return "\n" not in source and source.strip().lower().endswith((".yml", ".yaml"))


def register_flow(source: str | os.PathLike[str] | Flow) -> Flow:
    """Validate a flow and add it to the process-wide registry (for Subflow tasks and triggers)."""
    return registry.register(load_flow(source))


def registered_flows() -> list[Flow]:
    """The latest revision of every registered flow."""
    return registry.flows()


def on_register(callback: Callable[[Flow], None]) -> Callable[[], None]:
    """Call ``callback`` with every flow revision registered from now on; returns the function
    that stops it (the scheduler arms triggers this way)."""
    registry.on_register.append(callback)

    def unsubscribe() -> None:
        if callback in registry.on_register:
            registry.on_register.remove(callback)

    return unsubscribe


def on_trigger_toggle(callback: Callable[[tuple[str, str, str], bool], None]) -> Callable[[], None]:
    """Call ``callback`` with each trigger a task switches on or off (trigger.Toggle) from now on, as
    ((namespace, flow id, trigger id), enabled); returns the function that stops it."""
    registry.on_toggle.append(callback)

    def unsubscribe() -> None:
        if callback in registry.on_toggle:
            registry.on_toggle.remove(callback)

    return unsubscribe


def trigger_switch(namespace: str, flow_id: str, trigger_id: str) -> bool | None:
    """Whether a task switched this trigger on (True) or off (False); None when none did."""
    return registry.trigger_switches.get((namespace, flow_id, trigger_id))


def plugin_types() -> list[str]:
    """Every supported task type (current and legacy names resolve to these)."""
    from .plugins import catalog

    return [cls.type for cls in catalog.plugin_classes()]


def plugin_catalog_markdown() -> str:
    """The catalogue of every task type and its properties, in Markdown (docs/plugins.md)."""
    from .plugins import catalog

    return catalog.markdown()


# -- writing flows: completion and documentation ------------------------------------------------


def complete_flow(text: str, cursor: int) -> Completions:
    """What may be typed at offset ``cursor`` of a flow's YAML text (a ``%%flow`` cell's body):
    types, properties, and inside ``{{ }}`` roots, input ids, variables, task ids, outputs, filters."""
    from .authoring import completion

    return completion.complete_flow(text, cursor)


def complete_command(typed: str, commands: Sequence[Command]) -> Completions:
    """Completions at the end of ``typed``, the text after a magic's name: a subcommand of
    ``commands`` then its options and arguments, or (one command named "") the options and arguments
    of that command. FLOW, EXEC and TYPE arguments complete to the registered flows, the executions
    (this process's first, then the store's newest) and the task types."""
    from .authoring import commands as command_completion

    values = {"FLOW": _flow_names, "EXEC": _execution_ids, "TYPE": _type_names}
    if len(commands) == 1 and not commands[0].name:
        return command_completion.complete_arguments(typed, commands[0], values)
    return command_completion.complete_command(typed, commands, values)


def _flow_names() -> list[str]:
    flows = registry.flows()
    return [f.id for f in flows] + [f"{f.namespace}.{f.id}" for f in flows]


def _type_names() -> list[str]:
    from .authoring import completion

    current, others = completion.task_type_names()
    return current + others


def _execution_ids() -> list[str]:
    ids = [ex.id for ex in reversed(launch.recent)]
    if settings.record:
        try:
            ids += [ex.id for ex in executions(limit=20)]
        except UserError:
            pass  # a store that cannot be opened: the ones of this process only
    return list(dict.fromkeys(ids))


def task_type_doc(name: str) -> str:
    """The documentation of a task type (``io.kestra.plugin.core.log.Log``, or ``Log``) in Markdown:
    description, properties, outputs and an example flow. UserError for an unknown type."""
    from .authoring import docs

    return docs.markdown(name)


def find_flow(name: str) -> Flow:
    """The registered flow named by ``id`` or ``namespace.id``; FlowNotFoundError when none or several."""
    flows = registry.flows()
    matches = [f for f in flows if name in (f.id, f"{f.namespace}.{f.id}")]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(f"{f.namespace}.{f.id}" for f in flows) or "none yet"
    if matches:
        raise FlowNotFoundError(f"'{name}' names several registered flows; use namespace.id ({known})")
    raise FlowNotFoundError(f"no registered flow '{name}' (registered: {known})")


# -- running --------------------------------------------------------------------------------

def create(source: str | os.PathLike[str] | Flow, inputs: Mapping[str, Any] | None = None, *,
           labels: Mapping[str, str] | None = None, trigger: dict[str, Any] | None = None) -> Execution:
    """A new execution with its inputs resolved, not started yet (:func:`start` runs it).

    Invalid inputs raise InputError before any execution exists, as in Kestra.
    """
    return launch.create_execution(load_flow(source), inputs, labels=labels, trigger=trigger)


def start(execution: Execution, *, listeners: Iterable[events.Listener] = (), tick: Tick | None = None,
          background: bool = False) -> Execution:
    """Run a created execution: blocking (returns the final execution, the last one of a flow-level
    retry), or on a background thread. ``tick`` is called on the running thread a few times a second:
    where a front end redraws."""
    _record()
    bus = events.EventBus()
    for listener in listeners:
        bus.subscribe(listener)
    if background:
        launch.run_in_background(execution, bus)
        return execution
    return launch.run_execution(execution, bus, tick=tick)


def run(source: str | os.PathLike[str] | Flow, inputs: Mapping[str, Any] | None = None, *,
        labels: Mapping[str, str] | None = None, trigger: dict[str, Any] | None = None,
        listeners: Iterable[events.Listener] = (), background: bool = False) -> Execution:
    """Run a flow and return its Execution (state SUCCESS, WARNING, FAILED or KILLED).

    Blocking unless ``background``; then call ``execution.wait()``. Invalid
    inputs raise InputError before any execution exists, as in Kestra.
    """
    execution = create(source, inputs, labels=labels, trigger=trigger)
    return start(execution, listeners=listeners, background=background)


def restart(execution: ExecutionView, *, tick: Tick | None = None) -> Execution:
    """Kestra's Restart of a FAILED or KILLED execution (of this process or of the store): what
    succeeded is kept, failed task runs get a new attempt. Blocking."""
    _record()
    return launch.restart_execution(revive(execution), tick=tick)


def replay(execution: ExecutionView, from_task: str, value: str | None = None) -> Execution:
    """Kestra's Replay: a new execution reusing the outputs of everything before ``from_task``.

    ``value`` picks the run of ``from_task`` for one loop value. Blocking; returns the new execution.
    """
    _new, start_replay = prepare_replay(execution, from_task, value)
    return start_replay(None)


def prepare_replay(execution: ExecutionView, from_task: str,
                   value: str | None = None) -> tuple[Execution, Callable[[Tick | None], Execution]]:
    """The new execution of a Replay, and the function that runs it (blocking, with a ``tick``)."""
    flow = execution.flow if isinstance(execution, Execution) else revive(execution).flow
    new, reuse = launch.prepare_replay(execution, from_task, flow, value)

    def start_replay(tick: Tick | None) -> Execution:
        _record()
        return launch.run_execution(new, tick=tick, reuse=reuse)

    return new, start_replay


def _record() -> None:
    """Every execution is kept in the store unless ``configure(record=False)`` (idempotent, cheap).

    The store is opened first, so a home that cannot hold it fails here, before anything runs."""
    if settings.record:
        get_store()
        recorder.start_recording()


def render(template: str, context: Mapping[str, Any] | None = None) -> str:
    """Render a template with Kestra's Pebble semantics: ``render("{{ x | upper }}", {"x": "a"})``."""
    return expressions.render(template, context or {})


def expression_services(secrets: SecretValues) -> Runtime:
    """What expressions outside an execution reach (kv(), secret(), read()): a trigger's properties.
    ``secrets`` collects the secret values read, for masking."""
    return Runtime(StoreKV(), secrets)


def evaluate(expression: str, execution: ExecutionView) -> Any:
    """An expression rendered typed against a (finished or running) execution, as its tasks saw it."""
    live = revive(execution)
    runtime = Runtime(StoreKV(), live.secrets, live.logs)
    return expressions.render_typed(expression, execution_variables(live, runtime))


# -- history --------------------------------------------------------------------------------

def revive(execution: ExecutionView) -> Execution:
    """A live Execution from a stored one (an earlier process's), for a restart, a replay or eval."""
    if isinstance(execution, Execution):
        return execution
    assert isinstance(execution, StoredExecution)
    if execution.flow_source is None:
        raise UserError(f"execution {execution.id}: the store has no source of its flow revision")
    live = Execution(load_flow(execution.flow_source), execution.inputs, dict(execution.labels), execution.trigger,
                     original_id=execution.original_id)
    live.id, live.state = execution.id, execution.state
    live.start_date, live.end_date = execution.start_date, execution.end_date
    copies: dict[str, Any] = {}
    for old in execution.taskruns:  # parents come before their children
        parent = copies.get(old.parent_id) if old.parent_id else None
        copies[old.id] = launch.resume.copy_run(old, parent, keep_id=True)
    live.taskruns.extend(copies.values())
    live.outputs.update(execution.outputs)
    live.flow_outputs.update(execution.flow_outputs)
    return launch.adopt(live)


def recent_executions() -> list[Execution]:
    """Executions created in this process, oldest first."""
    return list(launch.recent)


def running_executions() -> list[Execution]:
    """Executions of this process that have not ended."""
    return [ex for ex in launch.recent if ex.state not in states.TERMINAL]


def executions(flow_id: str | None = None, namespace: str | None = None, limit: int | None = 50, *,
               state: str | Sequence[str] | None = None, label: str | None = None,
               since: datetime | None = None) -> list[StoredExecution]:
    """Past executions, newest first, from the store (what this process ran is written first)."""
    recorder.flush()
    return get_store().executions(flow_id=flow_id, namespace=namespace, state=state, label=label, since=since,
                                  limit=limit)


def find_execution(target: str | None = None) -> ExecutionView:
    """An execution of this process (live) or of the store: by id or unique id prefix, or by flow
    (``id`` or ``namespace.id``: its latest execution); the newest of all when ``target`` is None.
    A live one is preferred to its stored copy: it is still being updated."""
    recent = list(launch.recent)
    if target is None:  # the newest, of this process or of an earlier one
        return _newest([*recent[-1:], *executions(limit=1)], "no execution yet")
    if not _EXECUTION_ID.match(target) or _names_a_flow(target):
        namespace, _, flow_id = target.rpartition(".")
        mine = [ex for ex in recent if target in (ex.flow_id, f"{ex.namespace}.{ex.flow_id}")]
        stored = executions(flow_id=flow_id, namespace=namespace or None, limit=1)
        return _newest([*mine[-1:], *stored], f"no execution id starts with '{target}', and no execution "
                                              f"of a flow named '{target}'")
    live = [ex for ex in recent if ex.id.startswith(target)]
    if len(live) == 1:
        return live[0]
    recorder.flush()
    return get_store().execution(target)


_EXECUTION_ID = re.compile(r"[0-9a-f]+\Z")  # ids are hexadecimal: other text names a flow


def _names_a_flow(name: str) -> bool:
    return any(name in (f.id, f"{f.namespace}.{f.id}") for f in registry.flows())


def _newest(candidates: list[ExecutionView], nothing: str) -> ExecutionView:
    if not candidates:
        raise ExecutionNotFoundError(nothing)
    newest = max(candidates, key=lambda ex: ex.start_date)
    live = [ex for ex in launch.recent if ex.id == newest.id]  # its live copy, when this process ran it
    return live[-1] if live else newest


def purge(older_than: timedelta, flow_id: str | None = None) -> dict[str, int]:
    """Remove stored executions (with their logs and files) older than ``older_than``; counts per kind."""
    recorder.flush()
    return get_store().purge(older_than, flow_id=flow_id)


# -- flow tests -----------------------------------------------------------------------------------

def test(source: TestSource | Sequence[TestSource], flow: str | os.PathLike[str] | Flow | None = None, *,
         parallel: int = DEFAULT_TEST_PARALLEL, only: Iterable[str] | None = None,
         keep: str | os.PathLike[str] | None = None) -> TestRun:
    """Run Kestra flow unit tests: a test YAML text, a test file, a folder (its test files, and the
    flows beside them), or a list of these. Each case runs in a fresh transient execution that
    nothing records; ``flow`` is the flow under test (else the flows found beside the tests, else the
    registered ones). ``only`` keeps the cases with these ids; ``keep`` is a folder where each case's
    files stay (``keep/<suite id>/<case id>``) instead of being removed. Returns the results (``.ok``)."""
    from . import flowtests
    from .model import flowtest

    sources = [source] if isinstance(source, (str, os.PathLike, flowtest.TestSuite)) else list(source)
    suites, flows = collect_tests(sources)
    if flow is not None:
        tested = load_flow(flow)
        flows[tested.key] = tested
    if only is not None:
        wanted = set(only)
        suites = [dataclasses.replace(s, test_cases=tuple(c for c in s.test_cases if c.id in wanted)) for s in suites]
    return flowtests.run_suites(suites, flows, parallel=parallel, keep=Path(keep) if keep is not None else None)


def parse_test(text: str, name: str | None = None) -> TestSuite:
    """Parse and check a test suite YAML text; raises FlowTestValidationError with every problem located."""
    from .model import flowtest

    return flowtest.parse_test_suite(text, name)


def collect_tests(sources: Sequence[TestSource]) -> tuple[list[TestSuite], dict[tuple[str, str], Flow]]:
    """The test suites of ``sources`` and the flows they test, found beside them (by namespace and id).

    A file is read by what it holds (``flowId`` and ``testCases``: a test; ``id``, ``namespace`` and
    ``tasks``: a flow); a folder gives every ``.yml``/``.yaml`` file under it, in name order. The
    flow of a test file is looked for among the flow files given, under the folders given, and in
    the test file's folder (and that folder's parent when it is named ``tests``). Only the flows
    some test names are parsed.
    """
    from .model import flowtest

    suites: list[TestSuite] = []
    candidates: dict[tuple[str, str], Path] = {}
    beside: list[Path] = []
    for source in sources:
        if isinstance(source, flowtest.TestSuite):
            suites.append(source)
            continue
        if isinstance(source, str) and "\n" in source.strip():
            suites.append(flowtest.parse_test_suite(source))
            continue
        path = Path(source)
        if not path.exists():
            raise UserError(f"no such test file or folder: {path}")
        if path.is_dir():
            for file in _yaml_files(path, recursive=True):
                _classify(file, suites, candidates, explicit=False)
        elif _classify(path, suites, candidates, explicit=True):
            beside += [path.parent, path.parent.parent] if path.parent.name == "tests" else [path.parent]
    for folder in dict.fromkeys(beside):
        for file in _yaml_files(folder, recursive=False):
            _classify(file, None, candidates, explicit=False)
    wanted = {(suite.namespace, suite.flow_id) for suite in suites}
    return suites, {key: _load_file(path) for key, path in candidates.items() if key in wanted}


def _yaml_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in found if p.suffix in (".yml", ".yaml") and p.is_file())


def _classify(path: Path, suites: list[TestSuite] | None, flows: dict[tuple[str, str], Path], explicit: bool) -> bool:
    """Add a test file to ``suites`` (True) or note a flow file in ``flows``; an explicit file that is
    no flow is read as a test, so its problems are reported. Without ``suites``, only flows are noted."""
    from .model import flowtest

    text = _read_text(path, "test")
    try:
        data = load_document(text).data
    except FlowValidationError:
        data = None  # not YAML: the parse below says where, for a file given by name
    if suites is not None and (flowtest.looks_like_test_suite(data) or (explicit and not _looks_like_flow(data))):
        suites.append(flowtest.parse_test_suite(text, str(path)))
        return True
    if _looks_like_flow(data):
        flows.setdefault((str(data["namespace"]), str(data["id"])), path)
    return False


def _looks_like_flow(data: Any) -> bool:
    return isinstance(data, dict) and "tasks" in data and "id" in data and "namespace" in data


# -- namespace files -----------------------------------------------------------------------------

_NAMESPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9][A-Za-z0-9_-]*)*")


@dataclasses.dataclass(frozen=True)
class NamespaceFile:
    """One namespace file: its path in the namespace (``/queries/one.sql``), size and last change."""

    path: str
    size: int
    modified: datetime


def namespace_files(namespace: str) -> list[NamespaceFile]:
    """The files of ``namespace`` (kept under ``<home>/namespaces/<namespace>/``), in path order."""
    root = _namespace_root(namespace)
    if not root.is_dir():
        return []
    files = sorted(path for path in root.rglob("*") if path.is_file())
    return [_namespace_file(root, path) for path in files]


def upload_namespace_files(namespace: str, source: str | os.PathLike[str], to: str = "/") -> list[NamespaceFile]:
    """Copy a local file, or every file below a local folder (its sub-folders kept), into the folder
    ``to`` of ``namespace``'s files, replacing files of the same path; returns what was written."""
    root = _namespace_root(namespace)
    local = Path(source).expanduser()
    if local.is_file():
        pairs = [(local, local.name)]
    elif local.is_dir():
        pairs = [(path, path.relative_to(local).as_posix()) for path in sorted(local.rglob("*")) if path.is_file()]
    else:
        raise UserError(f"no such file or folder: {local}")
    written = []
    for path, relative in pairs:
        try:
            target = internal_storage.namespace_file(namespace, f"{to.rstrip('/')}/{relative}")
        except ValueError as exc:
            raise UserError(str(exc)) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        written.append(_namespace_file(root, target))
    return written


def _namespace_root(namespace: str) -> Path:
    if not _NAMESPACE_NAME.fullmatch(namespace):
        raise UserError(f"'{namespace}' is not a namespace (letters, digits, '_', '-', separated by dots)")
    return internal_storage.namespace_files_dir(namespace)


def _namespace_file(root: Path, path: Path) -> NamespaceFile:
    stat = path.stat()
    return NamespaceFile("/" + path.relative_to(root).as_posix(), stat.st_size,
                         datetime.fromtimestamp(stat.st_mtime).astimezone())
