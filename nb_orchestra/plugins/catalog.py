"""The catalogue of supported task types, written from the plugin declarations.

``docs/plugins.md`` is this module's output (``nb-orchestra plugins --markdown``);
a test compares the two, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import json
from collections import defaultdict

from . import registry
from .base import COMMON_PROPS, Prop, TaskPlugin

EXTRAS = {"jdbc.duckdb": "duckdb", "jdbc.postgresql": "postgres", "jdbc.sqlite": "sqlite",
          "gcp.gcs": "gcp", "gcp.bigquery": "gcp", "aws.s3": "aws",
          "ai.completion": "ai", "ai.rag": "ai", "ai.agent": "ai"}
_AI_CHECKED = ("Verified only against local stand-ins of the documented OpenAI and Gemini HTTP APIs, through "
               "the official SDKs; no real model was called (docs/cloud.md).")
# What a family of cloud tasks was tested against, where that is not the real service.
VERIFIED_AGAINST = {
    "gcp.gcs": "Verified against the `gcp-storage-emulator` package (a local implementation of the GCS API) "
               "through Google's client, not against Google Cloud (docs/cloud.md).",
    "gcp.bigquery": "Verified only against a local stand-in of the BigQuery v2 REST API that checks every request "
                    "body against BigQuery's published schema and runs no SQL; not against Google Cloud "
                    "(`NBO_GCP_LIVE=1` runs a live test: docs/cloud.md).",
    "aws.s3": "Verified against moto's S3 server with signature checks, through boto3, not against AWS "
              "(docs/cloud.md).",
    "ai.completion": _AI_CHECKED, "ai.rag": _AI_CHECKED, "ai.agent": _AI_CHECKED,
}


def plugin_classes() -> list[type[TaskPlugin]]:
    """Every plugin class once, ordered by type name."""
    return sorted({cls for cls in registry().values() if not cls.internal}, key=lambda cls: cls.type)


def _family(type_name: str) -> str:
    if type_name.startswith("io.nb_orchestra."):
        return "notebook-only (in-kernel Python)"
    return type_name.removeprefix("io.kestra.plugin.").rsplit(".", 1)[0]


def _prop_row(name: str, prop: Prop) -> str:
    kind = prop.kind + (f" ({', '.join(prop.choices)})" if prop.choices else "")
    default = "" if prop.default in (None, "", [], {}) else f"`{json.dumps(prop.default)}`"
    flags = ("**required** " if prop.required else "") + ("" if prop.dynamic else "(not rendered) ")
    return f"| `{name}` | {kind} | {default} | {flags}{prop.description} |"


def plugin_section(cls: type[TaskPlugin]) -> list[str]:
    """The Markdown lines of one task type: its description, other names, properties and outputs."""
    lines = [f"### `{cls.type}`", "", (cls.__doc__ or "").strip().splitlines()[0], ""]
    aliases = [name for name in registry() if registry()[name] is cls and name != cls.type]
    if aliases:
        lines += ["Also accepted as " + ", ".join(f"`{a}`" for a in sorted(aliases)) + ".", ""]
    own = {name: prop for name, prop in cls.all_properties().items() if name not in COMMON_PROPS}
    if own:
        lines += ["| property | kind | default | notes |", "| --- | --- | --- | --- |"]
        lines += [_prop_row(name, prop) for name, prop in own.items()]
        lines.append("")
    if cls.outputs:
        lines += ["| output | holds |", "| --- | --- |"]
        lines += [f"| `{name}` | {text} |" for name, text in cls.outputs.items()]
        lines.append("")
    return lines


def markdown() -> str:
    """docs/plugins.md."""
    lines = ["# Task types", "",
             "Generated from the plugin declarations by `nb-orchestra plugins --markdown`; do not edit by hand.",
             "", "Every task also accepts the common properties:", "",
             "| property | kind | default | notes |", "| --- | --- | --- | --- |"]
    lines += [_prop_row(name, prop) for name, prop in COMMON_PROPS.items()]
    families: dict[str, list[type[TaskPlugin]]] = defaultdict(list)
    for cls in plugin_classes():
        families[_family(cls.type)].append(cls)
    for family, classes in families.items():
        extra = EXTRAS.get(family)
        lines += ["", f"## {family}", ""]
        if extra:
            lines += [f"Needs `pip install 'nb-orchestra[{extra}]'`.", ""]
        if family in VERIFIED_AGAINST:
            lines += [VERIFIED_AGAINST[family], ""]
        for cls in classes:
            lines += plugin_section(cls)
    return "\n".join(lines).rstrip() + "\n"
