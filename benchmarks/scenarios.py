"""The scenarios of the performance issues, one function each, and their flows.

Every scenario returns :class:`harness.Result` rows; the first row of each
carries the target, extra rows are for information only.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Result, median, run_python, timed_pair

LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"
FOREACH = "io.kestra.plugin.core.flow.ForEach"
SLEEP = "io.kestra.plugin.core.flow.Sleep"

LOG_TEMPLATE = "Hello {{ inputs.user }} {{ task.id }}"
RETURN_TEMPLATE = "{{ taskrun.value }}-x"
SLEEP_SECONDS = 0.2
MB = 2**20
MEMORY_CHILD = Path(__file__).with_name("memory_child.py")


@dataclass(frozen=True)
class Config:
    """Sizes and repeats of one run of the suite (full or ``--quick``)."""

    repeats: int = 5
    warmup: int = 1
    log_tasks: int = 1_000
    loop_values: int = 10_000
    sleeps: int = 16
    import_runs: int = 10
    memory_values: int = 100_000
    # (g): the loop whose time per iteration is the yardstick, and the big one
    scale_values: tuple[int, int] = (10_000, 1_000_000)


FULL = Config()
QUICK = Config(repeats=3, log_tasks=200, loop_values=2_000, import_runs=5, memory_values=20_000,
               scale_values=(2_000, 20_000))


# -- flows -------------------------------------------------------------------------------

def log_flow(n: int) -> str:
    """A flow of ``n`` Log tasks, each logging :data:`LOG_TEMPLATE`."""
    tasks = "".join(f"  - id: t{i}\n    type: {LOG}\n    message: {json.dumps(LOG_TEMPLATE)}\n" for i in range(n))
    return ("id: logs\nnamespace: bench\ninputs:\n  - id: user\n    type: STRING\n    defaults: world\n"
            f"tasks:\n{tasks}")


def foreach_flow(n: int, child: str, concurrency: int = 1) -> str:
    """A ForEach over ``range(0, n - 1)`` (n values, given as an expression) around one child task."""
    return (f"id: loop\nnamespace: bench\ntasks:\n  - id: each\n    type: {FOREACH}\n"
            f"    values: \"{{{{ range(0, {n - 1}) }}}}\"\n    concurrencyLimit: {concurrency}\n"
            f"    tasks:\n      - id: child\n{child}")


def foreach_return_flow(n: int) -> str:
    return foreach_flow(n, f"        type: {RETURN}\n        format: {json.dumps(RETURN_TEMPLATE)}\n")


def foreach_sleep_flow(n: int) -> str:
    return foreach_flow(n, f"        type: {SLEEP}\n        duration: PT{SLEEP_SECONDS}S\n", concurrency=0)


# -- helpers -----------------------------------------------------------------------------

def run_flow(flow: Any, expected_runs: int, inputs: dict[str, Any] | None = None) -> None:
    """Run a flow; a failed or short execution would make the timing meaningless."""
    import nb_orchestra as nbo

    ex = nbo.run(flow, inputs=inputs)
    if ex.state != "SUCCESS" or len(ex.taskruns) != expected_runs:
        raise RuntimeError(f"benchmark flow ended {ex.state} with {len(ex.taskruns)} task runs")


BASE_CONTEXT: dict[str, Any] = {
    "flow": {"id": "bench", "namespace": "bench", "revision": 1},
    "execution": {"id": "0123456789abcdef012345", "state": "RUNNING"},
    "inputs": {"user": "Ann"},
}


def plain_jinja(template: str, n: int, vary: Callable[[int], dict[str, Any]]) -> Callable[[], None]:
    """Baseline: compile ``template`` once with plain jinja2, render it ``n`` times."""
    import jinja2

    def render_all() -> None:
        compiled = jinja2.Environment().from_string(template)
        for i in range(n):
            compiled.render({**BASE_CONTEXT, **vary(i)})

    return render_all


def ratio_rows(name: str, subject: Callable[[], None], baseline: Callable[[], None], cfg: Config,
               extra: dict[str, Callable[[], None]] | None = None,
               recorded: Callable[[], None] | None = None) -> list[Result]:
    """Time ``subject`` against ``baseline``; the target is a ratio (5x, 10x at the very most).
    ``recorded``: the same run with the store recording, timed against ``subject`` itself (the
    history's cost: 1.5x at most is the target)."""
    s, b = timed_pair(subject, baseline, cfg.repeats, cfg.warmup)
    main = Result(name, cfg.repeats, median(s), median(b), "s", target=5.0, hard_limit=10.0)
    main.measured = main.ratio
    rows = [main]
    for label, fn in (extra or {}).items():
        s, b = timed_pair(fn, baseline, cfg.repeats, cfg.warmup)
        rows.append(Result(label, cfg.repeats, median(s), median(b), "s"))
    if recorded is not None:
        r, m = timed_pair(recorded, subject, cfg.repeats, cfg.warmup)
        row = Result(f"   {name[0]}: recorded (SQLite) / in memory", cfg.repeats, median(r), median(m), "s",
                     target=1.5, hard_limit=10.0, notes=["baseline column: the same run in memory"])
        row.measured = row.ratio
        rows.append(row)
    return rows


_texts = itertools.count()


def fresh_text(text: str) -> str:
    """``text`` made unique by a comment, so nbo.run parses it again (a cell that was edited)."""
    return f"{text}\n# edit {next(_texts)}\n"


def recorded(run: Callable[[], None]) -> Callable[[], None]:
    """``run`` with the execution store recording, until its rows are on disk (the engine rows run
    in memory: the store's cost is shown next to them, as the history issue asks)."""
    import nb_orchestra as nbo
    from nb_orchestra.store.recorder import flush

    def with_store() -> None:
        nbo.configure(record=True)
        try:
            run()
            flush()
        finally:
            nbo.configure(record=False)

    return with_store


# -- scenarios ---------------------------------------------------------------------------

def scenario_a(cfg: Config) -> list[Result]:
    """(a) ``nbo.run`` of a flow of n Log tasks vs plain jinja2 rendering the n messages."""
    import nb_orchestra as nbo

    n, text = cfg.log_tasks, log_flow(cfg.log_tasks)
    flow = nbo.load_flow(text)
    baseline = plain_jinja(LOG_TEMPLATE, n, lambda i: {"task": {"id": f"t{i}", "type": LOG}})
    return ratio_rows(
        f"a. {n:,} Log tasks, nbo.run(yaml)",
        lambda: run_flow(text, n, {"user": "Ann"}), baseline, cfg,
        extra={"   same, a new text each time (no parse cache)": lambda: run_flow(fresh_text(text), n, {"user": "Ann"}),
               "   same, Flow pre-loaded (no YAML parse)": lambda: run_flow(flow, n, {"user": "Ann"})},
        recorded=recorded(lambda: run_flow(text, n, {"user": "Ann"})))


def scenario_b(cfg: Config) -> list[Result]:
    """(b) ForEach over n values with a Return inside vs plain jinja2 rendering n times."""
    n, text = cfg.loop_values, foreach_return_flow(cfg.loop_values)
    baseline = plain_jinja(RETURN_TEMPLATE, n, lambda i: {"taskrun": {"value": str(i)}})
    return ratio_rows(f"b. ForEach {n:,} values x Return", lambda: run_flow(text, n + 1), baseline, cfg,
                      recorded=recorded(lambda: run_flow(text, n + 1)))


def scenario_c(cfg: Config) -> list[Result]:
    """(c) ForEach of n parallel Sleeps of 0.2 s vs the ideal 0.2 s (and a plain thread pool)."""
    import time

    n, text = cfg.sleeps, foreach_sleep_flow(cfg.sleeps)

    def thread_pool() -> None:
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(lambda _: time.sleep(SLEEP_SECONDS), range(n)))

    s, b = timed_pair(lambda: run_flow(text, n + 1), thread_pool, cfg.repeats, cfg.warmup)
    return [
        Result(f"c. ForEach {n} x Sleep {SLEEP_SECONDS}s, limit 0", cfg.repeats, median(s), SLEEP_SECONDS, "s",
               measured=median(s), measured_unit="s", target=0.3),
        Result(f"   ref: ThreadPoolExecutor {n} x sleep", cfg.repeats, median(b), SLEEP_SECONDS, "s"),
    ]


def scenario_d(cfg: Config) -> list[Result]:
    """(d) ``import nb_orchestra`` in a fresh process, minus a bare interpreter; the first result. Modules
    load compiled, as an installed package's do (the warm-up compiles them); an info row shows the first
    result when every start compiles them again (PYTHONDONTWRITEBYTECODE)."""
    runs = cfg.import_runs

    def pair(code: str, bytecode: bool = True) -> tuple[list[float], list[float]]:
        return timed_pair(lambda: run_python("-c", code, bytecode=bytecode),
                          lambda: run_python("-c", "pass", bytecode=bytecode), runs, cfg.warmup)

    rows = []
    for label, code, target in (("d. import nb_orchestra (fresh process)", "import nb_orchestra", 0.150),
                                ("   import nb_orchestra.api (first nbo.run)", "import nb_orchestra.api", None)):
        s, b = pair(code)
        rows.append(Result(label, runs, median(s), median(b), "s", measured=median(s) - median(b),
                           measured_unit="s", target=target))
    if rows[0].status != "PASS":
        rows[0].notes = import_offenders("import nb_orchestra")
    first, bare = pair(FIRST_RESULT)
    rows.append(Result("   first result: import, parse, run, record 1 task (fresh process, wall)", runs, median(first),
                       median(bare), "s", measured=median(first), measured_unit="s", target=0.2, hard_limit=2.0,
                       notes=["baseline column: a bare interpreter; the store is new (first-use setup included)"]))
    first, bare = pair(FIRST_RESULT, bytecode=False)
    rows.append(Result("   same, compiling every module at each start", runs, median(first), median(bare), "s"))
    return rows


# A fresh process's first result, the store's first use included (its own home each time).
FIRST_FLOW = f"id: first\nnamespace: bench\ntasks:\n  - id: hi\n    type: {RETURN}\n    format: hi\n"
FIRST_RESULT = f"""
import tempfile, nb_orchestra as nbo
from nb_orchestra.store.recorder import flush
nbo.configure(home=tempfile.mkdtemp(prefix="nbo-first-"), record=True)
nbo.run({json.dumps(FIRST_FLOW)})
flush()
"""


def import_offenders(code: str, top: int = 10) -> list[str]:
    """``python -X importtime``: the slowest modules (self time) that ``code`` adds to a bare start."""
    def times(source: str) -> dict[str, tuple[int, int]]:
        found = {}
        for line in run_python("-X", "importtime", "-c", source).stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if match:
                found[match[4]] = (int(match[1]), int(match[2]))
        return found

    bare = times("pass")
    added = {name: t for name, t in times(code).items() if name not in bare}
    ranked = sorted(added.items(), key=lambda item: item[1][0], reverse=True)[:top]
    return [f"{name}: self {us / 1e3:.1f} ms, cumulative {cum / 1e3:.1f} ms" for name, (us, cum) in ranked]


def memory_child(kind: str, n: int) -> dict[str, Any]:
    """One run of memory_child.py: RSS before, peak RSS, seconds of the work."""
    return json.loads(run_python(str(MEMORY_CHILD), kind, str(n)).stdout.splitlines()[-1])


def growth(kind: str, n: int, repeats: int) -> float | None:
    """Median peak RSS growth of ``repeats`` fresh processes doing ``kind`` over ``n`` values."""
    samples = []
    for _ in range(repeats):
        out = memory_child(kind, n)
        samples.append(None if None in (out["peak"], out["before"]) else out["peak"] - out["before"])
    return None if None in samples else median(samples)  # type: ignore[arg-type]


def scenario_e(cfg: Config) -> list[Result]:
    """(e) Peak RSS growth of a ForEach over n values (fresh process), in memory and recorded, vs n
    plain dicts; the target is 1 KB per task run (about 120 MB at 100,000), 400 MB at the very most."""
    n = cfg.memory_values
    scale = n / FULL.memory_values  # sizes scaled down in --quick mode
    plain = growth("baseline", n, cfg.repeats)
    return [Result(f"{label} peak RSS, ForEach {n:,} x Return{suffix}", cfg.repeats, measured, plain, "B",
                   measured=measured, measured_unit="B", target=120 * MB * scale, hard_limit=400 * MB * scale,
                   notes=[f"{measured / (n + 1):,.0f} bytes per task run ({n + 1:,} task runs, as many log lines)"]
                   if measured is not None else [])
            for label, suffix, measured in (("e.", "", growth("engine", n, cfg.repeats)),
                                            ("  ", ", recorded", growth("recorded", n, cfg.repeats)))]


def scenario_g(cfg: Config) -> list[Result]:
    """(g) Scale: a recorded ForEach of the big size against the small one (fresh processes): time per
    iteration within 1.5x, peak RSS within 1.2 GB at 1,000,000 (scaled in --quick mode)."""
    small, big = cfg.scale_values
    per_small = median([memory_child("recorded", small)["seconds"] / small for _ in range(cfg.repeats)])
    runs = [memory_child("recorded", big) for _ in range(max(1, cfg.repeats // 3))]
    per_big = median([run["seconds"] / big for run in runs])
    known = [run for run in runs if None not in (run["peak"], run["before"])]
    peak = median([run["peak"] - run["before"] for run in known]) if known == runs else None
    target = 1.2 * 1024 * MB * big / 1_000_000
    return [
        Result(f"g. recorded ForEach {big:,}: time per iteration / at {small:,}", len(runs), per_big, per_small, "s",
               measured=per_big / per_small, target=1.5, hard_limit=10.0),
        Result(f"   peak RSS growth, recorded ForEach {big:,}", len(runs), peak, None, "B", measured=peak,
               measured_unit="B", target=target, hard_limit=4 * target),
        _draw_row(max(big // 10, 20_000)),
    ]


def _draw_row(size: int) -> Result:
    """The live view of a big loop: the share of its run spent redrawing (paced to DRAW_SHARE)."""
    from view import draw_share

    drawn = draw_share(size)
    share = drawn["share"] if drawn["redraws"] else None  # a run too short to be redrawn says nothing
    return Result(f"   live view: share of a {size:,}-iteration run spent drawing ({drawn['redraws']} redraws)", 1,
                  share, None, "%", measured=share, measured_unit="%", target=1.5 * drawn["target"], hard_limit=0.5)


SCENARIOS: dict[str, Callable[[Config], list[Result]]] = {
    "a": scenario_a, "b": scenario_b, "c": scenario_c, "d": scenario_d, "e": scenario_e, "g": scenario_g,
}
