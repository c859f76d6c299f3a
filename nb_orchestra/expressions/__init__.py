"""Kestra (Pebble) expressions rendered with a sandboxed Jinja2.

``render("Hello {{ inputs.user }}", context)`` follows Kestra's rules: strict
undefined variables, JSON printing of maps and lists, ``true``/``false``,
Pebble operators (``??``, ``? :``, ``contains``, integer ``/``...), 0-based
``loop.index``.  Every failure is a :class:`nb_orchestra.errors.TemplateError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from nb_orchestra.expressions.printing import to_text
from nb_orchestra.expressions.stopping import stop_when

__all__ = ["ExpressionRuntime", "is_truthy", "render", "render_typed", "render_value", "stop_when", "to_text"]

_FALSE_TEXTS = frozenset({"", "false", "0", "-0"})


class ExpressionRuntime(Protocol):
    """What ``kv()``, ``secret()`` and ``read()`` call; given as ``context["_runtime"]``."""

    def kv(self, namespace: str, key: str, error_on_missing: bool, inherit: bool) -> Any: ...

    def secret(self, name: str) -> str: ...

    def read(self, uri: str, namespace: str | None = None) -> str: ...

    def error_logs(self) -> list[dict[str, Any]]: ...


_compile: Callable[[str], Any] | None = None


def _compiled(template: str) -> Any:
    """The compiled template. Jinja2 loads with the first one (a run without templates needs none of
    it); after that, a global look-up, not an import statement on every render."""
    global _compile
    if _compile is None:
        from nb_orchestra.expressions.environment import compile_template

        _compile = compile_template
    return _compile(template)


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render a Pebble template to text; a string without ``{`` is returned untouched."""
    if "{" not in template:
        return template
    return _compiled(template).render(context)


def render_typed(template: str, context: Mapping[str, Any]) -> Any:
    """Like :func:`render`, but a template that is one ``{{ expr }}`` gives the native value."""
    if "{" not in template:
        return template
    return _compiled(template).evaluate(context)


def render_value(value: Any, context: Mapping[str, Any], typed: bool = False) -> Any:
    """Render every string inside dicts (keys and values) and lists; other values unchanged."""
    if isinstance(value, str):
        return render_typed(value, context) if typed else render(value, context)
    if isinstance(value, Mapping):
        return {render(k, context) if isinstance(k, str) else k: render_value(v, context, typed)
                for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(item, context, typed) for item in value]
    return value


def is_truthy(value: Any) -> bool:
    """Kestra's ``TruthUtils``: false only for null, ``""``, ``"false"``, ``"0"``, ``"-0"``."""
    if value is None or value is False:
        return False
    return to_text(value).strip() not in _FALSE_TEXTS
