"""io.kestra.plugin.core.output.OutputValues."""

from __future__ import annotations

from typing import Any

from ..base import Prop, TaskContext, TaskPlugin


class OutputValues(TaskPlugin):
    """Expose a map of values as the output ``values``.

    As Kestra's renderer does, a string is rendered to text (``"{{ 1 + 2 }}"`` gives ``"3"``, a list
    expression its JSON text: ``fromJson`` reads it back); numbers, lists and maps written as YAML stay.
    """

    type = "io.kestra.plugin.core.output.OutputValues"
    outputs = {"values": "The rendered map: expressions as text, YAML values as written."}
    properties = {"values": Prop("map", description="Values to output; strings are rendered.")}

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        raw = ctx.task.props.get("values") or {}
        return {"values": ctx.render(raw)}
