"""The sandboxed Jinja2 environment that runs translated Pebble templates.

* :class:`PebbleUndefined` is strict (printing, iterating, comparing or
  computing with it raises) but chainable: reading an attribute or item of it
  gives it back, so ``a.b.c ?? 'x'``, ``a.b is defined`` and ``default`` work.
* :class:`PebbleEnvironment` looks up mapping keys before attributes
  (``outputs.t.values`` is the ``values`` key, never ``dict.values``) and
  refuses Python internals (it is an immutable sandbox).
* :func:`compile_template` translates and compiles each distinct source once.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, UndefinedError, pass_context
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions import functions
from nb_orchestra.expressions.operators import OPERATOR_FILTERS, TESTS
from nb_orchestra.expressions.pebble import (
    FUNCTION_PREFIX,
    MISSING_PREFIX,
    PebbleSyntaxError,
    Tag,
    Translation,
    translate,
)
from nb_orchestra.expressions.printing import to_text
from nb_orchestra.expressions.stopping import check_stopped

TEMPLATE_CACHE_SIZE = 4096
_RESULT = "nbo_result"
_UNDEFINED_NAME = re.compile(r"Unable to find `([^`]*)`")


class PebbleUndefined(StrictUndefined):
    """Strict, chainable undefined value whose error reads like Kestra's."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = self._undefined_name
        if isinstance(name, str) and name.startswith(MISSING_PREFIX):
            name = name[len(MISSING_PREFIX):]
        return f"Unable to find `{name}`"


def finalize(value: Any) -> str:
    """How ``{{ value }}`` prints (Kestra's JSON writer)."""
    check_stopped()
    if type(value) is str:
        return value
    return to_text(value)


# Characters one string method of a template may make: generous for flows, far below what exhausts
# a laptop. Python's own methods would allocate whatever width they are asked for.
MAX_SIZE = 10_000_000
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_FORMAT_NUMBERS = re.compile(r"\d+")


class PebbleEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed environment with Pebble's attribute rules and bounded string widths."""

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        """A call, refusing string methods asked for widths larger than MAX_SIZE."""
        check_stopped()
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in _WIDTH_METHODS:
            if any(isinstance(a, int) and a > MAX_SIZE for a in (*args, *kwargs.values())):
                raise SecurityError(f"{__obj.__name__}(): a width above {MAX_SIZE:,} characters")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        """``'...'.format``, refused when its text asks for widths larger than MAX_SIZE."""
        text = getattr(value, "__self__", None)
        if isinstance(text, str) and any(int(n) > MAX_SIZE for n in _FORMAT_NUMBERS.findall(text)):
            raise SecurityError(f"format(): a width above {MAX_SIZE:,} characters")
        return super().wrap_str_format(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``a.b``: key of a map first; attribute of null or of undefined is undefined."""
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                return self.undefined(obj=obj, name=attribute)
        if isinstance(obj, Undefined):
            return obj
        if obj is None:
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``a[b]``: map key, list index (no negative index), else the sandboxed default."""
        if isinstance(argument, Undefined):  # block[missing].child is undefined, as in Kestra
            return argument
        if isinstance(obj, Mapping):
            try:
                return obj[argument]
            except (KeyError, TypeError):
                return self.undefined(obj=obj, name=argument)
        if isinstance(obj, Undefined):
            return obj
        if obj is None:
            return self.undefined(obj=obj, name=argument)
        if isinstance(obj, (list, tuple)) and isinstance(argument, int):
            if 0 <= argument < len(obj):
                return obj[argument]
            return self.undefined(obj=obj, name=str(argument))
        return super().getitem(obj, argument)

    def render_source(self, source: str, variables: Mapping[str, Any]) -> str:
        """Render a Pebble template (used by the ``render()`` function)."""
        if "{" not in source:
            return source
        return compile_template(source).render(variables)


def _build_environment() -> PebbleEnvironment:
    from nb_orchestra.expressions import filters  # Kestra's filters

    env = PebbleEnvironment(
        undefined=PebbleUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=finalize,
        auto_reload=False,
    )
    env.globals.clear()  # drops range, dict, lipsum, cycler, joiner, namespace
    env.globals.update(functions.FUNCTIONS)
    env.globals.update({FUNCTION_PREFIX + name: function for name, function in functions.FUNCTIONS.items()})
    env.filters.update({name: _at_run_time(function) for name, function in filters.FILTERS.items()})
    env.filters.update(OPERATOR_FILTERS)
    env.tests.clear()
    env.tests.update(TESTS)
    return env


def _at_run_time(function: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, marked as needing the render's context: Jinja then never runs it while compiling
    a constant input (a jq program or a regex would run outside the time limits and the task's stop
    checks, and again at run time when they fail)."""

    @pass_context
    @functools.wraps(function)
    def filter_at_run_time(_context: Any, *args: Any, **kwargs: Any) -> Any:
        check_stopped()
        return function(*args, **kwargs)

    return filter_at_run_time


ENVIRONMENT = _build_environment()
_GLOBALS = dict(ENVIRONMENT.globals)


class CompiledTemplate:
    """A translated, compiled template; renders to text or to a native value."""

    __slots__ = ("source", "translation", "template", "_expression")

    def __init__(self, source: str, translation: Translation, template: Template):
        self.source = source
        self.translation = translation
        self.template = template
        self._expression: Template | None = None

    def render(self, variables: Mapping[str, Any]) -> str:
        """Text output; raises :class:`TemplateError`."""
        template = self.template
        context = new_context(ENVIRONMENT, None, template.blocks, {**_GLOBALS, **variables}, shared=True)
        try:
            return "".join(template.root_render_func(context))
        except Exception as exc:
            raise self.failure(exc, template) from exc

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Native value of a single-expression template (else its text)."""
        if self.translation.single_expression is None:
            return self.render(variables)
        template = self._expression or self._compile_expression()
        context = new_context(ENVIRONMENT, None, template.blocks, {**_GLOBALS, **variables}, shared=True)
        try:
            for _ in template.root_render_func(context):
                pass
            value = context.vars[_RESULT]
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
        except Exception as exc:
            raise self.failure(exc, template) from exc
        return value

    def _compile_expression(self) -> Template:
        tag = self.translation.tags[0]
        padding = "\n" * (tag.first_line - 1)
        source = f"{padding}{{% set {_RESULT} = {self.translation.single_expression} %}}"
        self._expression = ENVIRONMENT.from_string(source)
        return self._expression

    def failure(self, exc: Exception, template: Template) -> TemplateError:
        """A short :class:`TemplateError` naming the Pebble expression that failed."""
        line = _failing_line(exc, template)
        if isinstance(exc, UndefinedError):
            match = _UNDEFINED_NAME.search(str(exc))
            tag = _tag_at(self.translation, self.source, line, match.group(1) if match else "")
            hint = f"; {tag.hint}" if tag.hint else ""
            return TemplateError(f"{exc} used in the expression `{tag.text}` at line {line}{hint}")
        tag = _tag_at(self.translation, self.source, line, "")
        if isinstance(exc, SecurityError):
            return TemplateError(f"Unsafe expression `{tag.text}` at line {line}: {exc}")
        reason = str(exc) or type(exc).__name__
        return TemplateError(f"Error in the expression `{tag.text}` at line {line}: {reason}")


def _failing_line(exc: Exception, template: Template) -> int:
    """Template line of the innermost template frame of the traceback."""
    line = 0
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = template.get_corresponding_lineno(lineno)
    return line or 1


def _tag_at(translation: Translation, source: str, line: int, name: str) -> Tag:
    """The tag on ``line`` (the one that mentions ``name`` if several), or the line itself."""
    candidates = [tag for tag in translation.tags if tag.first_line <= line <= tag.last_line]
    named = [tag for tag in candidates if name and name in tag.text]
    if named or len(candidates) == 1:
        return (named or candidates)[0]
    lines = source.splitlines() or [source]
    text = lines[min(line, len(lines)) - 1].strip()
    return Tag(line, line, text if len(text) <= 200 else text[:197] + "...")


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def compile_template(source: str) -> CompiledTemplate:
    """Translate and compile a Pebble template once per distinct source."""
    try:
        translation = translate(source)
    except PebbleSyntaxError as exc:
        where = exc.tag or source
        raise TemplateError(f"Syntax error in the expression `{where}`: {exc}") from exc
    except RecursionError:
        raise TemplateError(f"the expression `{_clip(source)}` is nested too deeply to read") from None
    try:
        template = ENVIRONMENT.from_string(translation.source)
    except TemplateSyntaxError as exc:
        tag = _tag_at(translation, source, exc.lineno or 1, "")
        raise TemplateError(f"Syntax error in the expression `{tag.text}`: {exc.message}") from exc
    except RecursionError:  # Jinja's compiler, on a translation deeper than Python's stack allows
        raise TemplateError(f"the expression `{_clip(source)}` is nested too deeply to compile") from None
    return CompiledTemplate(source, translation, template)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
