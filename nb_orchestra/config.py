"""Process-wide settings: where files go, how many worker threads run task bodies; a context (a flow
test case) may run with its own (:func:`scoped`)."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .secrets import redact_url

# How many flow test cases run at once unless told.
DEFAULT_TEST_PARALLEL = 4


def _default_workers() -> int:
    return max(32, 8 * (os.cpu_count() or 1))


@dataclass
class Settings:
    home: Path = field(default_factory=lambda: Path(os.environ.get("NB_ORCHESTRA_HOME", ".nb_orchestra")))
    store: str | None = field(default_factory=lambda: os.environ.get("NB_ORCHESTRA_STORE"))
    workers: int = field(default_factory=_default_workers)
    # How deep subflows may nest (A runs B runs C...): a flow that calls itself stops here.
    max_subflow_depth: int = 10
    # Keep every execution in the store (history, restart from a new kernel); off: in memory only.
    record: bool = field(default_factory=lambda: os.environ.get("NB_ORCHESTRA_RECORD", "1") != "0")

    def __repr__(self) -> str:
        store = redact_url(self.store) if self.store else None
        return (f"Settings(home={str(self.home)!r}, store={store!r}, workers={self.workers}, "
                f"max_subflow_depth={self.max_subflow_depth}, record={self.record})")

    def execution_dir(self, namespace: str, flow_id: str, execution_id: str) -> Path:
        """The folder of one execution's files (Kestra's internal storage layout)."""
        return self.home / "storage" / Path(*namespace.split(".")) / flow_id / "executions" / execution_id


class _Field:
    """One setting: read from the settings in effect, written to the process's (a data descriptor,
    so ``monkeypatch.setattr(settings, "home", ...)`` saves and restores it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return getattr(current(), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(_process, self.name, value)


class _Current:
    """The settings in effect: those of the enclosing :func:`scoped` block (a flow test case, on its
    threads), else the process's. Writes always go to the process's settings."""

    def __getattr__(self, name: str) -> Any:  # the methods of Settings
        return getattr(current(), name)

    def __repr__(self) -> str:
        return repr(current())


for _name in (f.name for f in dataclasses.fields(Settings)):
    setattr(_Current, _name, _Field(_name))

_process = Settings()
_scope: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("nb_orchestra_settings", default=None)
settings = cast(Settings, _Current())


def current() -> Settings:
    """The Settings object in effect here (see :func:`scoped`)."""
    return _scope.get() or _process


@contextlib.contextmanager
def scoped(**changes: Any) -> Iterator[Settings]:
    """Settings changed for the code of this context only (and the engine threads it starts): a flow
    test case runs with its own home, no store URL and no recording while the kernel goes on as before."""
    token = _scope.set(dataclasses.replace(current(), **changes))
    try:
        yield cast(Settings, _scope.get())
    finally:
        _scope.reset(token)


def configure(home: str | os.PathLike | None = None, store: str | None = None, workers: int | None = None,
              record: bool | None = None, max_subflow_depth: int | None = None) -> Settings:
    """Change the settings (``nb_orchestra.configure`` also starts and stops the store's recorder)."""
    if home is not None:
        settings.home = Path(home)
    if store is not None:
        settings.store = store
    if workers is not None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        settings.workers = workers
    if record is not None:
        settings.record = record
    if max_subflow_depth is not None:
        if max_subflow_depth < 1:
            raise ValueError("max_subflow_depth must be at least 1")
        settings.max_subflow_depth = max_subflow_depth
    return settings
