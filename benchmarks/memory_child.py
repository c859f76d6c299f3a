"""Child process of scenarios (e) and (g): ``python memory_child.py engine|recorded|baseline N``.

Prints one JSON line: ``{"before": bytes, "peak": bytes, "seconds": s}`` -- the RSS just before
the work, the peak RSS of the process after it (None where unknown), and how long the work took
(``recorded``: until the execution is in the store).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from typing import Any


def peak_rss() -> int | None:
    """Peak resident set size in bytes: Linux's VmHWM (this process's own: ru_maxrss survives exec, so
    a child started from a large parent would report at least the parent's size), else ru_maxrss
    (KB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil
        except ImportError:
            return None
        return psutil.Process().memory_info().peak_wset
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss() -> int | None:
    """Resident set size now, in bytes: psutil, else /proc, else the peak so far."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss()


def run_engine(n: int, record: bool = False) -> Any:
    """A ForEach over ``n`` values with one Return inside, run through nb_orchestra (``record``: with
    the store recording, until the execution's rows are written)."""
    from scenarios import foreach_return_flow

    import nb_orchestra as nbo
    from nb_orchestra.store.recorder import flush

    nbo.configure(home=tempfile.mkdtemp(prefix="nbo-bench-"), record=record)
    nbo.run(foreach_return_flow(3))  # warm-up: lazy imports, template cache, the store's first use
    flush()
    flow = nbo.load_flow(foreach_return_flow(n))
    gc.collect()
    before = current_rss()
    began = time.perf_counter()
    ex = nbo.run(flow)
    flush()
    seconds = time.perf_counter() - began
    if ex.state != "SUCCESS" or len(ex.taskruns) != n + 1:
        raise SystemExit(f"unexpected execution: {ex.state}, {len(ex.taskruns)} task runs")
    return before, ex, seconds


def run_baseline(n: int) -> Any:
    """Plain Python: ``n`` dicts shaped like a finished task run (ids, dates, output, log)."""
    gc.collect()
    before = current_rss()
    began = time.perf_counter()
    rows = []
    for i in range(n):
        start = datetime.now(timezone.utc)
        rows.append({
            "id": uuid.uuid4().hex[:22], "taskId": "ret", "value": str(i), "state": "SUCCESS",
            "startDate": start, "endDate": datetime.now(timezone.utc),
            "attempts": [{"state": "SUCCESS", "startDate": start, "endDate": datetime.now(timezone.utc)}],
            "outputs": {"value": f"{i}-x"}, "log": f"Return: {i}-x",
        })
    return before, rows, time.perf_counter() - began


def main() -> None:
    kind, n = sys.argv[1], int(sys.argv[2])
    before, keep_alive, seconds = run_baseline(n) if kind == "baseline" else run_engine(n, record=kind == "recorded")
    print(json.dumps({"before": before, "peak": peak_rss(), "seconds": seconds}))
    del keep_alive


if __name__ == "__main__":
    main()
