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

from nb_orchestra.kv import KVExpiredError, KVStoreError, kv_store
from nb_orchestra.secrets import set_secret

from .conftest import run_flow

SET = "io.kestra.plugin.core.kv.Set"
GET = "io.kestra.plugin.core.kv.Get"
DELETE = "io.kestra.plugin.core.kv.Delete"
GET_KEYS = "io.kestra.plugin.core.kv.GetKeys"
LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"


def messages(ex, task_id=None) -> list[str]:
    return [log.message for log in ex.logs if task_id is None or log.task_id == task_id]


def test_set_get_delete_get_keys():
    ex = run_flow(f"""
        tasks:
          - id: a
            type: {SET}
            key: "{{{{ 'report_' ~ 1 }}}}"
            value: first
          - id: b
            type: {SET}
            key: report_2
            value: "{{{{ 40 + 2 }}}}"
          - id: other_ns
            type: {SET}
            key: report_3
            namespace: elsewhere
            value: x
          - id: keys
            type: {GET_KEYS}
            prefix: report_
          - id: all_keys
            type: {GET_KEYS}
          - id: get
            type: {GET}
            key: report_2
          - id: missing
            type: {GET}
            key: nothing
          - id: del
            type: {DELETE}
            key: report_1
          - id: del_again
            type: {DELETE}
            key: report_1
          - id: after
            type: {GET_KEYS}
    """)
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    out = ex.outputs
    assert "a" not in out  # Set has no outputs
    assert out["keys"]["keys"] == ["report_1", "report_2"] == out["all_keys"]["keys"]
    assert out["get"]["value"] == 42
    assert out["missing"]["value"] is None
    assert out["del"]["deleted"] is True and out["del_again"]["deleted"] is False
    assert out["after"]["keys"] == ["report_2"]
    assert kv_store().get("elsewhere", "report_3") == (True, "x")


def test_error_on_missing_for_get_and_delete():
    ex = run_flow(f"""
        tasks:
          - id: get
            type: {GET}
            key: nothing
            errorOnMissing: true
            allowFailure: true
          - id: del
            type: {DELETE}
            key: nothing
            namespace: other
            errorOnMissing: true
    """)
    assert ex.taskrun("get").message == ("No value found for key 'nothing' in namespace 'tests' and "
                                         "`errorOnMissing` is set to true")
    assert ex.taskrun("del").message == ("No value found for key 'nothing' in namespace 'other' and "
                                         "`errorOnMissing` is set to true")


def test_values_keep_their_type_and_kv_type_converts_strings():
    ex = run_flow(f"""
        tasks:
          - id: plain
            type: {SET}
            key: plain
            value: "42"
          - id: number
            type: {SET}
            key: number
            value: "42.5"
            kvType: NUMBER
          - id: boolean
            type: {SET}
            key: boolean
            value: "TRUE"
            kvType: BOOLEAN
          - id: not_boolean
            type: {SET}
            key: not_boolean
            value: "yes"
            kvType: BOOLEAN
          - id: datetime
            type: {SET}
            key: datetime
            value: "2024-01-31T10:00:00+02:00"
            kvType: DATETIME
          - id: date
            type: {SET}
            key: date
            value: "2024-01-31T00:00:00Z"
            kvType: DATE
          - id: duration
            type: {SET}
            key: duration
            value: PT1H30M
            kvType: DURATION
          - id: json
            type: {SET}
            key: json
            value: '{{"a": [1, 2], "b": null}}'
            kvType: JSON
          - id: map_as_string
            type: {SET}
            key: map_as_string
            value:
              a: 1
          - id: typed_expression
            type: {SET}
            key: typed_expression
            value: "{{{{ {{'k': [1, true]}} }}}}"
            kvType: STRING
          - id: show
            type: {LOG}
            message: "{{{{ kv('duration') }}}} {{{{ kv('datetime') }}}} {{{{ kv('number') + 1 }}}}
              {{{{ kv('json').a[1] }}}} {{{{ fromJson(kv('map_as_string')).a }}}}"
    """)
    assert ex.state == "SUCCESS", [r.message for r in ex.taskruns]
    store = kv_store()
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
    kv_store().set("tests", "once", "first")
    ex = run_flow(f"""
        tasks:
          - id: fresh
            type: {SET}
            key: fresh
            value: v
            overwrite: false
          - id: again
            type: {SET}
            key: once
            value: second
            overwrite: "{{{{ 1 == 2 }}}}"
    """)
    assert ex.taskrun("fresh").state == "SUCCESS"
    assert ex.taskrun("again").message == ("Cannot set value for key 'once'. Key already exists and `overwrite` "
                                           "is set to `false`.")
    assert kv_store().get("tests", "once") == (True, "first")


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
    ex = run_flow(f"""
        tasks:
          - id: set
            type: {SET}
            key: short
            value: soon gone
            ttl: PT0.3S
          - id: now
            type: {LOG}
            message: "{{{{ kv('short') }}}}"
    """)
    assert messages(ex, "now") == ["soon gone"]
    time.sleep(0.4)
    after = run_flow(f"""
        tasks:
          - id: keys
            type: {GET_KEYS}
          - id: lenient
            type: {RETURN}
            format: "[{{{{ kv('short', errorOnMissing=false) }}}}]"
    """)
    assert after.outputs["keys"]["keys"] == []
    assert after.outputs["lenient"]["value"] == "[]"
    # Kestra's Get task fails on the first read of an expired value, which deletes it
    kv_store().set("tests", "again", 1, expires=datetime.now(timezone.utc) - timedelta(seconds=1))
    get = run_flow(f"""
        tasks:
          - id: expired
            type: {GET}
            key: again
            allowFailure: true
          - id: gone
            type: {GET}
            key: again
    """)
    assert get.taskrun("expired").message == "The requested value has expired"
    assert get.outputs["gone"]["value"] is None


def test_kv_reads_a_value_set_by_another_run_and_another_process(isolated_home):
    first = run_flow(f"""
        tasks:
          - id: set
            type: {SET}
            key: shared
            value: "{{{{ {{'rows': 3, 'at': execution.id}} }}}}"
    """)
    second = run_flow(f"""
        tasks:
          - id: read
            type: {RETURN}
            format: "{{{{ kv('shared').rows * 2 }}}} {{{{ kv('shared').at }}}}"
    """)
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
    store = kv_store()
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    store.set("a.b", "when", moment)
    store.set("a.b", "day", date(2024, 5, 1))
    store.set("a.b", "wait", timedelta(seconds=90))
    store.set("a.b", "looks_like_duration", "P2D")
    fresh = kv_store()  # a new object reads the store again
    assert fresh.get("a.b", "when") == (True, moment)
    assert fresh.get("a.b", "day") == (True, date(2024, 5, 1))
    assert fresh.get("a.b", "wait") == (True, timedelta(seconds=90))
    assert fresh.get("a.b", "looks_like_duration") == (True, timedelta(days=2))  # as Kestra reads it back
    with pytest.raises(KVStoreError, match="Key must start"):
        fresh.set("a.b", "no spaces", 1)


def test_inherited_lookup_walks_parent_namespaces():
    store = kv_store()
    store.set("company", "region", "eu")
    store.set("company.team", "region", "us")
    store.set("company", "owner", "ops")
    assert store.get_inherited("company.team.project", "region") == (True, "us")
    assert store.get_inherited("company.team.project", "owner") == (True, "ops")
    assert store.get_inherited("company.team.project", "missing") == (False, None)
    assert store.get("company.team.project", "owner") == (False, None)


def test_expired_error_only_when_asked():
    store = kv_store()
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
    ex = run_flow(f"""
        tasks:
          - id: log
            type: {LOG}
            message: "token={{{{ secret('API_TOKEN') }}}}; again {{{{ 'plain-s3cret' | upper | lower }}}}"
          - id: ret
            type: {RETURN}
            format: "{{{{ secret('API_TOKEN') }}}}"
    """)
    assert ex.state == "SUCCESS"
    assert messages(ex, "log") == ["token=******; again ******"]
    assert ex.outputs["ret"]["value"] == api_token  # outputs are not masked, as in Kestra
    assert all(api_token not in line for line in messages(ex))


def test_missing_secret_names_both_ways_to_set_it(monkeypatch):
    monkeypatch.delenv("SECRET_NOPE", raising=False)
    ex = run_flow(f"""
        tasks:
          - id: log
            type: {LOG}
            message: "{{{{ secret('NOPE') }}}}"
    """)
    assert ex.state == "FAILED"
    message = ex.taskrun("log").message
    assert "nb_orchestra.set_secret('NOPE', value)" in message and "SECRET_NOPE" in message


def test_kv_function_searches_parent_namespaces_unless_one_is_named():
    kv_store().set("company", "REGION", "eu")
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
