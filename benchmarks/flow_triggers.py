"""What the Flow-trigger listener costs per ExecutionChanged event, with many registered flows.

Every execution of every flow publishes ExecutionChanged events on the engine's thread, and
the listener sees each of them. This registers ``--flows`` flows (200), each with a Flow
trigger on its own upstream flow (``ExecutionFlow`` condition, and ``ExecutionStatus in
[FAILED]`` so nothing fires and only the listener is timed), then feeds the listener a
RUNNING and a SUCCESS event of every upstream flow, ``--rounds`` times over.

Baseline, timed in the same run and interleaved: a plain loop over the same events doing
one dict look-up of (namespace, flow id) per event. Reported: the median over ``--repeats``
of µs per event, and its ratio to the baseline's.

    python benchmarks/flow_triggers.py                              # this checkout
    python benchmarks/flow_triggers.py --package-root /tmp/before   # another checkout, same script
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=200, help="registered flows, one Flow trigger each")
    parser.add_argument("--rounds", type=int, default=5, help="events per timed run: 2 x flows x rounds")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs; the median is reported")
    parser.add_argument("--package-root", type=Path, default=None,
                        help="import nb_orchestra from this checkout (e.g. /tmp/before) instead of this one")
    return parser.parse_args()


def downstream(i: int) -> str:
    """Flow ``down_i``: a Flow trigger on ``bench.up.up_i`` that fires only when it fails."""
    return f"""
id: down_{i}
namespace: bench.down
tasks:
  - {{id: log, type: io.kestra.plugin.core.log.Log, message: "after up_{i}"}}
triggers:
  - id: after_up
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - {{type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: bench.up, flowId: up_{i}}}
      - {{type: io.kestra.plugin.core.condition.ExecutionStatus, in: [FAILED]}}
"""


def upstream(i: int) -> str:
    """Flow ``up_i``, whose executions the events are about."""
    task = "{id: log, type: io.kestra.plugin.core.log.Log, message: x}"
    return f"id: up_{i}\nnamespace: bench.up\ntasks:\n  - {task}\n"


def listener_and_events(flows: int, rounds: int) -> tuple[Callable[[Any], None], list[Any], Any, list[int]]:
    """The armed listener, the events to feed it, the event class, and a list that counts fired triggers."""
    import nb_orchestra
    from nb_orchestra import config
    from nb_orchestra.engine.execution import Execution
    from nb_orchestra.triggers import FlowTriggerListener, flow_trigger

    ExecutionChanged = flow_trigger.events.ExecutionChanged  # the event module moved (engine/ -> records/)

    config.configure(home=tempfile.mkdtemp(prefix="nbo-bench-"), record=False)
    fired: list[int] = []
    listener = FlowTriggerListener(started=lambda key, execution: fired.append(1))
    for i in range(flows):
        flow = nb_orchestra.register_flow(downstream(i))
        if hasattr(listener, "arm"):  # the indexed listener is armed flow by flow; the old one reads the registry
            listener.arm(flow)
    executions = [Execution(nb_orchestra.load_flow(upstream(i)), {}, {}) for i in range(flows)]
    events = [ExecutionChanged(execution, state)
              for _ in range(rounds) for execution in executions for state in ("RUNNING", "SUCCESS")]
    return listener, events, ExecutionChanged, fired


def main() -> None:
    args = _arguments()
    if args.package_root is not None:
        sys.path.insert(0, str(args.package_root.resolve()))
    from harness import median, timed_pair

    import nb_orchestra

    listener, events, event_class, fired = listener_and_events(args.flows, args.rounds)
    root = Path(nb_orchestra.__file__).resolve().parent
    strays = sorted(name for name, module in list(sys.modules.items()) if name.startswith("nb_orchestra")
                    and module.__file__ and root not in Path(module.__file__).resolve().parents)
    if strays:  # an editable install can serve modules the other checkout lacks
        raise SystemExit(f"modules imported from outside {root}: {', '.join(strays)}")
    table = {("bench.up", f"up_{i}"): i for i in range(args.flows)}

    def subject() -> None:
        for event in events:
            listener(event)

    def baseline() -> None:
        for event in events:
            if type(event) is event_class:
                table.get((event.execution.namespace, event.execution.flow_id))

    subject_times, baseline_times = timed_pair(subject, baseline, repeats=args.repeats, warmup=1)
    if fired:
        raise SystemExit(f"the listener started {len(fired)} executions; the benchmark expects none")
    per_event = median(subject_times) / len(events) * 1e6
    per_event_baseline = median(baseline_times) / len(events) * 1e6
    print(f"nb_orchestra from {root.parent}")
    print(f"{args.flows} flows with a Flow trigger, {len(events)} ExecutionChanged events per run, "
          f"median of {args.repeats} runs")
    print(f"listener  {per_event:9.2f} µs/event")
    print(f"baseline  {per_event_baseline:9.3f} µs/event (a dict look-up per event)")
    print(f"ratio     {per_event / per_event_baseline:9.1f}x")


if __name__ == "__main__":
    main()
