"""KV store tasks (Set, Get, Delete, GetKeys), kv() across runs and processes, and secrets."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from nb_orchestra.errors import KVExpiredError, KVStoreError
from nb_orchestra.secrets import set_secret
from nb_orchestra.store.kv import StoreKV

from .conftest import messages, run_fixture, run_flow

SET = "io.kestra.plugin.core.kv.Set"


def test_set_get_delete_get_keys():
    ex = run_fixture("valid/kv/set_get_delete_keys.yaml")
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    out = ex.outputs
    assert "a" not in out  # Set has no outputs
    assert out["keys"]["keys"] == ["report_1", "report_2"] == out["all_keys"]["keys"]
    assert out["get"]["value"] == 42
    assert out["missing"]["value"] is None
    assert out["del"]["deleted"] is True and out["del_again"]["deleted"] is False
    assert out["after"]["keys"] == ["report_2"]
    assert StoreKV().get("elsewhere", "report_3") == (True, "x")


def test_error_on_missing_for_get_and_delete():
    ex = run_fixture("valid/kv/error_on_missing.yaml")
    assert ex.taskrun("get").message == ("No value found for key 'nothing' in namespace 'tests' and "
                                         "`errorOnMissing` is set to true")
    assert ex.taskrun("del").message == ("No value found for key 'nothing' in namespace 'other' and "
                                         "`errorOnMissing` is set to true")


def test_values_keep_their_type_and_kv_type_converts_strings():
    ex = run_fixture("valid/kv/kv_types.yaml")
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    store = StoreKV()
    values = {key: store.get("tests", key)[1] for key in store.keys("tests")}
    assert values == {
        "plain": "42",
        "number": 42.5,
        "boolean": True,
        "not_boolean": False,
        "datetime": datetime(2024, 1, 31, 8, tzinfo=timezone.utc),
        "date": datetime(2024, 1, 31, tzinfo=timezone.utc),
        "duration": timedelta(hours=1, minutes=30),
        "json": {"a": [1, 2], "b": None},
        "map_as_string": '{"a":1}',
        "typed_expression": {"k": [1, True]},  # kvType only converts strings
    }
    assert messages(ex, "show") == ["PT1H30M 2024-01-31T08:00:00Z 43.5 2 1"]


@pytest.mark.parametrize("kv_type, value, error", [
    ("NUMBER", "forty", "kvType NUMBER: 'forty' is not a number"),
    ("DATE", "2024-01-31", "kvType DATE: '2024-01-31' is not an instant such as 2024-01-31T10:00:00Z"),
    ("DATETIME", "2024-01-31T10:00:00", "is not an instant"),
    ("DURATION", "P1M", "kvType DURATION: 'P1M' is not an ISO-8601 duration"),
    ("JSON", "{oops", "kvType JSON: '{oops' is not valid JSON"),
])
def test_kv_type_conversion_errors(kv_type, value, error):
    ex = run_flow(f"""
        tasks:
          - id: set
            type: {SET}
            key: k
            value: "{value}"
            kvType: {kv_type}
    """)
    assert ex.state == "FAILED"
    assert error in ex.taskrun("set").message


def test_overwrite_false_refuses_an_existing_key():
    StoreKV().set("tests", "once", "first")
    ex = run_fixture("valid/kv/overwrite_false.yaml")
    assert ex.taskrun("fresh").state == "SUCCESS"
    assert ex.taskrun("again").message == ("Cannot set value for key 'once'. Key already exists and `overwrite` "
                                           "is set to `false`.")
    assert StoreKV().get("tests", "once") == (True, "first")


def test_invalid_key_fails():
    ex = run_flow(f"""
        tasks:
          - id: set
            type: {SET}
            key: "-bad key"
            value: v
    """)
    assert ex.taskrun("set").message.startswith("Key must start with an alphanumeric character")


def test_ttl_expiry():
    ex = run_fixture("valid/kv/ttl_set.yaml")
    assert messages(ex, "now") == ["soon gone"]
    time.sleep(0.4)
    after = run_fixture("valid/kv/ttl_after_expiry.yaml")
    assert after.outputs["keys"]["keys"] == []
    assert after.outputs["lenient"]["value"] == "[]"
    # Kestra's Get task fails on the first read of an expired value, which deletes it
    StoreKV().set("tests", "again", 1, expires=datetime.now(timezone.utc) - timedelta(seconds=1))
    get = run_fixture("valid/kv/ttl_expired_get.yaml")
    assert get.taskrun("expired").message == "The requested value has expired"
    assert get.outputs["gone"]["value"] is None


def test_kv_reads_a_value_set_by_another_run_and_another_process(isolated_home):
    first = run_fixture("valid/kv/shared_set.yaml")
    second = run_fixture("valid/kv/shared_read.yaml")
    assert second.outputs["read"]["value"] == f"6 {first.id}"
    script = textwrap.dedent("""
        import nb_orchestra
        ex = nb_orchestra.run('''
        id: reader
        namespace: tests
        tasks:
          - id: read
            type: io.kestra.plugin.core.kv.Get
            key: shared
        ''')
        print(ex.state, ex.outputs["read"]["value"]["rows"])
    """)
    env = {**os.environ, "NB_ORCHESTRA_HOME": str(isolated_home)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["SUCCESS", "3"]


def test_store_keeps_types():
    store = StoreKV()
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    store.set("a.b", "when", moment)
    store.set("a.b", "day", date(2024, 5, 1))
    store.set("a.b", "wait", timedelta(seconds=90))
    store.set("a.b", "looks_like_duration", "P2D")
    fresh = StoreKV()  # a new object reads the store again
    assert fresh.get("a.b", "when") == (True, moment)
    assert fresh.get("a.b", "day") == (True, date(2024, 5, 1))
    assert fresh.get("a.b", "wait") == (True, timedelta(seconds=90))
    assert fresh.get("a.b", "looks_like_duration") == (True, timedelta(days=2))  # as Kestra reads it back
    with pytest.raises(KVStoreError, match="Key must start"):
        fresh.set("a.b", "no spaces", 1)


def test_inherited_lookup_walks_parent_namespaces():
    store = StoreKV()
    store.set("company", "region", "eu")
    store.set("company.team", "region", "us")
    store.set("company", "owner", "ops")
    assert store.get_inherited("company.team.project", "region") == (True, "us")
    assert store.get_inherited("company.team.project", "owner") == (True, "ops")
    assert store.get_inherited("company.team.project", "missing") == (False, None)
    assert store.get("company.team.project", "owner") == (False, None)


def test_expired_error_only_when_asked():
    store = StoreKV()
    store.set("tests", "old", 1, expires=datetime.now(timezone.utc) - timedelta(seconds=1))
    with pytest.raises(KVExpiredError, match="The requested value has expired"):
        store.get("tests", "old", expired_error=True)
    store.set("tests", "old", 1, expires=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert store.get("tests", "old") == (False, None)
    assert store.keys("tests") == []


@pytest.fixture
def api_token():
    set_secret("API_TOKEN", "plain-s3cret")
    yield "plain-s3cret"
    set_secret("API_TOKEN", None)


def test_set_secret_is_masked_in_logs_not_in_outputs(api_token, monkeypatch):
    monkeypatch.setenv("SECRET_API_TOKEN", base64.b64encode(b"from-env").decode())
    ex = run_fixture("valid/kv/secret_masked.yaml")
    assert ex.state == "SUCCESS"
    assert messages(ex, "log") == ["token=******; again ******"]
    assert ex.outputs["ret"]["value"] == api_token  # outputs are not masked, as in Kestra
    assert all(api_token not in line for line in messages(ex))


def test_missing_secret_names_both_ways_to_set_it(monkeypatch):
    monkeypatch.delenv("SECRET_NOPE", raising=False)
    ex = run_fixture("valid/kv/missing_secret.yaml")
    assert ex.state == "FAILED"
    message = ex.taskrun("log").message
    assert "nb_orchestra.set_secret('NOPE', value)" in message and "SECRET_NOPE" in message


def test_kv_function_searches_parent_namespaces_unless_one_is_named():
    StoreKV().set("company", "REGION", "eu")
    ex = run_flow("""
        tasks:
          - id: inherited
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('REGION') }}"
          - id: named
            type: io.kestra.plugin.core.debug.Return
            format: "{{ kv('REGION', 'company.team', false) ?? 'none' }}"
    """, namespace="company.team")
    assert ex.outputs.inherited.value == "eu"
    assert ex.outputs.named.value == "none"
