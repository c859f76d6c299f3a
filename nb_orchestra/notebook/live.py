"""Live progress views of an execution, redrawn from its state a few times a second.

Two shapes, one picture (views.html):
- LiveDisplay, for a flow run inside the cell: an HTML output updated through a
  display id from the kernel's main thread (the engine's tick), so the finished
  tree stays in the saved notebook and renders anywhere HTML does.
- LiveWidget, for a flow run in the background (``--background``, the form's
  Execute): an ipywidgets HTML updated by one drawer thread, with a Kill button
  that works because the cell has returned and the kernel is idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..views.html import execution_html
from ..views.text import execution_tree

if TYPE_CHECKING:
    from ..api import Execution, Flow

REFRESH_SECONDS = 0.2


def bundle(execution: Execution) -> dict[str, str]:
    return {"text/html": execution_html(execution), "text/plain": execution_tree(execution)}


class LiveDisplay:
    """An HTML display of ``execution``, updated at most every REFRESH_SECONDS by ``tick()``.

    In a terminal (``live=False``) nothing is redrawn: the final tree is printed once.
    """

    def __init__(self, execution: Execution, live: bool = True):
        from IPython.display import display

        self.execution = execution
        self._last = time.monotonic()
        self._handle = display(bundle(execution), raw=True, display_id=True) if live else None

    def tick(self) -> None:
        now = time.monotonic()
        if self._handle is not None and now - self._last >= REFRESH_SECONDS:
            self._last = now
            self._handle.update(bundle(self.execution), raw=True)

    def final(self, execution: Execution | None = None) -> None:
        from IPython.display import display

        self.execution = execution or self.execution
        if self._handle is not None:
            self._handle.update(bundle(self.execution), raw=True)
        else:
            display(bundle(self.execution), raw=True)


def with_fallback(widget_class: type, shown: Callable[[], dict[str, str]]) -> type:
    """``widget_class`` whose display also carries ``shown()`` as text/html and text/plain: what
    nbconvert, GitHub and terminals show where widgets cannot render."""

    class Shown(widget_class):
        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            data = super()._repr_mimebundle_(**kwargs)
            data.update(shown())
            return data

    return Shown


def live_widget(execution: Execution) -> Any:
    """A widget showing ``execution`` live, with a Kill button; starts its drawer thread."""
    import ipywidgets as widgets

    html = widgets.HTML(execution_html(execution))
    kill = widgets.Button(description="Kill", button_style="danger", icon="stop",
                          tooltip="Stop this execution: running task runs end KILLED")
    kill.add_class("nbo-kill")
    kill.on_click(lambda _: execution.kill())
    view = with_fallback(widgets.VBox, lambda: bundle(execution))([html, kill])
    view.add_class("nbo-live")

    def draw() -> None:
        # One drawer per execution, few messages per second: floods of widget updates get lost.
        while not execution.wait(REFRESH_SECONDS):
            html.value = execution_html(execution)
        html.value = execution_html(execution)
        kill.layout.display = "none"

    threading.Thread(target=draw, daemon=True, name=f"nbo-draw-{execution.id[:8]}").start()
    return view


def schedule_widget(flow: Flow) -> Any:
    """The scheduled runs of ``flow`` as they happen: its triggers' next fire times and the
    executions they started, redrawn every second while this revision is the registered one."""
    import ipywidgets as widgets

    from .. import api
    from ..triggers import start_scheduler
    from ..views.html import table_html

    scheduler = start_scheduler()
    name = f"{flow.namespace}.{flow.id}"

    def tables() -> list[tuple[list[str], list[tuple]]]:
        triggers = [(row.trigger_id, row.cron or "",
                     row.next_fire.isoformat(timespec="seconds") if row.next_fire else "",
                     "enabled" if row.enabled else "disabled")
                    for row in scheduler.rows() if row.flow == name]
        runs = [(ex.trigger["date"].isoformat(timespec="seconds"), ex.id, ex.state)
                for ex in reversed(api.recent_executions())
                if ex.flow is flow and ex.trigger and "date" in ex.trigger and "backfill" not in ex.labels][:10]
        return [(["trigger", "cron", "next fire", ""], triggers),
                *([(["scheduled run (trigger.date)", "execution", "state"], runs)] if runs else [])]

    def html() -> str:
        return "".join(table_html(headers, rows) for headers, rows in tables())

    def shown() -> dict[str, str]:
        text = "\n".join("  ".join(map(str, row)) for _, rows in tables() for row in rows)
        return {"text/html": html(), "text/plain": f"schedule of {name}:\n{text}"}

    view = with_fallback(widgets.HTML, shown)(html())
    view.add_class("nbo-schedule")

    def draw() -> None:
        while any(f is flow for f in api.registered_flows()) and scheduler.running:
            time.sleep(1.0)
            view.value = html()

    threading.Thread(target=draw, daemon=True, name=f"nbo-schedule-{flow.id}").start()
    return view
