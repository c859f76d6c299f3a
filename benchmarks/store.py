"""What recording executions into the store costs: a 10,000 task-run ForEach, with and without.

Run on its own from the repository root: ``python benchmarks/store.py [--repeats N] [--values N]
[--store postgresql://...]``. Prints the median wall time of ``nbo.run`` without recording, with
recording (run + ``flush()``, so the store's whole cost is billed), their ratio, and how many
write transactions one recorded run took.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nb_orchestra as nbo  # noqa: E402
from nb_orchestra.store import close_store, get_store, recorder  # noqa: E402

FLOW = """id: loop
namespace: bench
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ range(0, {last}) }}}}"
    tasks:
      - id: child
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}-x"
"""


def timed(flow: nbo.Flow, values: int, record: bool) -> float:
    """Seconds for one run (and, when recording, until it is on disk)."""
    if record:
        recorder.start_recording()
    else:
        recorder.stop_recording()
    gc.collect()
    start = time.perf_counter()
    ex = nbo.run(flow)
    if record:
        recorder.flush()
    elapsed = time.perf_counter() - start
    assert ex.state == "SUCCESS" and len(ex.taskruns) == values + 1, (ex.state, len(ex.taskruns))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--store", default=None, help="postgresql://... (default: SQLite under a temp home)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbo-bench-store-") as home:
        nbo.configure(home=home, store=args.store)
        flow = nbo.load_flow(FLOW.format(last=args.values - 1))
        store = get_store()
        timed(flow, args.values, record=True)  # warm-up: imports, schema, template cache
        timed(flow, args.values, record=False)
        plain, recorded, transactions = [], [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            plain.append(timed(flow, args.values, record=False))
            before = store.transactions
            recorded.append(timed(flow, args.values, record=True))
            transactions.append(store.transactions - before)
        recorder.stop_recording()
        close_store()
    base, with_store = statistics.median(plain), statistics.median(recorded)
    print(f"ForEach of {args.values:,} task runs, median of {args.repeats} ({store.url.split(':')[0]} store)")
    print(f"  in memory only      {base * 1000:8.0f} ms")
    print(f"  recorded + flushed  {with_store * 1000:8.0f} ms   ({statistics.median(transactions):.0f} transactions)")
    print(f"  ratio               {with_store / base:8.2f}x")


if __name__ == "__main__":
    main()
