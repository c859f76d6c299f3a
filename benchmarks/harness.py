"""Shared helpers: timing with warm-ups and medians, fresh-interpreter runs, result rows.

Timing rules (the machines are shared and noisy): ``time.perf_counter``, untimed
warm-up runs first, subject and baseline interleaved so both see the same load,
a ``gc.collect()`` *between* timed runs (gc stays enabled while timing), and the
median of the repeats is what gets compared.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

PASS, SOFT_FAIL, FAIL, INFO, NA = "PASS", "SOFT-FAIL", "FAIL", "info", "n/a"


@dataclass
class Result:
    """One row of the table: medians, and the value checked against the target.

    ``unit`` is the unit of ``median``/``baseline`` ("s", "B", or "%" for a share); ``measured`` is
    in ``measured_unit`` ("x" for a ratio, else "s", "B" or "%"). ``target`` is the
    goal; ``hard_limit``, when set, is the "at the very most" bound.
    """

    scenario: str
    repeats: int
    median: float | None
    baseline: float | None
    unit: str
    measured: float | None = None
    measured_unit: str = "x"
    target: float | None = None
    hard_limit: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.baseline:
            return None
        return self.median / self.baseline

    @property
    def status(self) -> str:
        if self.target is None:
            return INFO
        if self.measured is None:
            return NA
        if self.measured <= self.target:
            return PASS
        if self.hard_limit is not None and self.measured <= self.hard_limit:
            return SOFT_FAIL
        return FAIL

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ratio": self.ratio, "status": self.status}


def time_once(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (garbage of earlier runs collected first, untimed)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_pair(subject: Callable[[], object], baseline: Callable[[], object],
               repeats: int, warmup: int) -> tuple[list[float], list[float]]:
    """Samples of ``subject`` and ``baseline``, interleaved, after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        subject()
        baseline()
    subject_times: list[float] = []
    baseline_times: list[float] = []
    for _ in range(repeats):
        subject_times.append(time_once(subject))
        baseline_times.append(time_once(baseline))
    return subject_times, baseline_times


def median(samples: list[float]) -> float:
    return statistics.median(samples)


@functools.cache
def _pycache() -> str:
    """Where the children that start with bytecode keep it (``run_python(bytecode=True)``): made on
    first use, removed at exit."""
    folder = tempfile.TemporaryDirectory(prefix="nbo-bench-pycache-")
    atexit.register(folder.cleanup)
    return folder.name


def child_env(bytecode: bool = False) -> dict[str, str]:
    """Environment for child interpreters: the repo importable even without an editable install.
    ``bytecode``: modules are compiled once and then loaded compiled, as an installed package is (pip
    compiles it at install time), even where PYTHONDONTWRITEBYTECODE is set; the cache is ours."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = _pycache()
    return env


def run_python(*args: str, bytecode: bool = False) -> subprocess.CompletedProcess:
    """Run this interpreter in a fresh process (``python *args``); raise if it fails."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=child_env(bytecode), cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"`python {' '.join(args)}` failed:\n{proc.stderr}")
    return proc


def format_value(value: float | None, unit: str) -> str:
    """Human units: 12.3 ms / 1.23 s, 45.6 MB, 4.2x, 8.5%."""
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "B":
        return f"{value / 2**20:.1f} MB"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if abs(value) < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.3f} s"


def format_target(result: Result) -> str:
    if result.target is None:
        return "-"
    text = f"<= {format_value(result.target, result.measured_unit)}"
    if result.hard_limit is not None:
        text += f" (max {format_value(result.hard_limit, result.measured_unit)})"
    return re.sub(r"\.0+(?=[^\d]|$)", "", text)  # "5.00x" -> "5x", "300.0 ms" -> "300 ms"


def print_table(results: list[Result]) -> None:
    """The results as an aligned text table."""
    header = ("scenario", "N", "median", "baseline", "ratio", "checked", "target", "status")
    rows = [(r.scenario, str(r.repeats), format_value(r.median, r.unit), format_value(r.baseline, r.unit),
             format_value(r.ratio, "x"), format_value(r.measured, r.measured_unit) if r.target else "-",
             format_target(r), r.status) for r in results]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
