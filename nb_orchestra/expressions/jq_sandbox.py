"""jq programs from templates, run where they can neither read the process nor hang it.

- jq reads the process environment (``$ENV``, ``env``), further inputs and module files: none of
  that is for templates (the environment holds store passwords and cloud credentials; ``envs``
  exposes only ENV_ variables). Those words are refused with a clear message; the program also
  runs wrapped so that forms the check cannot see (inside string interpolation) read nothing, and
  so that import/include directives, which must open a program, cannot appear.
- libjq cannot be interrupted from Python: ``def f: f; f`` would spin a thread forever. Programs
  run in one worker process, started on first use and replaced when a program takes longer than
  JQ_TIMEOUT or its task is stopped.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from nb_orchestra.errors import RenderStopped
from nb_orchestra.expressions.stopping import is_stopped

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

JQ_TIMEOUT = 5.0   # seconds one program may run
POLL = 0.05        # how often a waiting render looks whether its task was stopped

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_REFUSED = re.compile(r"\$ENV\b|\$__loc__|(?<![\w$.])(?:env|input|inputs|input_filename|import|include)\b")
_SANDBOX = ('def env: error("env is not available"); def input: error("input is not available"); '
            'def inputs: error("inputs is not available"); def input_filename: null; '
            '{{}} as $ENV | ({program})')


def run(program: str, text: str) -> list:
    """Every result of ``program`` on the JSON ``text``; ValueError with a clear message otherwise.

    While it waits, a stopped task (see stopping.py) replaces the worker and raises RenderStopped.
    """
    refused = _REFUSED.search(_STRING.sub('""', program))
    if refused:
        raise ValueError(f"'{refused.group()}' is not available in expressions (no environment, files or "
                         "further inputs)")
    return _worker.ask(_SANDBOX.format(program=program), text)


def _serve(connection: Connection) -> None:
    """The worker process: answer (program, text) with ("ok", results) or ("error", message)."""
    import jq

    while True:
        try:
            program, text = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", jq.compile(program).input_text(text).all()))
        except Exception as exc:  # noqa: BLE001 - every jq failure goes back as text
            connection.send(("error", str(exc)))


class _Worker:
    """One jq process for this interpreter, asked by one render at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Any = None
        self._connection: Connection | None = None

    def ask(self, program: str, text: str) -> list:
        with self._lock:
            connection = self._connection
            if connection is None or not self._alive():
                connection = self._start()
            connection.send((program, text))
            waited = 0.0
            while not connection.poll(POLL):
                waited += POLL
                if is_stopped():
                    self._stop()
                    raise RenderStopped()
                if waited >= JQ_TIMEOUT:
                    self._stop()
                    raise ValueError(f"the program took more than {JQ_TIMEOUT:g} s (does it loop forever?)")
            kind, answer = connection.recv()
        if kind == "error":
            raise ValueError(answer)
        return answer

    def _alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _start(self) -> Connection:
        try:
            import jq  # noqa: F401 - only to say what is missing before starting a process
        except ImportError:
            raise ValueError("the jq package is not installed; pip install 'nb-orchestra[jq]'") from None
        import multiprocessing  # with its first program: most flows never use jq
        ours, theirs = multiprocessing.Pipe()
        # spawn: a fork of a multi-threaded kernel could inherit a lock held by another thread
        process = multiprocessing.get_context("spawn").Process(target=_serve, args=(theirs,), daemon=True,
                                                                name="nbo-jq")
        process.start()
        theirs.close()
        self._process, self._connection = process, ours
        return ours

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None


_worker = _Worker()
