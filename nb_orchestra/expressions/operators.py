"""Pebble operators and tests that Jinja2 lacks or computes differently.

:mod:`nb_orchestra.expressions.pebble` emits ``(a|_nbo_add(b))`` for ``a + b``
and so on; these functions are registered as filters (Jinja2 calls filters
directly, without the sandbox's per-call checks).  Every operand that is
undefined raises the strict-mode error, as in Pebble.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from jinja2 import Undefined
from jinja2.runtime import LoopContext

from nb_orchestra.expressions.printing import java_string

_COLLECTIONS = (list, tuple, set, frozenset)


def require(*values: Any) -> None:
    """Raise the strict undefined error for the first undefined value."""
    for value in values:
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()


def _numbers(symbol: str, left: Any, right: Any) -> tuple[Any, Any]:
    require(left, right)
    for value in (left, right):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise TypeError(f"cannot apply `{symbol}` to {_kind(left)} and {_kind(right)}")
    if isinstance(left, float) and isinstance(right, Decimal) or isinstance(left, Decimal) and isinstance(right, float):
        return float(left), float(right)
    return left, right


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value), type(value).__name__)


def add(left: Any, right: Any) -> Any:
    """``+``: string concatenation when either side is a string, list append, else numeric."""
    require(left, right)
    if isinstance(left, str) or isinstance(right, str):
        return java_string(left) + java_string(right)
    if isinstance(left, list):
        return left + list(right) if isinstance(right, _COLLECTIONS) else left + [right]
    left, right = _numbers("+", left, right)
    return left + right


def subtract(left: Any, right: Any) -> Any:
    """``-`` on numbers."""
    left, right = _numbers("-", left, right)
    return left - right


def multiply(left: Any, right: Any) -> Any:
    """``*`` on numbers."""
    left, right = _numbers("*", left, right)
    return left * right


def divide(left: Any, right: Any) -> Any:
    """``/``: Java semantics, integer division truncates toward zero."""
    left, right = _numbers("/", left, right)
    if isinstance(left, int) and isinstance(right, int):
        if right == 0:
            raise ZeroDivisionError("/ by zero")
        quotient = abs(left) // abs(right)
        return quotient if (left < 0) == (right < 0) else -quotient
    if right == 0 and not isinstance(left, Decimal):
        return math.nan if left == 0 else math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def remainder(left: Any, right: Any) -> Any:
    """``%``: Java remainder (the sign follows the dividend)."""
    left, right = _numbers("%", left, right)
    if isinstance(left, int) and isinstance(right, int):
        if right == 0:
            raise ZeroDivisionError("/ by zero")
        rest = abs(left) % abs(right)
        return rest if left >= 0 else -rest
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return Decimal(left) % Decimal(right)
    return math.fmod(left, right)


def concat(left: Any, right: Any) -> str:
    """``~``: string concatenation, null counts as empty."""
    require(left, right)
    return java_string(left, null="") + java_string(right, null="")


def equals(left: Any, right: Any) -> bool:
    """``==``: numbers compare by value (``1 == 1.0``), otherwise Java ``equals``."""
    require(left, right)
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, Enum) and isinstance(right, str):
        return left.name == right
    if isinstance(right, Enum) and isinstance(left, str):
        return right.name == left
    return left == right


def contains(container: Any, item: Any) -> bool:
    """``contains``: item of a list (all items for a list operand), key of a map, substring."""
    require(container, item)
    if container is None:
        return False
    if isinstance(container, str):
        return java_string(item) in container
    if isinstance(container, Mapping):
        return _member(item, container)
    if isinstance(container, _COLLECTIONS):
        if isinstance(item, _COLLECTIONS):
            return all(_member(each, container) for each in item)
        return _member(item, container)
    raise TypeError("`contains` works on lists, maps and strings, not on " + _kind(container))


def _member(item: Any, container: Any) -> bool:
    try:
        return item in container
    except TypeError:
        return False


def inclusive_range(start: Any, end: Any) -> list[int]:
    """``a..b``: the integers from ``a`` to ``b`` inclusive."""
    start, end = _numbers("..", start, end)
    return list(range(int(start), int(end) + 1))


def iterate(value: Any) -> Any:
    """What ``{% for %}`` walks: map entries with ``key``/``value``, nothing for null."""
    require(value)
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return [{"key": key, "value": item} for key, item in value.items()]
    return value


def pebble_loop(loop: Any) -> Any:
    """Pebble's ``loop`` variable: 0-based ``index`` and ``revindex``."""
    if not isinstance(loop, LoopContext):
        return loop
    return {"index": loop.index0, "revindex": loop.revindex0, "length": loop.length,
            "first": loop.first, "last": loop.last}


OPERATOR_FILTERS: dict[str, Callable[..., Any]] = {
    "_nbo_add": add,
    "_nbo_sub": subtract,
    "_nbo_mul": multiply,
    "_nbo_div": divide,
    "_nbo_mod": remainder,
    "_nbo_concat": concat,
    "_nbo_eq": equals,
    "_nbo_contains": contains,
    "_nbo_range": inclusive_range,
    "_nbo_iter": iterate,
    "_nbo_loop": pebble_loop,
}


# ----------------------------------------------------------------------------- tests


def is_defined(value: Any) -> bool:
    """``defined``: never raises."""
    return not isinstance(value, Undefined)


def is_null(value: Any) -> bool:
    """``null``: null or undefined, never raises."""
    return value is None or isinstance(value, Undefined)


def is_empty(value: Any) -> bool:
    """``empty``: null, undefined, a blank string, an empty list or map."""
    if value is None or isinstance(value, Undefined):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (Mapping, *_COLLECTIONS)):
        return len(value) == 0
    return False


def is_even(value: Any) -> bool:
    """``even`` on an integer."""
    return _integer("even", value) % 2 == 0


def is_odd(value: Any) -> bool:
    """``odd`` on an integer."""
    return _integer("odd", value) % 2 == 1


def _integer(test: str, value: Any) -> int:
    require(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"the `{test}` test needs a number, not {_kind(value)}")
    return int(value)


def is_iterable(value: Any) -> bool:
    """``iterable``: a list (Java ``Iterable``); maps and strings are not."""
    require(value)
    return isinstance(value, _COLLECTIONS)


def is_map(value: Any) -> bool:
    """``map``."""
    require(value)
    return isinstance(value, Mapping)


def is_json(value: Any) -> bool:
    """``json``: a string that parses as JSON."""
    require(value)
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


TESTS: dict[str, Callable[[Any], bool]] = {
    "defined": is_defined,
    "null": is_null,
    "empty": is_empty,
    "even": is_even,
    "odd": is_odd,
    "iterable": is_iterable,
    "map": is_map,
    "json": is_json,
}
