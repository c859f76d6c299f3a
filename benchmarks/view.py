"""What the live tree costs the notebook: bytes of HTML per redraw and redraws, by loop size.

Run from the repository root: ``python benchmarks/view.py [--sizes 10,1000,10000]``. Each size runs
a ForEach of that many values (two at a time, each a Sleep sized so that every run takes about
the same time), redrawn as the notebook does (``notebook.live``: at most every REFRESH_SECONDS,
from the engine's tick). Prints, per size, the redraws while it ran, their mean and largest HTML
(and text/plain) in bytes, the final picture's size, and the ratio of bytes per redraw to the
smallest size's. Target: bytes per redraw flat in the iteration count (ratio within 2x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nb_orchestra as nbo  # noqa: E402
from nb_orchestra import api  # noqa: E402
from nb_orchestra.notebook.live import DRAW_SHARE, Pace, bundle  # noqa: E402

FLOW = ("id: view\nnamespace: bench\ntasks:\n"
        "  - {{id: each, type: io.kestra.plugin.core.flow.ForEach, values: '{{{{ range(1, {size}) }}}}', "
        "concurrencyLimit: 2, tasks: [{{id: nap, type: io.kestra.plugin.core.flow.Sleep, "
        "duration: PT{seconds:.4f}S}}]}}")

TARGET_RATIO = 2.0


def measure(size: int, seconds: float) -> dict[str, float]:
    """Run a ForEach of ``size`` values, redrawn like LiveDisplay; the sizes of what it sent."""
    execution = api.create(nbo.load_flow(FLOW.format(size=size, seconds=2 * seconds / size)))
    html: list[int] = []
    text: list[int] = []
    pace = Pace()

    def tick() -> None:
        if pace.due():
            started = time.monotonic()
            drawn = bundle(execution)
            pace.drawn(started)
            html.append(len(drawn["text/html"].encode()))
            text.append(len(drawn["text/plain"].encode()))

    started = time.monotonic()
    final = api.start(execution, tick=tick)
    elapsed = time.monotonic() - started
    assert final.state == "SUCCESS" and len(final.taskruns) == size + 1, (final.state, len(final.taskruns))
    assert html, f"no redraw while {size} iterations ran for {elapsed:.1f}s"
    return {"size": size, "seconds": elapsed, "redraws": len(html), "per_second": len(html) / elapsed,
            "html_mean": statistics.mean(html), "html_max": max(html), "text_mean": statistics.mean(text),
            "final": len(bundle(final)["text/html"].encode())}


RETURN_FLOW = ("id: view\nnamespace: bench\ntasks:\n"
               "  - {{id: each, type: io.kestra.plugin.core.flow.ForEach, values: '{{{{ range(1, {size}) }}}}', "
               "tasks: [{{id: r, type: io.kestra.plugin.core.debug.Return, format: '{{{{ taskrun.value }}}}'}}]}}")


def draw_share(size: int) -> dict[str, float]:
    """A ForEach of ``size`` Return tasks with its live tree redrawn as a notebook does (LiveDisplay:
    on the engine's thread, paced): the share of the run's time spent drawing, and the redraws."""
    execution = api.create(nbo.load_flow(RETURN_FLOW.format(size=size)))
    pace, drawing, redraws = Pace(), 0.0, 0

    def tick() -> None:
        nonlocal drawing, redraws
        if pace.due():
            started = time.monotonic()
            bundle(execution)
            pace.drawn(started)
            drawing += time.monotonic() - started
            redraws += 1

    started = time.monotonic()
    final = api.start(execution, tick=tick)
    elapsed = time.monotonic() - started
    assert final.state == "SUCCESS" and len(final.taskruns) == size + 1, (final.state, len(final.taskruns))
    return {"share": drawing / elapsed, "redraws": redraws, "seconds": elapsed, "target": DRAW_SHARE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="loop sizes, comma-separated")
    parser.add_argument("--seconds", type=float, default=2.0, help="intended run time of each loop")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="nbo-bench-view-") as home:
        nbo.configure(home=home, record=False)
        rows = [measure(size, args.seconds) for size in sizes]
    base = rows[0]["html_mean"]
    print(f"{'iterations':>10} {'run s':>6} {'redraws':>7} {'/s':>4} {'HTML B/redraw':>13} {'max':>6} "
          f"{'text B':>6} {'final B':>7} {'ratio':>5}")
    for row in rows:
        print(f"{row['size']:>10,} {row['seconds']:>6.1f} {row['redraws']:>7} {row['per_second']:>4.1f} "
              f"{row['html_mean']:>13,.0f} {row['html_max']:>6,} {row['text_mean']:>6,.0f} {row['final']:>7,} "
              f"{row['html_mean'] / base:>5.2f}")
    worst = max(row["html_mean"] for row in rows) / base
    verdict = "OK" if worst <= TARGET_RATIO else "FAIL"
    print(f"bytes per redraw, largest over smallest loop: {worst:.2f}x (target <= {TARGET_RATIO:.0f}x): {verdict}")
    sys.exit(0 if verdict == "OK" else 1)


if __name__ == "__main__":
    main()
