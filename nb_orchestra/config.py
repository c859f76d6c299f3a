"""Process-wide settings: where files go, how many worker threads run task bodies."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .secrets import redact_url


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


settings = Settings()


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
