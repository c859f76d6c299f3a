"""``python -m nb_orchestra.plugins``: rewrite _index.py (type name -> module) from the plugin modules."""

from pathlib import Path

from . import index_source

Path(__file__).with_name("_index.py").write_text(index_source(), encoding="utf-8")
