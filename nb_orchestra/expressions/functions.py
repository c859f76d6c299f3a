"""Kestra's global functions, callable from templates.

Pure ones: now, fromJson (alias json), yaml, uuid, randomInt, range, max, min.
Those that need the render context: render, renderOnce, kv, secret, read, errorLogs.
They reach the running flow through ``context["_runtime"]`` (an
:class:`~nb_orchestra.expressions.ExpressionRuntime`), which templates cannot
name themselves.
"""

from __future__ import annotations

import json as json_lib
import random
import re
import uuid as uuid_module
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import yaml as yaml_module
from jinja2 import pass_context
from jinja2.runtime import Context

from nb_orchestra.errors import SecretError, TemplateError
from nb_orchestra.expressions.operators import require
from nb_orchestra.expressions.pebble import RESERVED_NAMES

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
    if _nbo_scope:  # loop variables only: a template must not replace the runtime behind kv() or secret()
        variables = {**variables, **{k: v for k, v in _nbo_scope.items() if k not in RESERVED_NAMES}}
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
    from nb_orchestra.expressions.environment import PebbleEnvironment  # that module imports this one

    environment = context.environment
    if not isinstance(environment, PebbleEnvironment):
        raise TemplateError("render() needs nb_orchestra's Pebble environment")
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
    except SecretError as exc:
        raise TemplateError(str(exc)) from None


@pass_context
def read(context: Context, path: Any, namespace: Any = None) -> str:
    """Content of a ``kestra://`` file, or of a namespace file (``a/b.txt``, ``nsfile:///a/b.txt``) of
    ``namespace``, the flow's by default."""
    require(path, namespace)
    if namespace is None:
        flow = context.get("flow")
        namespace = flow.get("namespace") if isinstance(flow, Mapping) else None
    return _runtime(context, "read").read(str(path), None if namespace is None else str(namespace))


@pass_context
def error_logs(context: Context) -> list[dict[str, Any]]:
    """``errorLogs()``: the ERROR log lines of the current execution so far (for an ``errors`` handler)."""
    return _runtime(context, "errorLogs").error_logs()


# ---------------------------------------------------------------------------------------------
# Pure functions

def now(format: str = "iso", timeZone: str | None = None, locale: str | None = None) -> str:  # noqa: N803
    """``now()``: the current time, already formatted (ISO with microseconds by default)."""
    from nb_orchestra.expressions.dates import format_datetime  # Java patterns and zones, with the first date

    return format_datetime(datetime.now(timezone.utc), format, timeZone, locale)


def from_json(json: Any = None) -> Any:
    """``fromJson(json)``: parse JSON text; None gives None."""
    if json is None:
        return None
    if not isinstance(json, str):
        raise ValueError("The 'fromJson' function expects an argument 'json' with type string.")
    try:
        return json_lib.loads(json)
    except json_lib.JSONDecodeError as error:
        raise ValueError(f"Invalid json: {error}") from None


def from_yaml(yaml: Any) -> Any:
    """``yaml(yaml)``: parse YAML text (safe loader)."""
    if not isinstance(yaml, str):
        raise ValueError("The 'yaml' function expects an argument 'yaml' with type string.")
    try:
        return yaml_module.safe_load(yaml)
    except yaml_module.YAMLError as error:
        raise ValueError(f"Invalid yaml: {error}") from None


def new_uuid() -> str:
    """``uuid()``: a random UUID text."""
    return str(uuid_module.uuid4())


def random_int(lower: int, upper: int) -> int:
    """``randomInt(lower, upper)``: a random integer, lower inclusive, upper exclusive."""
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"randomInt: the argument '{name}' must be an integer")
    if upper < lower:
        raise ValueError("randomInt: upper is less than lower")
    return lower + int(random.random() * (upper - lower))


def range_function(start: Any, end: Any, increment: int = 1) -> list:
    """``range(start, end, increment=1)``: numbers or single characters, ``end`` included."""
    if isinstance(increment, bool) or not isinstance(increment, (int, float)):
        raise ValueError(f"range: the increment must be a number, not '{increment}'")
    step = int(increment)
    if step == 0:
        raise ValueError("range: the increment must be different from 0")
    if _is_number(start) and _is_number(end):
        low, high = int(start), int(end)
        numbers = range(low, high + (1 if step > 0 else -1), step)
        if len(numbers) > MAX_RANGE:
            raise ValueError(f"range: {len(numbers):,} values is more than the {MAX_RANGE:,} a template may make")
        return list(numbers)
    if isinstance(start, str) and isinstance(end, str) and len(start) == len(end) == 1:
        codes = range(ord(start), ord(end) + (1 if step > 0 else -1), step)
        return [chr(code) for code in codes]
    raise ValueError("range: the arguments must be numbers or strings of length 1")


MAX_RANGE = 1_000_000  # values one range() may make: a loop of a million, not a list that fills memory


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _extreme(name: str, args: tuple, better: Callable[[Any, Any], bool]) -> Any:
    best = None
    for candidate in args:
        if best is None:
            best = candidate
            continue
        try:
            if better(candidate, best):
                best = candidate
        except TypeError:
            raise ValueError(f"{name}: cannot compare '{candidate}' with '{best}'") from None
    return best


def max_function(*args: Any) -> Any:
    """``max(a, b, ...)``: the largest argument (None when called without arguments)."""
    return _extreme("max", args, lambda a, b: a > b)


def min_function(*args: Any) -> Any:
    """``min(a, b, ...)``: the smallest argument (None when called without arguments)."""
    return _extreme("min", args, lambda a, b: a < b)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": now,
    "fromJson": from_json,
    "json": from_json,
    "yaml": from_yaml,
    "uuid": new_uuid,
    "randomInt": random_int,
    "range": range_function,
    "max": max_function,
    "min": min_function,
    "render": render,
    "renderOnce": render_once,
    "kv": kv,
    "secret": secret,
    "read": read,
    "errorLogs": error_logs,
}


def _register_more() -> None:
    from nb_orchestra.expressions.more_functions import MORE_FUNCTIONS  # id, printContext, block, fromIon...

    FUNCTIONS.update(MORE_FUNCTIONS)


_register_more()
