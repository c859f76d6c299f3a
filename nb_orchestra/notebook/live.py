"""Live progress views of an execution, redrawn from its state a few times a second.

Every view ends as static HTML: each display owns a display id, and when what it shows has
ended, the display is replaced through that id by the final tree (text/html + text/plain, no
widget). Reloads, kernel restarts, nbconvert, GitHub and VS Code then show the final state. A
widget exists only while something runs (for its Kill button).

- LiveDisplay, for a flow run inside the cell: an HTML output updated through its display id
  from the kernel's main thread (the engine's tick).
- show_live, for a flow run in the background (``--background``): an ipywidgets HTML updated by
  one drawer thread, with a Kill button that works because the cell has returned.
- RunsView, the executions an input form started: a box of live widgets while any runs.
- show_schedule, a scheduled flow's triggers and runs: plain HTML redrawn through its display id.

Displays made in a cell may be updated later from any thread or widget callback: JupyterLab and
nbclient route an update by its display id to every output showing it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..views.html import execution_html
from ..views.text import execution_tree

if TYPE_CHECKING:
    from IPython.display import DisplayHandle

    from ..api import Execution, Flow

REFRESH_SECONDS = 0.2
# Drawing takes about this share of a run's time at most: a redraw costs time in proportion to the task runs
# drawn, and runs on the engine's thread (or competes with it), so a loop of a million iterations
# is redrawn less often rather than slowed down.
DRAW_SHARE = 0.1


class Pace:
    """When to redraw: every REFRESH_SECONDS, while the time spent drawing since the view began, the
    next redraw included (expected to cost what the last one did), stays within DRAW_SHARE of it."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.spent = 0.0  # seconds of drawing so far
        self.last = 0.0   # the last redraw's cost
        self.next = self.began + REFRESH_SECONDS

    def _allowed(self) -> float:
        """The moment both the refresh period and the drawing budget allow the next redraw."""
        return max(self.next, self.began + (self.spent + self.last) / DRAW_SHARE)

    def due(self) -> bool:
        return time.monotonic() >= self._allowed()

    def drawn(self, started: float) -> None:
        """A redraw that began at ``started`` (monotonic) has ended."""
        now = time.monotonic()
        self.last = now - started
        self.spent += self.last
        self.next = now + REFRESH_SECONDS

    def wait(self) -> float:
        """Seconds until the next redraw is due."""
        return max(0.0, self._allowed() - time.monotonic())


def bundle(execution: Execution) -> dict[str, str]:
    return {"text/html": execution_html(execution), "text/plain": execution_tree(execution)}


def _display(data: Any, raw: bool = False) -> DisplayHandle:
    from IPython.display import display

    handle = display(data, raw=raw, display_id=True)
    assert handle is not None  # display_id=True always returns a handle
    return handle


class LiveDisplay:
    """An HTML display of ``execution``, updated at most every REFRESH_SECONDS by ``tick()``.

    In a terminal (``live=False``) nothing is redrawn: the final tree is printed once.
    """

    def __init__(self, execution: Execution, live: bool = True):
        self.execution = execution
        self._pace = Pace()
        self._handle = _display(bundle(execution), raw=True) if live else None

    def tick(self) -> None:
        if self._handle is not None and self._pace.due():
            started = time.monotonic()
            self._handle.update(bundle(self.execution), raw=True)
            self._pace.drawn(started)

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


def _drawer(execution: Execution, redraw: Callable[[], None], ended: Callable[[], None]) -> Callable[[], None]:
    """What starts a thread calling ``redraw()`` every REFRESH_SECONDS (or less often: Pace) until
    ``execution`` ends, then ``ended()``. One drawer per execution, few messages per second: floods of
    updates get lost."""

    def draw() -> None:
        pace = Pace()
        while not execution.wait(pace.wait()):
            started = time.monotonic()
            redraw()
            pace.drawn(started)
        ended()

    return threading.Thread(target=draw, daemon=True, name=f"nbo-draw-{execution.id[:8]}").start


def live_widget(execution: Execution, ended: Callable[[], None]) -> tuple[Any, Callable[[], None]]:
    """A widget showing ``execution`` live, with a Kill button, and what starts its drawer thread
    (once the widget is shown): it redraws the widget until the execution ends, then calls ``ended()``."""
    import ipywidgets as widgets

    html = widgets.HTML(execution_html(execution))
    kill = widgets.Button(description="Kill", button_style="danger", icon="stop",
                          tooltip="Stop this execution: running task runs end KILLED")
    kill.add_class("nbo-kill")
    kill.on_click(lambda _: execution.kill())
    view = with_fallback(widgets.VBox, lambda: bundle(execution))([html, kill])
    view.add_class("nbo-live")

    def redraw() -> None:
        html.value = execution_html(execution)

    def last() -> None:
        redraw()
        kill.layout.display = "none"
        ended()

    return view, _drawer(execution, redraw, last)


def show_live(execution: Execution, interactive: bool) -> None:
    """Display ``execution`` live; when it ends, the display becomes its final tree.

    ``interactive``: a widget with a Kill button; else (nbclient, papermill) plain HTML redrawn
    through the display id, so no widget state ends up in the saved notebook.
    """
    from IPython import get_ipython

    if not interactive:
        handle = _display(bundle(execution), raw=True)

        def update() -> None:
            handle.update(bundle(execution), raw=True)

        live = getattr(get_ipython(), "kernel", None) is not None  # a terminal prints every update
        _drawer(execution, update if live else lambda: None, update)()
        return
    shown: list[DisplayHandle] = []

    def ended() -> None:
        shown[0].update(bundle(execution), raw=True)
        _close(view)  # after the update: the output no longer shows it

    view, start = live_widget(execution, ended)
    shown.append(_display(view))
    start()


class RunsView:
    """The executions started from one input form, newest first (with the errors that prevented
    one): a box of live widgets while any of them runs, their final trees as static HTML otherwise."""

    def __init__(self) -> None:
        self._entries: list[Execution | str] = []
        self._running: set[str] = set()
        self._box: Any = None
        self._lock = threading.Lock()
        self._handle = _display(self._static(), raw=True)

    def add(self, execution: Execution) -> None:
        """Show ``execution`` live at the top (call before starting it)."""
        import ipywidgets as widgets

        with self._lock:
            view, start = live_widget(execution, lambda: self._ended(execution))
            earlier = self._static()
            self._entries.insert(0, execution)
            self._running.add(execution.id)
            if self._box is None:
                self._box = widgets.VBox([view, widgets.HTML(earlier["text/html"])])
                self._box.add_class("nbo-runs")
                self._handle.update(self._box)
            else:
                self._box.children = (view, *self._box.children)
            start()

    def error(self, message: str) -> None:
        """Show why an Execute started nothing."""
        import ipywidgets as widgets

        with self._lock:
            self._entries.insert(0, message)
            if self._box is None:
                self._handle.update(self._static(), raw=True)
            else:
                self._box.children = (widgets.HTML(_error_html(message)), *self._box.children)

    def _ended(self, execution: Execution) -> None:
        with self._lock:
            self._running.discard(execution.id)
            if self._running or self._box is None:
                return
            self._handle.update(self._static(), raw=True)
            box, self._box = self._box, None
            _close(box)

    def _static(self) -> dict[str, str]:
        """Every entry as HTML and text, newest first."""
        html = "".join(_error_html(e) if isinstance(e, str) else execution_html(e) for e in self._entries)
        text = "\n\n".join(e if isinstance(e, str) else execution_tree(e) for e in self._entries)
        return {"text/html": f'<div class="nbo-runs">{html}</div>', "text/plain": text}


def _close(widget: Any) -> None:
    """Close ``widget`` and the widgets in it: their models leave the kernel and the front end."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _error_html(message: str) -> str:
    from html import escape

    return f"<pre>{escape(message)}</pre>"


def show_schedule(flow: Flow) -> None:
    """The scheduled runs of ``flow`` as they happen: its triggers' next fire times and the
    executions they started, redrawn every second through a display id (plain HTML, no widget)
    while this revision is the registered one."""
    from IPython import get_ipython

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

    def shown() -> dict[str, str]:
        html = "".join(table_html(headers, rows) for headers, rows in tables())
        text = "\n".join("  ".join(map(str, row)) for _, rows in tables() for row in rows)
        return {"text/html": f'<div class="nbo-schedule">{html}</div>', "text/plain": f"schedule of {name}:\n{text}"}

    last = shown()
    handle = _display(last, raw=True)
    if getattr(get_ipython(), "kernel", None) is None:
        return  # a terminal prints every update: the first picture is enough

    def draw() -> None:
        nonlocal last
        while any(f is flow for f in api.registered_flows()) and scheduler.running:
            time.sleep(1.0)
            now = shown()
            if now != last:  # no message when nothing changed
                last = now
                handle.update(now, raw=True)

    threading.Thread(target=draw, daemon=True, name=f"nbo-schedule-{flow.id}").start()
