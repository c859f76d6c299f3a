"""Peak memory of CSV -> Ion (io.kestra.plugin.serdes.csv.CsvToIon) as the file grows.

    python benchmarks/serdes.py            # 10,000, 1,000,000 and 5,000,000 rows
    python benchmarks/serdes.py --quick    # 10,000 and 100,000 rows (also run by run.py --quick)
    python benchmarks/serdes.py --sizes 10000,2000000

For each size a CSV file is written once (six columns, some quoted fields), then converted in
a fresh process by ``nb_orchestra.run`` of a one-task flow, and read in another fresh process
by the baseline: a plain ``csv.reader`` loop over the same file. Each process reports its own
peak RSS (VmHWM: memory_child.peak_rss) and the time of the work. The conversion streams, so its peak should
be flat in the row count: the checked value is the peak at the largest size over the peak at
the smallest (target 1.25x, 1.5x at the very most).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))          # harness, memory_child
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))   # nb_orchestra without an install

from harness import Result, format_target, format_value, print_table, run_python  # noqa: E402
from memory_child import peak_rss  # noqa: E402

FULL_SIZES = (10_000, 1_000_000, 5_000_000)
QUICK_SIZES = (10_000, 100_000)
TARGET, HARD_LIMIT = 1.25, 1.5
FLOW = """id: csv_to_ion
namespace: bench
tasks:
  - id: convert
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{uri}"
"""


def write_csv(path: Path, rows: int) -> None:
    """``rows`` rows of six columns (ids, text, a quoted field with a comma, numbers, dates, nulls)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("id,name,city,amount,day,note\n")
        for i in range(rows):
            note = "\\N" if i % 10 == 0 else f"note {i % 977}"
            out.write(f'{i},customer_{i % 5003},"Paris, {i % 20:02d}",{i % 1000}.{i % 100:02d},'
                      f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},{note}\n")


# -- the measured processes --------------------------------------------------------------------

def child(kind: str, home: str, csv_path: str, rows: int) -> None:
    """In a fresh process: the conversion (``engine``) or the csv.reader loop (``baseline``)."""
    if kind == "engine":
        import nb_orchestra as nbo
        from nb_orchestra import internal_storage

        nbo.configure(home=home, record=False)
        flow = nbo.load_flow(FLOW.format(uri=internal_storage.to_uri(Path(csv_path))))
        started = time.perf_counter()
        ex = nbo.run(flow)
        seconds = time.perf_counter() - started
        if ex.state != "SUCCESS" or ex.outputs["convert"]["size"] != rows:
            raise SystemExit(f"unexpected execution: {ex.state} {ex.outputs} {ex.logs}")
    else:
        import csv

        started = time.perf_counter()
        with open(csv_path, encoding="utf-8", newline="") as source:
            count = sum(1 for _ in csv.reader(source)) - 1
        seconds = time.perf_counter() - started
        if count != rows:
            raise SystemExit(f"read {count} rows, expected {rows}")
    print(json.dumps({"peak": peak_rss(), "seconds": seconds}))


def measure(kind: str, home: Path, csv_path: Path, rows: int) -> dict[str, float]:
    out = run_python(str(Path(__file__).resolve()), "--child", kind, str(home), str(csv_path), str(rows))
    return json.loads(out.stdout.splitlines()[-1])


# -- the table -----------------------------------------------------------------------------------

def serdes_rows(quick: bool = False, sizes: tuple[int, ...] | None = None) -> list[Result]:
    """Rows for the table of run.py (scenario f): the flatness check first, then one row per size."""
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    peaks: dict[int, float | None] = {}
    rows: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="nbo-bench-serdes-") as tmp:
        home = Path(tmp) / "home"
        for n in sizes:
            csv_path = home / "storage" / "bench" / f"rows_{n}.csv"
            write_csv(csv_path, n)
            engine = measure("engine", home, csv_path, n)
            baseline = measure("baseline", home, csv_path, n)
            csv_path.unlink()
            shutil.rmtree(home / "storage" / "bench" / "csv_to_ion", ignore_errors=True)  # the Ion output
            peaks[n] = engine["peak"]
            rows.append(Result(f"f. CSV->Ion {n:,} rows: peak RSS", 1, engine["peak"], baseline["peak"], "B"))
            rows.append(Result(f"   CSV->Ion {n:,} rows: time", 1, engine["seconds"], baseline["seconds"], "s"))
    smallest, largest = peaks[sizes[0]], peaks[sizes[-1]]
    growth = largest / smallest if smallest and largest else None
    check = Result(f"f. CSV->Ion peak RSS, {sizes[-1]:,} / {sizes[0]:,} rows", 1, largest, smallest, "B",
                   measured=growth, measured_unit="x", target=TARGET, hard_limit=HARD_LIMIT,
                   notes=["baseline column: the smallest size; per-size rows compare with csv.reader"])
    return [check, *rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 rows")
    parser.add_argument("--sizes", help="comma-separated row counts, smallest first")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "HOME", "CSV", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, home, csv_path, rows = args.child
        child(kind, home, csv_path, int(rows))
        return 0
    sizes = tuple(int(size) for size in args.sizes.split(",")) if args.sizes else (
        QUICK_SIZES if args.quick else FULL_SIZES)
    results = serdes_rows(args.quick, sizes)
    print("CSV -> Ion (CsvToIon) in a fresh process vs csv.reader over the same file (baseline)\n")
    print_table(results)
    check = results[0]
    print(f"\n{check.status}: peak RSS at {sizes[-1]:,} rows is {format_value(check.measured, 'x')} the peak at "
          f"{sizes[0]:,} rows, target {format_target(check)}")
    return 1 if check.status == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
