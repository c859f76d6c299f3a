"""Process-wide settings: where files go, how many worker threads run task bodies."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_workers() -> int:
    return max(32, 8 * (os.cpu_count() or 1))


@dataclass
class Settings:
    home: Path = field(default_factory=lambda: Path(os.environ.get("NB_ORCHESTRA_HOME", ".nb_orchestra")))
    store: str | None = field(default_factory=lambda: os.environ.get("NB_ORCHESTRA_STORE"))
    workers: int = field(default_factory=_default_workers)
    # Keep every execution in the store (history, restart from a new kernel); off: in memory only.
    record: bool = field(default_factory=lambda: os.environ.get("NB_ORCHESTRA_RECORD", "1") != "0")

    def execution_dir(self, namespace: str, flow_id: str, execution_id: str) -> Path:
        """The folder of one execution's files (Kestra's internal storage layout)."""
        return self.home / "storage" / Path(*namespace.split(".")) / flow_id / "executions" / execution_id


settings = Settings()


def configure(home: str | os.PathLike | None = None, store: str | None = None, workers: int | None = None,
              record: bool | None = None) -> Settings:
    """Set where executions keep their files (``home``) and the worker-thread pool size.

    ``store`` names the execution store ("postgresql://..."); None keeps the default.
    ``record=False`` keeps executions in memory only (no history); True records them again.
    """
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
        if not record:
            from .store.recorder import stop_recording

            stop_recording()  # writes what is pending first
    return settings
