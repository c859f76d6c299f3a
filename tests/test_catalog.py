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


def test_the_type_index_is_up_to_date_and_a_flow_imports_only_the_plugins_it_uses():
    import subprocess
    import sys
    from pathlib import Path

    from nb_orchestra import plugins

    index = Path(plugins.__file__).with_name("_index.py")
    assert index.read_text(encoding="utf-8") == plugins.index_source(), (
        "nb_orchestra/plugins/_index.py is stale: run `python -m nb_orchestra.plugins`")
    code = ("import sys, nb_orchestra as nbo\n"
            "nbo.load_flow('id: a\\nnamespace: b\\ntasks:\\n  - id: hi\\n    type: io.kestra.plugin.core.log.Log\\n"
            "    message: hi\\n')\n"
            "print(sorted(m for m in sys.modules if m.startswith('nb_orchestra.plugins.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "nb_orchestra.plugins.core.log" in loaded
    assert "nb_orchestra.plugins.gcp" not in loaded and "nb_orchestra.plugins.jdbc" not in loaded
