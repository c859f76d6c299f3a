"""docs/plugins.md is generated from the plugin declarations and must match them."""

from __future__ import annotations

from pathlib import Path

from nb_orchestra.plugins import catalog

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def test_docs_plugins_md_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == catalog.markdown(), (
        "docs/plugins.md is stale: run `nb-orchestra plugins --markdown > docs/plugins.md`")


def test_every_plugin_documents_itself_and_its_properties():
    for cls in catalog.plugin_classes():
        assert (cls.__doc__ or "").strip(), cls.type
        for name, prop in cls.all_properties().items():
            assert prop.description, f"{cls.type}.{name} has no description"
        assert f"### `{cls.type}`" in catalog.markdown()


def test_cloud_families_say_what_they_were_verified_against_and_which_extra_they_need():
    from nb_orchestra.plugins import catalog

    text = catalog.markdown()
    for family in ("gcp.gcs", "gcp.bigquery", "aws.s3", "ai.completion", "ai.rag", "ai.agent"):
        section = text.split(f"\n## {family}\n", 1)[1].split("\n## ", 1)[0]
        assert f"nb-orchestra[{family.split('.')[0]}]" in section
        assert catalog.VERIFIED_AGAINST[family] in section and "erified" in catalog.VERIFIED_AGAINST[family]
