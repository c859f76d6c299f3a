"""The live view's pace: drawing a big loop's tree costs time in proportion to its task runs, and the
redraw runs on the engine's thread, so a slow redraw makes the next one wait (DRAW_SHARE)."""

from __future__ import annotations

import time

import pytest

from nb_orchestra import api
from nb_orchestra.notebook import live

from .conftest import flow_text


def test_quick_redraws_come_every_refresh_and_slow_ones_keep_to_their_share(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: clock[0])
    pace = live.Pace()
    assert not pace.due() and pace.wait() == pytest.approx(live.REFRESH_SECONDS)
    clock[0] += live.REFRESH_SECONDS
    assert pace.due()
    pace.drawn(started=clock[0] - 0.001)  # a quick redraw: the next one a refresh later
    assert pace.wait() == pytest.approx(live.REFRESH_SECONDS)
    started = clock[0]
    clock[0] += 2.0  # a redraw of 2 s: the next (expected to cost as much) when 4 s are DRAW_SHARE of the time
    pace.drawn(started)
    assert pace.wait() == pytest.approx(100.0 + 4.001 / live.DRAW_SHARE - clock[0])
    clock[0] += pace.wait()
    assert pace.due()


class _Handle:
    def __init__(self) -> None:
        self.updates = 0

    def update(self, data: dict, raw: bool = False) -> None:
        self.updates += 1


def test_a_slow_tree_takes_a_bounded_share_of_the_run(monkeypatch):
    """Each redraw takes 0.06 s: redrawn every refresh period, the run would spend 30% of its time
    drawing; paced, about DRAW_SHARE of it, and it is still redrawn."""
    drawing = [0.0]

    def slow_bundle(execution: api.Execution) -> dict[str, str]:
        started = time.monotonic()
        time.sleep(0.06)
        drawing[0] += time.monotonic() - started
        return {"text/plain": execution.state}

    monkeypatch.setattr(live, "bundle", slow_bundle)
    execution = api.create(flow_text(
        "tasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: '{{ range(1, 40) }}'\n"
        "    tasks:\n      - id: nap\n        type: io.kestra.plugin.core.flow.Sleep\n        duration: PT0.05S\n"))
    view = live.LiveDisplay(execution, live=False)
    view._handle = handle = _Handle()
    started = time.monotonic()
    assert api.start(execution, tick=view.tick).state == "SUCCESS"
    elapsed = time.monotonic() - started
    assert handle.updates >= 2
    assert drawing[0] / elapsed < 0.2, (drawing[0], elapsed, handle.updates)
