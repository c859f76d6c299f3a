"""The shared base of script tasks and the local process runner.

A script task runs as one local process, whatever its ``taskRunner`` says
(Kestra's ``io.kestra.plugin.core.runner.Process``): the text is
``[set -e] + beforeCommands + commands`` joined by newlines, passed to the
interpreter (``/bin/sh -c`` by default). stdout and stderr are read live, by
one thread that waits on both pipes (so the lines keep the order the process
wrote them in: a print before an error stays before its traceback); each line
is handled by :class:`~.protocol.LineProtocol`. The process gets its own
process group so a kill or timeout stops it and its children.
"""

from __future__ import annotations

import codecs
import io
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from ..base import Prop, TaskCancelled, TaskContext, TaskFailure, TaskPlugin
from ..files import write_input_files
from . import files
from .protocol import LineProtocol

POLL = 0.1         # how often a waiting runner looks at ctx.cancel (seconds)
KILL_GRACE = 1.0   # SIGTERM, then SIGKILL after this long
DRAIN_GRACE = 1.0  # reading what a finished script wrote, before stopping what it left running
SHIM_DIR = Path(__file__).with_name("_shim")
DEFAULT_INTERPRETER = ["/bin/sh", "-c"]
DOCKER_RUNNER = "io.kestra.plugin.scripts.runner.docker.Docker"

COMMON_SCRIPT_PROPS: dict[str, Prop] = {
    "taskRunner": Prop("map", dynamic=False, description="Accepted; every script runs as a local process."),
    "containerImage": Prop("string", description="Accepted; only used by container runners."),
    "beforeCommands": Prop("list", description="Commands run first, in the same shell."),
    "env": Prop("map", description="Extra environment variables."),
    "interpreter": Prop("list", default=DEFAULT_INTERPRETER, description="Runs the joined command text."),
    "failFast": Prop("bool", default=True, description="Prepend 'set -e' (not on Windows)."),
    "warningOnStdErr": Prop("bool", default=True, description="Accepted; no effect since Kestra 0.23."),
    "inputFiles": Prop("map_or_string", description="File name -> text or kestra:// URI, written before the run."),
    "outputFiles": Prop("list", description="Globs of working-dir files to keep as outputFiles."),
    "namespaceFiles": Prop("map", description="{enabled, include, exclude, ifExists}: copy <home>/namespaces/<ns>/."),
    "targetOS": Prop("enum", default="AUTO", choices=("AUTO", "LINUX", "WINDOWS"),
                     description="Operating system the commands are written for (line endings, set -e)."),
    "outputDirectory": Prop("bool", default=False, description="Deprecated {{ outputDir }} folder."),
    "docker": Prop("map", dynamic=False, description="Deprecated; accepted and ignored."),
    "runner": Prop("enum", choices=("PROCESS", "DOCKER"), dynamic=False, description="Deprecated; accepted."),
}


@dataclass
class Launch:
    """What a script task adds to a run: environment, PATH entries, its Python
    interpreter, an argv that replaces the shell when nothing else runs, and the
    file an inline ``script`` was written to (named "the script" in tracebacks)."""

    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    python: str | None = None
    argv: list[str] | None = None
    script_file: str | None = None


class ScriptTask(TaskPlugin):
    """Common run of every script task; subclasses give the command lines."""

    outputs = {
        "exitCode": "Exit code of the process.",
        "vars": 'Values the script printed as ::{"outputs": ...}::.',
        "outputFiles": "outputFiles path -> kestra:// URI (when outputFiles is set).",
    }

    blocking = True
    properties: ClassVar[dict[str, Prop]] = COMMON_SCRIPT_PROPS

    def prepare(self, ctx: TaskContext, work: Path) -> Launch:
        """Set up the run (interpreters, environment) before anything is rendered."""
        return Launch()

    def commands(self, ctx: TaskContext, work: Path, localize: Callable[[str], str], launch: Launch) -> list[str]:
        """The rendered main command lines (kestra:// URIs already localized)."""
        raise NotImplementedError

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        work = ctx.working_dir
        ctx.variables["workingDir"] = str(work)
        output_dir = _output_dir(ctx, work)
        _note_runner(ctx)
        namespace = ctx.execution.namespace
        ns_config = ctx.get("namespaceFiles") or {}
        if ns_config and ns_config.get("enabled", True) not in (False, "false"):
            ctx.log("DEBUG", f"copied {files.copy_namespace_files(ns_config, work, namespace)} namespace file(s)")
        patterns = [str(p) for p in ctx.get("outputFiles") or []]
        plain = {p: f"{work}/{p}" for p in patterns if not any(c in p for c in "*?[")}
        if plain:
            ctx.variables["outputFiles"] = plain
        write_input_files(ctx.get("inputFiles") or {}, work, namespace)

        launch = self.prepare(ctx, work)
        localize = files.Localizer(work, namespace)
        commands = self.commands(ctx, work, localize, launch)
        before = [localize(str(c)) for c in ctx.get("beforeCommands") or []]
        direct = not before and ctx.task.props.get("interpreter") is None
        argv = launch.argv if direct and launch.argv is not None else self._shell_argv(ctx, before, commands)
        env = self._env(ctx, work, output_dir, launch)

        protocol = LineProtocol(ctx.log, work, launch.script_file, ctx.run.own_metrics())
        code = run_process(argv, work, env, ctx, protocol.accept)
        outputs: dict[str, Any] = {"exitCode": code, "vars": protocol.vars}
        if patterns or output_dir is not None:
            found = files.collect_output_files(patterns, work, ctx.storage_dir) if patterns else {}
            if output_dir is not None:
                found.update(files.collect_output_files(["**"], output_dir, ctx.storage_dir))
            outputs["outputFiles"] = found
        if code != 0:
            raise TaskFailure(failure_message(code, protocol.last_error), outputs)
        return outputs

    def _shell_argv(self, ctx: TaskContext, before: list[str], commands: list[str]) -> list[str]:
        windows = _windows_target(ctx)
        lines = [*(["set -e"] if ctx.get("failFast") and not windows else []), *before, *commands]
        interpreter = [str(x) for x in ctx.get("interpreter") or DEFAULT_INTERPRETER]
        return [*_resolve_shell(interpreter), ("\r\n" if ctx.get("targetOS") == "WINDOWS" else "\n").join(lines)]

    def _env(self, ctx: TaskContext, work: Path, output_dir: Path | None, launch: Launch) -> dict[str, str]:
        env = dict(os.environ)
        env.update({str(k): "" if v is None else str(v) for k, v in (ctx.get("env") or {}).items()})
        env.setdefault("PYTHONUNBUFFERED", "1")  # Python started by a shell line: prints stay before a traceback
        env.update(launch.env)
        if launch.path:
            env["PATH"] = os.pathsep.join([*launch.path, env.get("PATH", "")])
        env["WORKING_DIR"] = str(work)
        if output_dir is not None:
            env["OUTPUT_DIR"] = str(output_dir)
        # `import kestra` finds the shim first; it hands over to the real package wherever the
        # script's interpreter has one (_shim/kestra.py), so a venv, a Python started by a shell
        # line or the kernel's each get their own answer.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(SHIM_DIR)) if p)
        return env


def run_process(argv: list[str], cwd: Path, env: dict[str, str], ctx: TaskContext,
                on_line: Callable[[str, bool], None]) -> int:
    """Run ``argv``, feeding each stdout/stderr line to ``on_line(line, is_stderr)`` as it comes.

    Returns the exit code. When ``ctx.cancel`` is set (kill, timeout) the
    process group is stopped and TaskCancelled raised, within about POLL s.
    """
    group: dict[str, Any]
    if sys.platform == "win32":  # no sessions there: a new process group
        group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    else:
        group = {"start_new_session": True}
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **group)
    except OSError as exc:
        raise TaskFailure(f"cannot start '{argv[0]}': {exc.strerror or exc}") from None
    if sys.platform == "win32":  # no select() on pipes there: a thread per pipe
        readers = [threading.Thread(target=_pump, args=(stream, is_err, on_line), daemon=True)
                   for stream, is_err in ((proc.stdout, False), (proc.stderr, True))]
    else:
        readers = [threading.Thread(target=_pump_both, args=(proc.stdout, proc.stderr, on_line), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        while proc.poll() is None:
            if ctx.cancel.wait(POLL):
                raise TaskCancelled()
        # The task ends with its main process, as in Kestra. Its output is read to the end, unless a
        # process it left running in the background still holds the pipes: that one is stopped.
        drained_by = time.monotonic() + DRAIN_GRACE
        while any(r.is_alive() for r in readers) and time.monotonic() < drained_by:
            if ctx.cancel.wait(POLL):
                raise TaskCancelled()
        if any(r.is_alive() for r in readers):
            ctx.log("WARN", "stopped the processes the script left running in the background")
    finally:
        if proc.poll() is None or ctx.cancel.is_set() or any(r.is_alive() for r in readers):
            _stop_group(proc)
        for reader in readers:
            reader.join(timeout=KILL_GRACE)
    return proc.returncode


def _pump(stream: IO[bytes], is_err: bool, on_line: Callable[[str, bool], None]) -> None:
    # Universal newlines split on \n, \r\n and \r, like Java's readLine.
    with stream:
        for line in open(stream.fileno(), encoding="utf-8", errors="replace", newline=None, closefd=False):
            on_line(line.rstrip("\n"), is_err)


class _Lines:
    """UTF-8 bytes as they arrive -> whole lines, split on \\n, \\r\\n and \\r like Java's readLine."""

    def __init__(self) -> None:
        self._decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")("replace"), translate=True)
        self._rest = ""

    def feed(self, data: bytes, final: bool = False) -> list[str]:
        """The lines ``data`` completes; at the end (``final``) the last one without a line break too."""
        *lines, self._rest = (self._rest + self._decoder.decode(data, final=final)).split("\n")
        if final and self._rest:
            lines.append(self._rest)
        return lines


def _pump_both(stdout: IO[bytes], stderr: IO[bytes], on_line: Callable[[str, bool], None]) -> None:
    """Read both pipes on one thread, each chunk as soon as it arrives: the kernel says which pipe
    was written first, where two threads could log a print in the middle of the traceback after it."""
    with selectors.DefaultSelector() as selector, stdout, stderr:
        for stream, is_err in ((stdout, False), (stderr, True)):
            selector.register(stream, selectors.EVENT_READ, (is_err, _Lines()))
        while selector.get_map():
            for key, _events in selector.select():
                is_err, lines = key.data
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                for line in lines.feed(data, final=not data):
                    on_line(line, is_err)


def _stop_group(proc: subprocess.Popen) -> None:
    """Terminate the process group, then kill what is left after a short grace."""
    if os.name == "nt":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
    else:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            if sig == signal.SIGTERM:
                try:
                    proc.wait(KILL_GRACE)
                except subprocess.TimeoutExpired:
                    pass
    proc.wait()


def failure_message(code: int, last_error: str | None) -> str:
    """Kestra's "Command failed with code N", then what went wrong in one line: the last stderr line
    (``ZeroDivisionError: division by zero``; the whole traceback is in the logs, once), and a hint
    for exit 127."""
    message = f"Command failed with code {code}"
    if last_error:
        message += f": {last_error}"
    if code == 127:
        message += " (command not found: is the tool installed?)"
    return message


def _windows_target(ctx: TaskContext) -> bool:
    target = ctx.get("targetOS")
    return target == "WINDOWS" or (target == "AUTO" and os.name == "nt")


def _resolve_shell(interpreter: list[str]) -> list[str]:
    """The interpreter, with ``/bin/sh`` found on PATH where it does not exist (Windows)."""
    if interpreter[0] in ("/bin/sh", "sh") and not os.path.exists(interpreter[0]):
        found = shutil.which("sh")
        if found is None:
            raise TaskFailure("shell tasks need a POSIX shell (sh); install Git Bash/WSL")
        return [found, *interpreter[1:]]
    return interpreter


def _output_dir(ctx: TaskContext, work: Path) -> Path | None:
    """The deprecated output directory: every file in it becomes an output file."""
    if not ctx.get("outputDirectory"):
        return None
    path = work / uuid.uuid4().hex[:22]
    path.mkdir()
    ctx.variables["outputDir"] = str(path)
    return path


def _note_runner(ctx: TaskContext) -> None:
    runner = ctx.task.props.get("taskRunner") or {}
    if runner.get("type") == DOCKER_RUNNER or "containerImage" in ctx.task.props or "docker" in ctx.task.props:
        ctx.info("ran locally: Docker task runner not used")
