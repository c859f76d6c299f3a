"""Backfill: one execution per cron tick of a Schedule trigger over a past period, as Kestra's UI does."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, datetime, timezone
from typing import Any

from .. import api
from ..engine.execution import Execution
from ..errors import InputError, UserError
from ..model.flow import Flow
from ..model.triggers import ScheduleTrigger, flow_variables

Progress = Callable[[int, int, Execution], None]
BACKFILL_LABELS = {"backfill": "true"}


def backfill(flow: str | os.PathLike[str] | Flow, start: datetime | date | str, end: datetime | date | str | None,
             trigger_id: str | None = None, inputs: Mapping[str, Any] | None = None,
             labels: Mapping[str, str] | None = None, concurrency: int = 1,
             on_progress: Progress | None = None) -> list[Execution]:
    """Run one execution per tick of a Schedule trigger in ``[start, end)`` (``end`` None: now), in tick order.

    ``trigger.date`` is the tick; the trigger's ``inputs`` apply, ``inputs`` given
    here override them; executions get the label ``backfill: true`` plus the
    trigger's and ``labels``. Naive datetimes are wall-clock time in the
    trigger's timezone. Up to ``concurrency`` ticks run at once (the flow's own
    ``concurrency`` still holds). A failed tick does not stop the others.
    ``on_progress(done, total, execution)`` replaces the printed progress.
    """
    if concurrency < 1:
        raise UserError("concurrency must be at least 1")
    flow = api.load_flow(flow)
    trigger = schedule_trigger(flow, trigger_id)
    stop = trigger.localize(_datetime(end)) if end is not None else datetime.now(timezone.utc)
    executions = _create(flow, trigger, list(trigger.ticks(_datetime(start), stop)), inputs, labels)
    report = on_progress or _printer(flow, trigger)
    finished = _run(executions, concurrency, report)
    if on_progress is None:
        print(summary(finished, f"backfill {flow.namespace}.{flow.id} {trigger.id}"))
    return finished


def schedule_trigger(flow: Flow, trigger_id: str | None = None) -> ScheduleTrigger:
    """The flow's Schedule trigger ``trigger_id`` (or its only one); UserError names the choices."""
    schedules = [trigger for trigger in flow.triggers if isinstance(trigger, ScheduleTrigger)]
    ids = ", ".join(trigger.id for trigger in schedules)
    name = f"{flow.namespace}.{flow.id}"
    if not schedules:
        raise UserError(f"flow {name} has no Schedule trigger to backfill")
    if trigger_id is None and len(schedules) > 1:
        raise UserError(f"flow {name} has several Schedule triggers ({ids}): pass trigger_id")
    chosen = [trigger for trigger in schedules if trigger_id in (None, trigger.id)]
    if not chosen:
        raise UserError(f"flow {name} has no Schedule trigger '{trigger_id}' (Schedule triggers: {ids})")
    trigger = chosen[0]
    if trigger.disabled:
        raise UserError(
            f"trigger '{trigger.id}' of flow {name} is disabled; Kestra does not backfill disabled triggers"
        )
    return trigger


def summary(executions: list[Execution], title: str = "backfill") -> str:
    """``title: 3 executions (2019-01-01T09:00:00+00:00 .. 2019-03-01T09:00:00+00:00): 3 SUCCESS``."""
    if not executions:
        return f"{title}: no tick in that period"
    counts = Counter(execution.state for execution in executions)
    dates = [execution.trigger["date"].isoformat() for execution in executions if execution.trigger]
    period = f" ({dates[0]} .. {dates[-1]})" if dates else ""
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{title}: {len(executions)} executions{period}: {states}"


def _datetime(value: datetime | date | str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"'{value}' is not a date or date-time such as 2019-01-01 or 2019-01-01T09:00") from None


def _create(flow: Flow, trigger: ScheduleTrigger, ticks: list[datetime], inputs: Mapping[str, Any] | None,
            labels: Mapping[str, str] | None) -> list[Execution]:
    """Every execution up front, so bad inputs fail before any tick runs (Kestra creates none then); the
    ticks the trigger's conditions refuse are left out."""
    created = []
    for tick in ticks:
        if not trigger.allows(tick, flow_variables(flow)):
            continue  # a tick the trigger's conditions refuse, as the scheduler skips it
        variables = trigger.variables(tick, flow_variables(flow))
        try:
            created.append(api.create(
                flow, trigger.render_inputs(flow, variables, inputs),
                labels={**BACKFILL_LABELS, **trigger.labels, **(labels or {})}, trigger=variables))
        except InputError as exc:
            raise InputError([f"tick {tick.isoformat()}: {problem}" for problem in exc.problems]) from None
    return created


def _run(executions: list[Execution], concurrency: int, report: Progress) -> list[Execution]:
    finished: list[Execution] = list(executions)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="nbo-backfill") as pool:
        futures = {pool.submit(api.start, execution): i for i, execution in enumerate(executions)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                finished[futures[future]] = future.result()
                report(done, len(executions), finished[futures[future]])
        except KeyboardInterrupt:  # stop the backfill: nothing more starts, running ticks are killed
            for future in futures:
                future.cancel()
            for execution in executions:
                execution.kill()
            raise
    return finished


def _printer(flow: Flow, trigger: ScheduleTrigger) -> Progress:
    def report(done: int, total: int, execution: Execution) -> None:
        tick = execution.trigger["date"].isoformat() if execution.trigger else "?"
        print(f"backfill {flow.namespace}.{flow.id} {trigger.id}: {done} of {total} ({tick} {execution.state})")

    return report
