"""Run the nb_orchestra benchmark suite: ``python benchmarks/run.py [--quick] [--json PATH]``.

Prints one table (median of N repeats, baseline median, ratio, target) and a
PASS/FAIL line per target. Exits 1 when a target is missed beyond its hard
limit (a ratio target of 5x missed but within 10x is a SOFT-FAIL: exit 0).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))          # harness, scenarios
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))   # nb_orchestra without an install

from harness import FAIL, INFO, REPO, Result, format_target, format_value, print_table  # noqa: E402
from scenarios import FULL, QUICK, SCENARIOS, Config  # noqa: E402
from serdes import serdes_rows  # noqa: E402  (f: CSV -> Ion peak memory, benchmarks/serdes.py)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (CI): fewer repeats, smaller sizes")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--repeats", type=int, help="timed repeats per scenario (default 5, --quick 3)")
    parser.add_argument("--only", default="".join(SCENARIOS) + "f", help="scenarios to run, e.g. 'ab' (default: all)")
    return parser.parse_args()


def verdict_line(result: Result) -> str:
    checked = format_value(result.measured, result.measured_unit)
    line = f"{result.status:<9} {result.scenario.strip()}: {checked}, target {format_target(result)}"
    return line + "".join(f"\n          {note}" for note in result.notes)


def git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
        return out.stdout.strip() + ("+dirty" if dirty.strip() else "") if out.returncode == 0 else None
    except OSError:
        return None


def main() -> int:
    args = parse_args()
    cfg: Config = QUICK if args.quick else FULL
    if args.repeats:
        cfg = dataclasses.replace(cfg, repeats=args.repeats)

    import nb_orchestra

    home = tempfile.TemporaryDirectory(prefix="nbo-bench-")  # removed when the process ends
    nb_orchestra.configure(home=home.name, record=False)  # engine rows in memory; store rows say so
    print(f"nb_orchestra benchmarks ({'quick' if args.quick else 'full'} mode): median of N timed repeats "
          f"(N={cfg.repeats}, {cfg.import_runs} runs for imports) after {cfg.warmup} warm-up; "
          f"Python {platform.python_version()} on {platform.system()}, {os.cpu_count()} CPUs\n")

    results: list[Result] = []
    started = time.perf_counter()
    for key in args.only:
        # f: 1M rows at most here (about 40 s); benchmarks/serdes.py alone goes on to 5M
        results += serdes_rows(args.quick, None if args.quick else (10_000, 1_000_000)) if key == "f" \
            else SCENARIOS[key](cfg)
    print_table(results)
    print(f"\n(total {time.perf_counter() - started:.1f} s)\n")

    checked = [r for r in results if r.status != INFO]
    for result in checked:
        print(verdict_line(result))

    if args.json:
        report = {"mode": "quick" if args.quick else "full", "config": dataclasses.asdict(cfg),
                  "python": platform.python_version(), "platform": platform.platform(),
                  "cpus": os.cpu_count(), "git": git_revision(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "results": [r.as_dict() for r in results]}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 1 if any(r.status == FAIL for r in checked) else 0


if __name__ == "__main__":
    sys.exit(main())
