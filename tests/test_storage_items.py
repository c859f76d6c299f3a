"""io.kestra.plugin.core.storage FilterItems, DeduplicateItems and Reverse, on files a Write task stores."""

from __future__ import annotations

import pytest

from nb_orchestra import internal_storage
from nb_orchestra.plugins.core.storage_items import _lines_backwards
from nb_orchestra.plugins.ion import read_ion

from .conftest import run_fixture

# Kestra's FilterItemsTest items, as Ion lines (one with a value `% 2` cannot take)
VALID = '{key:"k1",value:1}\n{key:"k2",value:2}\n{key:"k3",value:3}\n{key:"k4",value:4}\n'
INVALID = '{key:"k1",value:1}\n{key:"k2",value:"dummy"}\n{key:"k3",value:3}\n{key:"k4",value:4}\n'


def items(uri: str) -> list:
    assert uri.startswith("kestra:///tests/test/executions/") and uri.endswith(".ion")
    return list(read_ion(internal_storage.to_path(uri), "amazon.ion is missing"))


def run_filter(content: str, condition: str = "{{ value % 2 == 0 }}", filter_type: str = "INCLUDE",
               on_error: str = "FAIL"):
    return run_fixture("valid/storage_items/filter.yaml", inputs={"items": content},
                       values={"condition": condition, "filterType": filter_type, "onError": on_error})


@pytest.mark.parametrize("content, filter_type, on_error, kept, dropped", [
    (VALID, "INCLUDE", "FAIL", ["k2", "k4"], 2),
    (VALID, "EXCLUDE", "FAIL", ["k1", "k3"], 2),
    (INVALID, "INCLUDE", "INCLUDE", ["k2", "k4"], 2),
    (INVALID, "INCLUDE", "EXCLUDE", ["k4"], 3),
    (INVALID, "EXCLUDE", "INCLUDE", ["k1", "k2", "k3"], 1),
])
def test_filter_items(content, filter_type, on_error, kept, dropped):
    ex = run_filter(content, filter_type=filter_type, on_error=on_error)
    assert ex.state == "SUCCESS", ex.taskruns[-1].message
    out = ex.outputs.filter
    assert (out.processedItemsTotal, out.droppedItemsTotal) == (4, dropped)
    assert [item["key"] for item in items(out.uri)] == kept


def test_filter_items_keeps_the_items_whole():
    ex = run_filter('{key:"k2",value:2,at:2024-01-02T03:04:05.123Z,tags:["a",null]}\n')
    assert items(ex.outputs.filter.uri) == [{"key": "k2", "value": 2, "at": items(ex.outputs.write.uri)[0]["at"],
                                             "tags": ["a", None]}]


def test_filter_items_any_non_empty_text_is_true():
    ex = run_filter(VALID, condition="{{ value }}")
    assert (ex.outputs.filter.droppedItemsTotal, ex.outputs.filter.processedItemsTotal) == (0, 4)


def test_filter_items_sees_the_run_variables_beside_the_item():
    ex = run_filter(VALID, condition="{{ (key ~ flow.namespace) == 'k3tests' }}")
    assert ex.state == "SUCCESS", ex.taskruns[-1].message
    assert [item["key"] for item in items(ex.outputs.filter.uri)] == ["k3"]


def test_filter_items_fails_on_an_expression_error():
    ex = run_filter(INVALID)
    assert ex.state == "FAILED"
    message = ex.taskruns[-1].message
    assert message.startswith("property 'filterCondition': item 2: ") and "\n" not in message


def test_filter_items_refuses_an_item_that_is_not_a_map():
    ex = run_filter('{key:"k2",value:2}\n42\n')
    assert ex.state == "FAILED"
    assert ex.taskruns[-1].message.startswith("item 2 of '") and "is not a map: 42" in ex.taskruns[-1].message


def test_filter_items_of_an_empty_file():
    ex = run_filter("\n")
    assert ex.state == "SUCCESS", ex.taskruns[-1].message
    assert (ex.outputs.filter.processedItemsTotal, ex.outputs.filter.droppedItemsTotal) == (0, 0)
    assert items(ex.outputs.filter.uri) == []


def test_deduplicate_items_keeps_the_last_item_of_each_key():
    content = ('{key:"k1",value:"v1"}\n{key:"k2",value:"v1"}\n{key:"k3",value:"v1"}\n{key:"k1",value:"v2"}\n'
               '{key:"k2",value:"v2"}\n{key:"k2",value:null}\n{key:"k3",value:"v2"}\n{key:"k1",value:"v3"}\n')
    ex = run_fixture("valid/storage_items/deduplicate.yaml", inputs={"items": content}, values={"expr": " {{ key }} "})
    assert ex.state == "SUCCESS", ex.taskruns[-1].message
    out = ex.outputs.dedup
    assert (out.numKeys, out.processedItemsTotal, out.droppedItemsTotal) == (3, 8, 5)
    assert items(out.uri) == [{"key": "k2", "value": None}, {"key": "k3", "value": "v2"},
                              {"key": "k1", "value": "v3"}]


def test_deduplicate_items_with_a_composite_key():
    content = ('{key:"k1",v1:"a",v2:1}\n{key:"k1",v1:"b",v2:2}\n{key:"k1",v1:"a",v2:3}\n')
    ex = run_fixture("valid/storage_items/deduplicate.yaml", inputs={"items": content},
                     values={"expr": "{{ key }}-{{ v1 }}"})
    out = ex.outputs.dedup
    assert (out.numKeys, out.processedItemsTotal, out.droppedItemsTotal) == (2, 3, 1)
    assert [item["v2"] for item in items(out.uri)] == [2, 3]


def test_deduplicate_items_fails_on_an_expression_error():
    ex = run_fixture("valid/storage_items/deduplicate.yaml", inputs={"items": '{key:"k1"}\n'},
                     values={"expr": "{{ nokey }}"})
    assert ex.state == "FAILED"
    message = ex.taskruns[-1].message
    assert message.startswith("property 'expr': ") and "nokey" in message and "\n" not in message


def run_reverse(content: str, separator: str = "\\n", charset: str = "UTF-8"):
    return run_fixture("valid/storage_items/reverse.yaml", inputs={"content": content},
                       values={"separator": separator, "charset": charset})


@pytest.mark.parametrize("content, reversed_text", [
    ("1\n2\n3\n", "3\n2\n1\n"),
    ("1\n2\n3", "3\n2\n1\n"),
    ("1\r\n\r\n2\r\n", "2\n\n1\n"),
    ("é\n", "é\n"),
    ("\n", "\n"),
])
def test_reverse(content, reversed_text):
    ex = run_reverse(content)
    assert ex.state == "SUCCESS", ex.taskruns[-1].message
    uri = ex.outputs.reverse.uri
    assert uri.endswith(".yml")
    assert internal_storage.to_path(uri).read_text(encoding="utf-8") == reversed_text


def test_reverse_with_a_separator_and_a_charset():
    ex = run_reverse("a\nb\n", separator="|", charset="ISO-8859-1")
    assert internal_storage.to_path(ex.outputs.reverse.uri).read_bytes() == b"b|a|"
    ex = run_reverse("a\n", charset="NOPE-9")
    assert ex.state == "FAILED" and ex.taskruns[-1].message == "property 'charset': unsupported charset 'NOPE-9'"
    ex = run_reverse("a\n", charset="hex")  # a codec, but not a text encoding
    assert ex.state == "FAILED" and ex.taskruns[-1].message == "property 'charset': unsupported charset 'hex'"
    ex = run_reverse("a\n", separator="→", charset="ascii")
    assert ex.state == "FAILED" and ex.taskruns[-1].message == "property 'separator': not writable in ascii"


def test_lines_backwards_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr("nb_orchestra.plugins.core.storage_items._BLOCK", 3)
    path = tmp_path / "lines.txt"
    path.write_bytes(b"first line\n\nsecond\r\nthird-is-long\n")
    with path.open("rb") as source:
        assert list(_lines_backwards(source, b"\n")) == [b"third-is-long", b"second\r", b"", b"first line"]
    path.write_bytes(b"")
    with path.open("rb") as source:
        assert list(_lines_backwards(source, b"\n")) == []
