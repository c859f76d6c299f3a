"""Kestra functions that need the render context: render, renderOnce, kv, secret, read, errorLogs.

They reach the running flow through ``context["_runtime"]`` (an
:class:`~nb_orchestra.expressions.ExpressionRuntime`), which templates cannot
name themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions.operators import require

MAX_RENDERING_PASSES = 100
_RAW_BLOCK = re.compile(r"\{%-?\s*(raw|verbatim)\s*-?%\}(.*?)\{%-?\s*end\1\s*-?%\}", re.DOTALL)
_PLACEHOLDER = re.compile("\x00nbo-raw-(\\d+)\x00")


@pass_context
def render(context: Context, value: Any, recursive: bool = True, _nbo_scope: Mapping | None = None) -> Any:
    """Render a string (or every string of a map/list) against the current context.

    With ``recursive`` the output is rendered again until it stops changing;
    ``{% raw %}`` blocks survive the passes and are unwrapped at the end.
    ``_nbo_scope`` carries the ``{% for %}`` variables (added by the translator).
    """
    require(value)
    variables = context.get_all()
    if _nbo_scope:
        variables = {**variables, **_nbo_scope}
    return _render_value(value, lambda text: _render_text(context, text, variables, recursive))


@pass_context
def render_once(context: Context, value: Any, _nbo_scope: Mapping | None = None) -> Any:
    """``renderOnce(x)``: ``render(x, recursive=false)``."""
    return render(context, value, recursive=False, _nbo_scope=_nbo_scope)


def _render_value(value: Any, render_text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return render_text(value)
    if isinstance(value, Mapping):
        return {_render_value(k, render_text): _render_value(v, render_text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render_value(item, render_text) for item in value]
    return value


def _render_text(context: Context, text: str, variables: Mapping[str, Any], recursive: bool) -> str:
    environment = context.environment
    if not recursive:
        return environment.render_source(text, variables)
    current = text
    for _ in range(MAX_RENDERING_PASSES):
        protected, blocks = _protect_raw(current)
        rendered = _restore_raw(environment.render_source(protected, variables), blocks)
        if rendered == current:
            return _RAW_BLOCK.sub(lambda match: match.group(2), rendered)
        current = rendered
    raise TemplateError("Too many rendering attempts")


def _protect_raw(text: str) -> tuple[str, list[str]]:
    blocks: list[str] = []

    def stash(match: re.Match[str]) -> str:
        blocks.append(match.group(0))
        return f"\x00nbo-raw-{len(blocks) - 1}\x00"

    return _RAW_BLOCK.sub(stash, text), blocks


def _restore_raw(text: str, blocks: list[str]) -> str:
    if not blocks:
        return text
    return _PLACEHOLDER.sub(lambda match: blocks[int(match.group(1))], text)


def _runtime(context: Context, function: str) -> Any:
    runtime = context.get("_runtime")
    if runtime is None:
        raise TemplateError(f"{function}() needs a running flow")
    return runtime


@pass_context
def kv(context: Context, key: Any, namespace: Any = None, errorOnMissing: bool = True) -> Any:  # noqa: N803
    """Value of ``key`` in the KV store: the flow's namespace, then its parents, unless one is given."""
    require(key, namespace, errorOnMissing)
    runtime = _runtime(context, "kv")
    inherit = namespace is None
    if inherit:
        flow = context.get("flow")
        namespace = flow.get("namespace") if isinstance(flow, Mapping) else None
        if namespace is None:
            raise TemplateError("kv() needs a namespace: the flow has none")
    return runtime.kv(str(namespace), str(key), bool(errorOnMissing), inherit)


@pass_context
def secret(context: Context, name: Any) -> str:
    """A secret: through the running flow (masked in its logs), else straight from nb_orchestra.secrets."""
    require(name)
    runtime = context.get("_runtime")
    if runtime is not None:
        return runtime.secret(str(name))
    from .. import secrets

    try:
        return secrets.get_secret(str(name))
    except secrets.SecretError as exc:
        raise TemplateError(str(exc)) from None


@pass_context
def read(context: Context, uri: Any) -> str:
    """Content of a ``kestra://`` file or a namespace file."""
    require(uri)
    return _runtime(context, "read").read(str(uri))


@pass_context
def error_logs(context: Context) -> list[dict[str, Any]]:
    """``errorLogs()``: the ERROR log lines of the current execution so far (for an ``errors`` handler)."""
    return _runtime(context, "errorLogs").error_logs()


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "render": render,
    "renderOnce": render_once,
    "kv": kv,
    "secret": secret,
    "read": read,
    "errorLogs": error_logs,
}
