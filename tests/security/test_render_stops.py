"""A long render honours its task's timeout and the Kill of its execution: the thread rendering it
stops, instead of burning a core until the template ends."""

from __future__ import annotations

import threading
import time

import nb_orchestra

ENDLESS = "{% for i in range(0, 999999) %}{% for j in range(0, 999999) %}{{ j }}{% endfor %}{% endfor %}"


def flow(extra: str = "") -> str:
    return ("id: endless\nnamespace: security\ntasks:\n  - id: long\n    type: io.kestra.plugin.core.log.Log\n"
            f"    message: \"{ENDLESS}\"\n{extra}")


def wait_for_threads(count: int, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while threading.active_count() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


def test_a_task_timeout_stops_a_long_render():
    before = threading.active_count()
    started = time.monotonic()
    ex = nb_orchestra.run(flow("    timeout: PT1S\n"))
    assert time.monotonic() - started < 10
    assert ex.state == "FAILED" and "Timeout" in ex.taskrun("long").message
    assert wait_for_threads(before + 1) <= before + 1  # the worker is free again, not rendering


def test_kill_stops_a_long_render_on_the_coordinator():
    ex = nb_orchestra.api.create(flow())
    threading.Timer(0.5, ex.kill).start()
    started = time.monotonic()
    nb_orchestra.api.start(ex)
    assert time.monotonic() - started < 10
    assert ex.state == "KILLED" and ex.taskrun("long").state == "KILLED"
