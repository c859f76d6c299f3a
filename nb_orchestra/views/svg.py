"""The SVG kit of the pictures: state colours, fonts, escaping, measuring, text and documents.

Plain string building, no Graphviz: every text and attribute goes through
:func:`escape_text`/:func:`escape_attr`, so ids, case keys, loop values and messages are
escaped. Styles are inline attributes (no ``<style>``, no element ids), so the SVG can
be inlined in a notebook page without touching anything around it.
"""

from __future__ import annotations

import re

# Kestra's UI state colours (ui/src/utils/state.js). KILLED is a darker gold than
# Kestra's #FCE07C and SKIPPED a lighter grey, so that every bar stands out on white.
STATE_COLORS: dict[str, str] = {
    "CREATED": "#1761FD",
    "QUEUED": "#918BA9",
    "RUNNING": "#8405FF",
    "PAUSED": "#918BA9",
    "RETRYING": "#918BA9",
    "RETRIED": "#918BA9",
    "RESTARTED": "#1761FD",
    "SUCCESS": "#029E73",
    "WARNING": "#DD5F00",
    "FAILED": "#AB0009",
    "KILLED": "#C9A100",
    "CANCELLED": "#918BA9",
    "SKIPPED": "#C4C0D4",
}
UNKNOWN_COLOR = "#918BA9"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
INK = "#1f2430"
MUTED = "#6b7080"
PAPER = "#ffffff"
STRIPE = "#f5f6fa"
GRID = "#e3e5ec"
# Colours that follow JupyterLab's theme (dark included) where the SVG is inlined: an inline
# style with the theme variable, over the plain attribute that viewers without it use.
THEMED = {INK: "--jp-ui-font-color1", MUTED: "--jp-ui-font-color2", PAPER: "--jp-layout-color1",
          STRIPE: "--jp-layout-color2", GRID: "--jp-border-color2"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What xml.sax.saxutils.escape replaces, without importing it (it imports urllib.request and http.client).
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;"})


def escape_text(value: object) -> str:
    """Text content, escaped, without the control characters XML 1.0 forbids."""
    return _CONTROL.sub("", str(value)).translate(_TEXT_ESCAPES)


def escape_attr(value: object) -> str:
    """An attribute value for double quotes, escaped."""
    return _CONTROL.sub("", str(value)).translate(_ATTR_ESCAPES)


def text_width(text: str, size: float) -> float:
    """A generous estimate of the rendered width of ``text`` in a sans font."""
    return len(text) * size * 0.62


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg_document(width: float, height: float, title: str, body: list[str]) -> str:
    """A standalone SVG document with a title and the given elements, on the theme's background
    where the SVG is inlined in a page, and on white where it is an image (JupyterLab shows SVG
    outputs as ``<img>``: no page variable reaches them, and dark text needs a light card)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{escape_attr(FONT)}" role="img">'
            f'<title>{escape_text(title)}</title><rect width="100%" height="100%" {paint("fill", PAPER)}/>'
            + "".join(body) + "</svg>")


def paint(prop: str, color: str) -> str:
    """``fill="#1f2430"`` (or ``stroke``), plus the theme's variable when the colour follows the theme."""
    var = THEMED.get(color)
    return f'{prop}="{color}"' + (f' style="{prop}:var({var},{color})"' if var else "")


def text_at(x: float, y: float, text: str, size: float, fill: str = INK, extra: str = "") -> str:
    """A ``<text>`` element at (x, y); ``extra`` holds further attributes, already escaped."""
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" {paint("fill", fill)}{extra}>{escape_text(text)}</text>'
