"""io.kestra.plugin.dbt.cli: DbtCLI, the older one-command tasks (Build, Run, Test, Compile, Deps,
Freshness, List, Seed, Snapshot) and Setup, as script tasks running dbt-core locally.

They are shell script tasks (``scripts/runner.py``): inputFiles, namespaceFiles, outputFiles, env and
beforeCommands work as there; ``taskRunner`` and ``containerImage`` are accepted and dbt runs as a
local process (a log line says so). dbt is found as :func:`find_dbt` says, and its folder is put
first on PATH, so ``dbt build`` in ``commands`` runs it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, cast

import yaml

from ... import internal_storage
from ..base import Prop, TaskContext, TaskFailure
from ..files import inside
from ..scripts import venvs
from ..scripts.runner import COMMON_SCRIPT_PROPS, Launch, ScriptTask
from .results import DbtLog, NodeResult, failure_summary, read_run_results

DBT_SETTING = "NB_ORCHESTRA_DBT"
MISSING = ("dbt is not installed here: pip install 'nb-orchestra[dbt-duckdb]' (or [dbt-postgres]) in the "
           f"kernel's environment, or set the environment variable {DBT_SETTING} to a dbt executable "
           "(e.g. one of a separate virtual environment)")
OFFLINE_DEPS = ("dbt deps needs the network (hub.getdbt.com, or git for git packages); offline, keep the "
                "packages in the project's dbt_packages/ folder and leave `dbt deps` out")
_CONNECTION_ERRORS = ("External connection exception", "hub.getdbt.com", "Max retries exceeded",
                      "Name or service not known", "Temporary failure in name resolution")

KV_MANIFEST = Prop("map", description="{key, namespace}: a KV entry holding a dbt manifest.json.")
DBT_PROPS: dict[str, Prop] = {
    **COMMON_SCRIPT_PROPS,
    "taskRunner": Prop("map", dynamic=False, description=(
        "Accepted; dbt runs as a local process (Kestra's default is a Docker runner).")),
    "containerImage": Prop("string", description="Accepted; dbt runs locally, no container image is pulled."),
    "profiles": Prop("string", description=(
        "Content of a `profiles.yml`, written to the working directory (replacing one that is there).")),
    "projectDir": Prop("string", description=(
        "Folder of the dbt project, relative to the working directory; added to `dbt` commands as "
        "`--project-dir`.")),
    "parseRunResults": Prop("bool", default=True, description=(
        "Show each node of `target/run_results.json` (model, test, seed...) as a run under the task, with "
        "its state and duration.")),
}


def find_dbt() -> Path | None:
    """The dbt program: ``NB_ORCHESTRA_DBT`` when set, else ``dbt`` beside this Python (its virtual
    environment), else ``dbt`` on PATH."""
    configured = os.environ.get(DBT_SETTING)
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise TaskFailure(f"{DBT_SETTING}={configured} is not an executable dbt program")
        return Path(found)
    here = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    if here.is_file():
        return here
    found = shutil.which("dbt")
    return Path(found) if found else None


class _DbtContext:
    """The task's context as the script runner sees it, its ``log`` reading dbt's JSON lines."""

    def __init__(self, ctx: TaskContext, reader: DbtLog):
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_reader", reader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._ctx, name, value)

    def log(self, level: str, message: str) -> None:
        self._reader.accept(level, message)


class _DbtTask(ScriptTask):
    """The shared run: find dbt, write the profile, run the commands, read what dbt left."""

    outputs = {
        **ScriptTask.outputs,
        "outputFiles": "outputFiles, plus `manifest.json` and `run_results.json` of the run (kestra:// URIs).",
    }
    profile_folder: ClassVar[str] = "."

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        started = time.time()
        reader = DbtLog(ctx.log)
        try:
            outputs = super().run(cast(TaskContext, _DbtContext(ctx, reader)))
            failure = None
        except TaskFailure as exc:
            outputs, failure = dict(exc.outputs or {}), exc
        nodes = self._results(ctx, outputs, started)
        ctx.run.own_metrics().extend(reader.metrics)
        if failure is not None:
            raise TaskFailure(self._failure_message(ctx, failure.message, nodes, reader), outputs) from None
        if reader.warned:
            ctx.warning = True
        return outputs

    def prepare(self, ctx: TaskContext, work: Path) -> Launch:
        launch = Launch()
        dbt = find_dbt()
        if dbt is not None:
            launch.path.append(str(dbt.parent))
        elif self.needs_dbt(ctx, work):
            raise TaskFailure(MISSING)
        where = self.program(ctx, work) or dbt or "installed by this task"
        ctx.info(f"dbt runs locally ({where}); `containerImage` and `taskRunner` are not used")
        user_env = ctx.get("env") or {}
        if "DBT_SEND_ANONYMOUS_USAGE_STATS" not in user_env:
            launch.env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"  # no tracking calls (and no waits offline)
        profiles = self.profiles_text(ctx)
        if profiles:
            folder = work / self.profile_folder
            target = folder / "profiles.yml"
            if target.exists():
                ctx.info("A 'profiles.yml' file already exists in the task working directory; it will be "
                         "overridden.")
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(profiles, encoding="utf-8")
            if "DBT_PROFILES_DIR" not in user_env:
                launch.env["DBT_PROFILES_DIR"] = str(folder.resolve())
        launch.env.update(PYTHONUNBUFFERED="true", PIP_ROOT_USER_ACTION="ignore")
        return launch

    def needs_dbt(self, ctx: TaskContext, work: Path) -> bool:
        """Whether the task runs the dbt found here (else it has none, or its own)."""
        return self.program(ctx, work) is None

    def program(self, ctx: TaskContext, work: Path) -> str | None:
        """A dbt program of the task's own; None: the one :func:`find_dbt` finds."""
        return None

    def profiles_text(self, ctx: TaskContext) -> str | None:
        return ctx.get("profiles") or None

    def project_dir(self, ctx: TaskContext, work: Path) -> Path:
        project = ctx.get("projectDir")
        return inside(work, str(project)) if project else work

    def _results(self, ctx: TaskContext, outputs: dict[str, Any], started: float) -> list[NodeResult]:
        """Keep manifest.json and run_results.json of this run as output files; show each node."""
        work = ctx.variables.get("workingDir")
        if work is None:  # the run stopped before it had a working directory
            return []
        target = self.project_dir(ctx, Path(work)) / "target"
        files = outputs.setdefault("outputFiles", {})
        fresh = {name: target / name for name in ("manifest.json", "run_results.json")
                 if (target / name).is_file() and (target / name).stat().st_mtime >= started - 1}
        if "manifest.json" in fresh:
            ctx.log("DEBUG", f"dbt manifest found at {fresh['manifest.json']}")
            self.store_manifest(ctx, fresh["manifest.json"])
        for name, path in fresh.items():
            files[name] = internal_storage.put_file(path, ctx.storage_dir, f"{ctx.run.id[:8]}-{name}")
        if "run_results.json" not in fresh or not ctx.get("parseRunResults"):
            return []
        try:
            nodes = read_run_results(fresh["run_results.json"])
        except (ValueError, OSError) as exc:
            ctx.log("WARN", f"cannot read dbt's run_results.json: {exc}")
            return []
        for node in nodes:
            ctx.add_child_run(node.child)
            ctx.run.own_metrics().extend(node.metrics)
        return nodes

    def store_manifest(self, ctx: TaskContext, manifest: Path) -> None:
        pass

    def _failure_message(self, ctx: TaskContext, message: str, nodes: list[NodeResult], reader: DbtLog) -> str:
        """The runner's "Command failed with code N", then what failed: the dbt nodes, else dbt's own
        last error; a note when ``dbt deps`` could not reach the network."""
        detail = failure_summary(nodes) or (reader.errors[-1].splitlines()[-1] if reader.errors else None)
        text = message
        if detail and message.startswith("Command failed"):
            text = f"{message.split(':', 1)[0]}: {detail}"
        errors = "\n".join(reader.errors)
        if any(word in errors for word in _CONNECTION_ERRORS) and self.runs_deps(ctx):
            text += f" ({OFFLINE_DEPS})"
        return text

    def runs_deps(self, ctx: TaskContext) -> bool:
        return False


class DbtCLI(_DbtTask):
    """Run dbt commands (`dbt deps`, `dbt build`...) in the working directory, locally."""

    type = "io.kestra.plugin.dbt.cli.DbtCLI"
    properties: ClassVar[dict[str, Prop]] = {
        **DBT_PROPS,
        "commands": Prop("list", required=True, description=(
            "dbt command lines, run in order in one shell; a line starting with `dbt` gets `--project-dir` "
            "(when `projectDir` is set), `--log-format` and `--log-path logs` unless it has them.")),
        "logFormat": Prop("enum", default="JSON", choices=("JSON", "TEXT", "DEBUG", "NONE"), description=(
            "dbt's `--log-format`; JSON lines are logged at their own level. NONE: no option added.")),
        "storeManifest": Prop("map", description=(
            "{key, namespace}: after the run, keep target/manifest.json in the KV store.")),
        "loadManifest": Prop("map", description=(
            "{key, namespace}: before the run, write the manifest kept in the KV store to target/manifest.json "
            "(for `--state` and `--defer`).")),
        "engine": Prop("enum", default="CORE", choices=("CORE", "FUSION"), description=(
            "Accepted: picks Kestra's default container image; the local dbt-core is what runs.")),
    }
    example = """\
id: dbt_build
namespace: company.team

tasks:
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: clone
        type: io.kestra.plugin.git.Clone
        url: https://github.com/kestra-io/dbt-example
        branch: main
      - id: build
        type: io.kestra.plugin.dbt.cli.DbtCLI
        commands:
          - dbt build
        profiles: |
          my_dbt_project:
            outputs:
              dev:
                type: duckdb
                path: ":memory:"
            target: dev
"""

    def needs_dbt(self, ctx: TaskContext, work: Path) -> bool:
        return any(_is_dbt(str(line)) for line in ctx.get("commands") or [])

    def prepare(self, ctx: TaskContext, work: Path) -> Launch:
        launch = super().prepare(ctx, work)
        load = ctx.get("loadManifest")
        if load:
            value = ctx.kv(str(_kv_field(load, "namespace"))).get(str(_kv_field(load, "key")))
            if value is None or (isinstance(value, str) and not value.strip()):
                ctx.log("WARN", "Property `loadManifest` has been used but no manifest has been found in the "
                                "KV Store.")
            else:
                target = self.project_dir(ctx, work) / "target" / "manifest.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
        return launch

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        project, log_format = ctx.get("projectDir"), ctx.get("logFormat")
        lines = []
        for line in (localize(str(c)) for c in ctx.get("commands")):
            if _is_dbt(line):
                if project and "--project-dir" not in line:
                    line += f" --project-dir {shlex.quote(str(project))}"
                if log_format != "NONE" and "--log-format" not in line:
                    line += f" --log-format {str(log_format).lower()}"
                if "--log-path" not in line:
                    line += " --log-path logs"
            lines.append(line)
        return lines

    def store_manifest(self, ctx: TaskContext, manifest: Path) -> None:
        store = ctx.get("storeManifest")
        if store:
            ctx.kv(str(_kv_field(store, "namespace"))).set(str(_kv_field(store, "key")),
                                                           json.loads(manifest.read_text(encoding="utf-8")))

    def runs_deps(self, ctx: TaskContext) -> bool:
        return any(str(line).split()[:2] == ["dbt", "deps"] for line in ctx.get("commands") or [])


def _is_dbt(line: str) -> bool:
    return line.strip().split(" ", 1)[0] == "dbt"


def _kv_field(config: Any, name: str) -> Any:
    if not isinstance(config, dict) or not config.get(name):
        raise TaskFailure(f"storeManifest/loadManifest need `key` and `namespace` (missing `{name}`)")
    return config[name]


# -- the one-command tasks of Kestra before DbtCLI (deprecated there) --------------------------------------

RUN_PROPS: dict[str, Prop] = {
    **DBT_PROPS,
    "profiles": Prop("string", description="Content of a `profiles.yml`, written to `.profile/` in the working "
                                           "directory (`--profiles-dir`)."),
    "dbtPath": Prop("string", default="./bin/dbt", description=(
        "The dbt program; `./bin/dbt` (a Setup's) when it exists, else the dbt found here.")),
    "failFast": Prop("bool", default=False, description="`--fail-fast`: stop at the first failure."),
    "warnError": Prop("bool", default=False, description="`--warn-error`: warnings are errors."),
    "debug": Prop("bool", default=False, description="`--debug`: dbt's debug logging."),
    "thread": Prop("int", description="`--threads`: how many models run at once."),
    "fullRefresh": Prop("bool", default=False, description="`--full-refresh`: rebuild incremental models."),
    "target": Prop("string", description="`--target`: the profile's target."),
    "selector": Prop("string", description="`--selector`: a selector of selectors.yml."),
    "select": Prop("list", description="`--select`: the nodes to include."),
    "exclude": Prop("list", description="`--exclude`: the nodes to leave out."),
}


class _OneCommand(_DbtTask):
    """``dbt <command>`` with options from properties (Kestra's AbstractRun)."""

    dbt_command: ClassVar[str]
    properties: ClassVar[dict[str, Prop]] = RUN_PROPS
    profile_folder = ".profile"

    def program(self, ctx: TaskContext, work: Path) -> str | None:
        """``dbtPath`` when it is set or a Setup made ``./bin/dbt``; None: the dbt found here."""
        setup = any((work / "bin" / name).exists() for name in ("dbt", "dbt.exe"))
        return str(ctx.get("dbtPath")) if ctx.task.props.get("dbtPath") is not None or setup else None

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        words = [self.program(ctx, work) or "dbt", "--log-format", "json"]
        words += [flag for prop, flag in (("debug", "--debug"), ("failFast", "--fail-fast"),
                                          ("warnError", "--warn-error")) if ctx.get(prop)]
        words += [*self.dbt_command.split(), "--profiles-dir", str(work / self.profile_folder)]
        if ctx.get("thread") is not None:
            words += ["--threads", str(ctx.get("thread"))]
        if ctx.get("fullRefresh"):
            words.append("--full-refresh")
        for prop in ("target", "selector"):
            if ctx.get(prop):
                words += [f"--{prop}", str(ctx.get(prop))]
        for prop in ("select", "exclude"):
            if ctx.get(prop):
                words += [f"--{prop}", *(str(v) for v in ctx.get(prop))]
        words += ["--project-dir", str(self.project_dir(ctx, work))]
        return [" ".join(shlex.quote(word) for word in words)]

    def runs_deps(self, ctx: TaskContext) -> bool:
        return self.dbt_command == "deps"


class Build(_OneCommand):
    """`dbt build` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Build"
    dbt_command = "build"


class Run(_OneCommand):
    """`dbt run` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Run"
    dbt_command = "run"


class Test(_OneCommand):
    """`dbt test` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Test"
    dbt_command = "test"


class Compile(_OneCommand):
    """`dbt compile` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Compile"
    dbt_command = "compile"


class Deps(_OneCommand):
    """`dbt deps`: the project's packages (needs the network; deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Deps"
    dbt_command = "deps"


class Freshness(_OneCommand):
    """`dbt source freshness` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Freshness"
    dbt_command = "source freshness"


class List(_OneCommand):
    """`dbt list` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.List"
    dbt_command = "list"


class Seed(_OneCommand):
    """`dbt seed` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Seed"
    dbt_command = "seed"


class Snapshot(_OneCommand):
    """`dbt snapshot` (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Snapshot"
    dbt_command = "snapshot"


class Setup(_DbtTask):
    """Install dbt (`requirements`) and write the profile, for the one-command tasks after it in a
    WorkingDirectory (deprecated in Kestra: DbtCLI)."""

    type = "io.kestra.plugin.dbt.cli.Setup"
    properties: ClassVar[dict[str, Prop]] = {
        **COMMON_SCRIPT_PROPS,
        "profiles": Prop("any", required=True, description=(
            "The `profiles.yml` content, as text or as a map; written to `.profile/` in the working directory.")),
        "requirements": Prop("list", required=True, description=(
            "pip requirements (at least a dbt adapter, e.g. `dbt-duckdb`), installed once in a cached virtual "
            "environment whose dbt becomes `./bin/dbt` of the working directory.")),
        "pythonPath": Prop("string", default="python", description="Accepted; this kernel's Python makes the "
                                                                   "environment."),
        "exitOnFailed": Prop("bool", default=True, description="Deprecated; accepted."),
        "dockerOptions": Prop("map", dynamic=False, description="Deprecated; accepted and ignored."),
    }
    outputs = {"exitCode": "0 once dbt is installed.", "vars": "Always empty."}
    profile_folder = ".profile"

    def needs_dbt(self, ctx: TaskContext, work: Path) -> bool:
        return False

    def _results(self, ctx: TaskContext, outputs: dict[str, Any], started: float) -> list[NodeResult]:
        return []  # installing runs no dbt command

    def profiles_text(self, ctx: TaskContext) -> str | None:
        profiles = ctx.get("profiles")
        return profiles if isinstance(profiles, str) else yaml.safe_dump(profiles, sort_keys=False)

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        python = venvs.python_with(ctx, [str(r) for r in ctx.get("requirements")], work)
        dbt = python.parent / ("dbt.exe" if os.name == "nt" else "dbt")
        if not dbt.is_file():
            raise TaskFailure(f"the requirements {ctx.get('requirements')} installed no dbt program: add a dbt "
                              "adapter such as dbt-duckdb")
        link = work / "bin" / dbt.name
        link.parent.mkdir(exist_ok=True)
        link.unlink(missing_ok=True)
        try:
            link.symlink_to(dbt)
        except OSError:  # no symlinks (Windows without the privilege): the same launcher, copied
            shutil.copy2(dbt, link)
        ctx.info(f"dbt installed in {python.parent.parent}; ./bin/{dbt.name} runs it")
        return ["true"]
