"""io.kestra.plugin.serdes.yaml: YamlToIon and IonToYaml, with PyYAML (libyaml when present).

Each YAML document of a file is one record, read one at a time. Like Kestra's Jackson YAML
reader, dates and times in YAML stay text; written YAML holds them as ISO text too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any

from ...internal_storage import to_uri
from ..base import TaskContext, TaskFailure
from ..ion import output_path
from .common import CHARSET, FROM, SerdesTask, charset, ion_rows, java_text, store_ion, text_chunks


@cache
def _loader() -> type:
    """PyYAML's safe loader without the timestamp resolver (text stays text, as in Kestra)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolvers = {first: [(tag, regex) for tag, regex in entries if tag != "tag:yaml.org,2002:timestamp"]
                 for first, entries in base.yaml_implicit_resolvers.items()}
    return type("KestraYamlLoader", (base,), {"yaml_implicit_resolvers": resolvers})


@cache
def _dumper() -> type:
    """PyYAML's safe dumper, decimals written as numbers and the values Kestra prints as text as text."""
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumper: Any = type("KestraYamlDumper", (base,), {})
    dumper.add_representer(Decimal, lambda d, value: d.represent_scalar("tag:yaml.org,2002:float", str(value)))
    for kind in (datetime, date, time):  # exact types first: PyYAML prefers them to multi-representers
        dumper.add_representer(kind, lambda d, value: d.represent_str(java_text(value)))
        dumper.add_multi_representer(kind, lambda d, value: d.represent_str(java_text(value)))
    return dumper


class _Chunks:
    """A file-like ``read`` over decoded pieces, for PyYAML's reader (it reads as it parses)."""

    def __init__(self, chunks: Iterator[str]):
        self.chunks = chunks

    def read(self, size: int = -1) -> str:
        return next(self.chunks, "")


class YamlToIon(SerdesTask):
    """Convert a YAML file to Kestra's Ion format: each document (separated by `---`) is one record."""

    type = "io.kestra.plugin.serdes.yaml.YamlToIon"
    properties = {"from": FROM, "charset": CHARSET}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        import yaml

        source = self.source(ctx)
        documents = yaml.load_all(_Chunks(text_chunks(source, charset(ctx))), Loader=_loader())
        return store_ion(ctx, _documents(documents, yaml.YAMLError))


def _documents(documents: Iterator[Any], errors: type[Exception]) -> Iterator[Any]:
    try:
        yield from documents
    except errors as exc:
        raise TaskFailure(f"Invalid YAML: {exc}".replace("\n", " ")) from None


class IonToYaml(SerdesTask):
    """Convert a Kestra Ion file to YAML: one document for one record, a `---` separated stream for more."""

    type = "io.kestra.plugin.serdes.yaml.IonToYaml"
    properties = {"from": FROM, "charset": CHARSET}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        import yaml

        source, dumper = self.source(ctx), _dumper()
        path = output_path(ctx, ".yaml")

        def dump(value: Any) -> str:
            return yaml.dump(value, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                             width=2**31 - 1)

        size = 0
        try:
            with path.open("w", encoding=charset(ctx), errors="replace", newline="") as out:
                rows = ion_rows(ctx, source)
                first = next(rows, _NONE)
                second = next(rows, _NONE) if first is not _NONE else _NONE
                if first is not _NONE:
                    size = 1
                    if second is _NONE:  # one record: a plain document
                        out.write(dump(first))
                    else:
                        out.write("---\n" + dump(first) + "---\n" + dump(second))
                        size = 2
                        for row in rows:
                            out.write("---\n" + dump(row))
                            size += 1
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return {"uri": to_uri(path), "size": size}


_NONE = object()
