"""The IPython/Jupyter front end: ``%load_ext nb_orchestra`` registers ``%%flow`` and ``%flow``."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics once per shell; loading again (or %reload_ext) is harmless."""
    from ..triggers import start_scheduler
    from . import completion
    from .magics import FlowMagics

    if getattr(ipython, "_nb_orchestra_magics", None) is None:
        magics = FlowMagics(ipython)
        ipython.register_magics(magics)
        ipython.configurables.append(magics)  # %config FlowMagics.store = "postgresql://..."
        ipython._nb_orchestra_magics = magics
        completion.install(ipython, magics.line_parser, magics.cell_parser)  # Tab and Shift+Tab in cells
    start_scheduler()  # schedules of registered flows fire in the background from now on


def unload_ipython_extension(ipython: Any) -> None:
    """Keep the magics registered (cells that use them stay runnable after %reload_ext); the
    scheduler goes on too, and stops cleanly when the kernel exits."""
