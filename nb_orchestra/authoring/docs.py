"""One task type's documentation, on demand (``%flow doc TYPE``, the notebook's inspector).

The text is the catalogue's section of the type (docs/plugins.md is made from the same
declarations: description, properties with their kind, default, required and rendered flags,
outputs), and an example flow: the plugin's own, or one made from its required properties.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import UserError
from ..plugins import find_plugin, registry, suggest_types
from ..plugins.base import COMMON_PROPS, TaskPlugin
from ..plugins.catalog import plugin_section

_LOG = "io.kestra.plugin.core.log.Log"
# A value of each kind that validates, for a property the example must hold.
_SAMPLES: dict[str, Any] = {
    "int": 1, "number": 1, "bool": True, "duration": "PT1S", "list": ["a", "b"], "list_or_string": ["a", "b"],
    "map": {"key": "value"}, "map_or_string": {"key": "value"},
}


def find_type(name: str) -> type[TaskPlugin]:
    """The plugin of a type name (current or other), or of a class name (``Log``, any case) when one
    type has it; a UserError with the closest names otherwise."""
    plugin = find_plugin(name.strip())
    if plugin is not None:
        return plugin
    short = name.strip().rsplit(".", 1)[-1].lower()
    matches = {cls for type_name, cls in registry().items() if type_name.rsplit(".", 1)[-1].lower() == short}
    if len(matches) == 1:
        return matches.pop()
    if matches:
        names = ", ".join(sorted(cls.type for cls in matches))
        raise UserError(f"'{name}' names several task types: {names}")
    hints = suggest_types(name)
    raise UserError(f"no task type '{name}'" + (f"; did you mean {' or '.join(hints)}?" if hints else ""))


def example_flow(plugin: type[TaskPlugin]) -> str:
    """A flow using ``plugin``: its own example, else one holding its required properties."""
    if plugin.example:
        return plugin.example
    short = plugin.type.rsplit(".", 1)[-1]
    task: dict[str, Any] = {"id": _snake(short), "type": plugin.type}
    for name, prop in plugin.properties.items():
        if prop.required:
            task[name] = _sample(name, prop.kind, prop.choices, prop.default)
    flow = {"id": f"{_snake(short)}_example", "namespace": "company.team", "tasks": [task]}
    return yaml.dump(flow, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as flows are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _sample(name: str, kind: str, choices: tuple[str, ...], default: Any) -> Any:
    if default is not None:
        return default
    if choices:
        return choices[0]
    if kind == "tasks":
        return [{"id": f"{name}_step", "type": _LOG, "message": f"in {name}"}]
    if kind == "task_map":
        return {"case": [{"id": f"{name}_step", "type": _LOG, "message": f"in {name}"}]}
    return _SAMPLES.get(kind, f"<{name}>")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def markdown(name: str) -> str:
    """The documentation of the task type ``name`` in Markdown."""
    plugin = find_type(name)
    lines = plugin_section(plugin)
    doc = (plugin.__doc__ or "").strip().split("\n", 1)
    if len(doc) > 1 and doc[1].strip():  # the catalogue shows the first line; here the rest too
        lines[3:3] = ["", doc[1].strip()]
    common = ", ".join(f"`{name}`" for name in COMMON_PROPS if name not in ("id", "type"))
    lines += ["Properties marked *(not rendered)* are read as written; the others may hold `{{ expressions }}`. "
              f"Every task also accepts {common} (docs/plugins.md).", "",
              "Example:", "", "```yaml", example_flow(plugin).rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"
