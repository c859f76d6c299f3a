"""The execution store on SQLite (test_store_postgres.py runs the same tests on PostgreSQL).

Each test reads what a run wrote through a NEW Store object (``open_store``),
which is what a new kernel or process sees.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import nb_orchestra
from nb_orchestra.config import settings
from nb_orchestra.errors import KVExpiredError, KVStoreError
from nb_orchestra.store import ExecutionNotFoundError, close_store, get_store, open_store, recorder, schema
from nb_orchestra.store.base import host
from nb_orchestra.store.kv import StoreKV
from nb_orchestra.store.log_chunks import count_lines
from nb_orchestra.store.orphans import owner_gone
from nb_orchestra.store.taskrun_chunks import count_runs
from nb_orchestra.store.triggers import StoreTriggerState

from .conftest import flow_text, load_fixture, run_fixture, run_flow

LOG = "io.kestra.plugin.core.log.Log"
FAIL = "io.kestra.plugin.core.execution.Fail"
CALL = "io.nb_orchestra.python.Call"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store_url() -> str | None:
    """None: SQLite under the home folder (test_store_postgres.py overrides it)."""
    return None


@pytest.fixture(autouse=True)
def recording(store_url, monkeypatch):
    monkeypatch.setattr(settings, "store", store_url)
    recorder.start_recording()
    yield
    recorder.flush()
    close_store()


def reopen():
    """What a new process sees: a fresh Store object on the same home and URL."""
    recorder.flush()
    return open_store(Path(os.path.abspath(settings.home)), settings.store)


def child_env() -> dict[str, str]:
    env = dict(os.environ, NB_ORCHESTRA_HOME=str(settings.home), PYTHONPATH=str(ROOT))
    env.pop("NB_ORCHESTRA_STORE", None)
    if settings.store:
        env["NB_ORCHESTRA_STORE"] = settings.store
    return env


# -- reading back what ran ------------------------------------------------------------------------


def test_execution_reads_back_from_a_new_store():
    ex = run_fixture("valid/store/reads_back.yaml", inputs={"n": 41, "day": "2024-05-06"}, labels={"run": "one"},
        trigger={"date": datetime(2019, 1, 1, 9, tzinfo=timezone.utc), "id": "daily"})
    assert ex.state == "WARNING"
    stored = reopen().execution(ex.id)
    assert (stored.id, stored.namespace, stored.flow_id, stored.state) == (ex.id, "tests", "test", "WARNING")
    assert stored.inputs == {"n": 41, "day": date(2024, 5, 6)}
    assert stored.labels == {"team": "data", "run": "one"}
    assert stored.trigger == {"date": datetime(2019, 1, 1, 9, tzinfo=timezone.utc), "id": "daily"}
    assert stored.original_id == ex.id and stored.revision == 1
    assert stored.flow_outputs == {"answer": 42}
    assert [s for s, _ in stored.state_history] == ["CREATED", "RUNNING", "WARNING"]
    assert stored.start_date == ex.start_date and stored.end_date == ex.end_date
    # Outputs: the same tree the engine built, typed values back as their types.
    assert stored.outputs == ex.outputs
    assert stored.outputs.typed.value["price"] == Decimal("1.10")
    assert stored.outputs.typed.value["wait"] == timedelta(minutes=5)
    assert stored.outputs["ret"]["b"]["2"].value == "b2"
    # Task runs: order, parents, loop values, attempts, messages.
    assert [(r.task_id, r.value, r.state) for r in stored.taskruns] == \
        [(r.task_id, r.value, r.state) for r in ex.taskruns]
    assert [r.parent_id for r in stored.taskruns] == [r.parent_id for r in ex.taskruns]
    inner_b = stored.taskrun("ret", "2")
    assert (inner_b.parent.task_id, inner_b.parent.value, inner_b.parent.parent.task_id) == ("inner", "b", "outer")
    flaky = stored.taskrun("flaky")
    assert len(flaky.attempts) == 2 and [a.state for a in flaky.attempts] == ["FAILED", "FAILED"]
    # Dates: the same microsecond live and read back (the engine keeps them as float seconds).
    assert [(r.start_date, r.end_date) for r in stored.taskruns] == [(r.start_date, r.end_date) for r in ex.taskruns]
    assert [(a.start_date, a.end_date) for a in flaky.attempts] == \
        [(a.start_date, a.end_date) for a in ex.taskrun("flaky").attempts]
    assert [log.timestamp for log in stored.logs] == [log.timestamp for log in ex.logs]
    assert flaky.state == "WARNING" and flaky.message == ex.taskrun("flaky").message
    assert stored.counts() == ex.counts()
    # Logs, in order, with their task runs.
    assert [(g.task_id, g.taskrun_id, g.level, g.message) for g in stored.logs] == \
        [(g.task_id, g.taskrun_id, g.level, g.message) for g in ex.logs]
    assert stored.logs_of("hello")[0].message == "n is 41"
    assert "id: test" in stored.flow_source
    # Views draw it like a live execution.
    assert "hello" in stored._repr_html_() and ex.id in repr(stored)
    assert json.dumps(stored.to_dict(), default=str)


def test_lookup_by_prefix_and_errors():
    ex = run_flow(f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n")
    store = reopen()
    assert store.execution(ex.id[:8]).id == ex.id
    with pytest.raises(ExecutionNotFoundError):
        store.execution("zzzz")
    with pytest.raises(ExecutionNotFoundError):
        store.execution("")


def test_filters_and_newest_first():
    ids = {}
    for namespace, flow_id, body, labels in [
        ("company.team", "ok", f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n", {"env": "dev"}),
        ("company.team", "bad", f"tasks:\n  - id: a\n    type: {FAIL}\n", {"env": "prod"}),
        ("company", "ok", f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n", {"env": "prod"}),
        ("other", "ok", f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n", {}),
    ]:
        ex = nb_orchestra.run(flow_text(body, flow_id=flow_id, namespace=namespace), labels=labels)
        ids[(namespace, flow_id)] = ex
    store = reopen()
    every = [e.id for e in store.executions()]
    assert every == [e.id for e in reversed(list(ids.values()))]
    assert {e.id for e in store.executions(flow_id="ok")} == \
        {ids[k].id for k in [("company.team", "ok"), ("company", "ok"), ("other", "ok")]}
    assert {e.id for e in store.executions(namespace="company")} == \
        {ids[k].id for k in [("company.team", "ok"), ("company.team", "bad"), ("company", "ok")]}
    assert [e.id for e in store.executions(namespace="company.team", flow_id="ok")] == \
        [ids[("company.team", "ok")].id]
    assert [e.id for e in store.executions(state="FAILED")] == [ids[("company.team", "bad")].id]
    assert len(store.executions(state=["SUCCESS", "FAILED"])) == 4
    assert {e.id for e in store.executions(label="env=prod")} == \
        {ids[("company.team", "bad")].id, ids[("company", "ok")].id}
    assert len(store.executions(label="env")) == 3
    assert len(store.executions(limit=2)) == 2
    later = ids[("company", "ok")].start_date
    assert {e.id for e in store.executions(since=later)} == {ids[("company", "ok")].id, ids[("other", "ok")].id}
    assert [e.id for e in nb_orchestra.executions(flow_id="bad")] == [ids[("company.team", "bad")].id]


def test_ten_thousand_task_runs_cost_few_transactions():
    store = get_store()
    before = store.transactions
    ex = run_fixture("valid/store/ten_thousand_task_runs.yaml")
    recorder.flush()
    assert ex.state == "SUCCESS" and len(ex.taskruns) == 10_001
    assert store.transactions - before < 50, store.transactions - before
    stored = reopen().execution(ex.id)
    assert len(stored.taskruns) == 10_001 and len(stored.logs) == len(ex.logs) == 10_000
    assert all(r.state == "SUCCESS" for r in stored.taskruns)
    assert stored.outputs.ret["9999"].value == "9999-x" and len(stored.outputs.ret) == 10_000


def test_restart_and_replay_are_recorded(monkeypatch):
    from .test_resume import FLOW

    monkeypatch.setenv("ENV_BROKEN", "b")
    ex = run_flow(FLOW)
    recorder.flush()
    first = reopen().execution(ex.id)
    assert first.state == "FAILED" and ("r", "c") not in {(r.task_id, r.value) for r in first.taskruns}
    monkeypatch.delenv("ENV_BROKEN")
    assert ex.restart().state == "SUCCESS"
    stored = reopen().execution(ex.id)
    assert stored.state == "SUCCESS"
    assert [s for s, _ in stored.state_history][-3:] == ["RESTARTED", "RUNNING", "SUCCESS"]
    assert {r.id for r in stored.taskruns} == {r.id for r in ex.taskruns}  # each task run once
    order = [r.id for r in stored.taskruns]
    assert order[:len(first.taskruns)] == [r.id for r in first.taskruns]  # earlier ones first, then new ones
    assert [a.state for a in stored.taskrun("check", "b").attempts] == ["FAILED", "SUCCESS"]
    assert stored.outputs == ex.outputs and len(stored.logs) == len(ex.logs)
    replay = nb_orchestra.replay(ex, "after")  # a new execution: copies plus a new run, all recorded
    copy = reopen().execution(replay.id)
    assert copy.original_id == ex.id and copy.state == "SUCCESS"
    assert [(r.task_id, r.value) for r in copy.taskruns] == [(r.task_id, r.value) for r in replay.taskruns]


# -- outputs at rest ----------------------------------------------------------------------------------


class Point:
    """A picklable object that is not JSON."""

    def __init__(self, x: int):
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x


def make_point() -> Point:
    return Point(7)


def make_frame():
    import pandas

    return pandas.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


def make_lock():
    return {"lock": threading.Lock(), "ok": 1}


def test_objects_as_files_and_repr_markers():
    ex = run_flow(f"""
        tasks:
          - id: point
            type: {CALL}
            function: "tests.test_store:make_point"
          - id: lock
            type: {CALL}
            function: "tests.test_store:make_lock"
    """)
    assert ex.state == "SUCCESS"
    stored = reopen().execution(ex.id)
    assert stored.outputs.point.value == Point(7)
    marker = stored.outputs.lock.value["lock"]
    assert marker["$nbo"] == "repr" and "lock" in marker["text"]
    assert stored.outputs.lock.value["ok"] == 1
    folder = settings.execution_dir("tests", "test", ex.id) / "outputs"
    assert [p.suffix for p in folder.iterdir()] == [".pickle"]


def test_dataframe_output_is_parquet():
    import pandas  # the dev extra installs pandas and pyarrow: the Parquet path is always tested

    ex = run_flow(f"""
        tasks:
          - id: frame
            type: {CALL}
            function: "tests.test_store:make_frame"
    """)
    stored = reopen().execution(ex.id)
    pandas.testing.assert_frame_equal(stored.outputs.frame.value, make_frame())
    folder = settings.execution_dir("tests", "test", ex.id) / "outputs"
    assert [p.suffix for p in folder.iterdir()] == [".parquet"]


def test_secrets_are_masked_at_rest():
    nb_orchestra.set_secret("TOKEN", "s3cr3t-value")
    try:
        ex = run_fixture("valid/store/secrets_at_rest.yaml")
    finally:
        nb_orchestra.set_secret("TOKEN", None)
    assert ex.outputs.ret.value == "token=s3cr3t-value"  # in memory the flow sees it
    stored = reopen().execution(ex.id)
    assert stored.outputs.ret.value == "token=******"
    assert stored.flow_outputs == {"leaked": "token=******"}
    assert stored.logs_of("say")[0].message == "token=******"
    dump = json.dumps(stored.to_dict(), default=str)
    assert "s3cr3t" not in dump
    store = reopen()
    with store.transaction(write=False) as tx:
        for table in ("executions", "taskrun_chunks", "log_chunks"):
            assert "s3cr3t" not in repr(tx.rows(f"SELECT * FROM {table}"))
    for path in settings.home.rglob("*"):
        assert path.is_dir() or b"s3cr3t" not in path.read_bytes(), path


# -- crash safety --------------------------------------------------------------------------------------

SLEEPER = textwrap.dedent("""
    import nb_orchestra
    from nb_orchestra.store import recorder
    recorder.start_recording()
    nb_orchestra.run('''
    {text}''')
""").replace("{text}", load_fixture("valid/store/sleeper.yaml"))


def test_kill_minus_9_leaves_no_running_execution():
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], env=child_env(), cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        store = open_store(Path(os.path.abspath(settings.home)), settings.store)
        while True:
            found = store.executions(flow_id="sleeper")
            if found and found[0].state == "RUNNING" and any(r.task_id == "nap" for r in found[0].taskruns):
                break
            assert child.poll() is None and time.monotonic() < deadline, "the child never showed RUNNING"
            time.sleep(0.1)
        store.close()
    finally:
        if sys.platform == "win32":
            child.kill()  # TerminateProcess
        else:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
    stored = reopen().execution(found[0].id)
    assert stored.state == "KILLED"
    assert stored.message == f"process {child.pid} on {host()} died"
    assert stored.logs[-1].message.startswith(f"execution killed: process {child.pid} on ")
    assert stored.taskrun("nap").state == "KILLED" and stored.taskrun("hello").state == "SUCCESS"
    assert [s for s, _ in stored.state_history][-1] == "KILLED" and stored.end_date is not None


def test_owner_rules():
    now = datetime.now(timezone.utc)
    fresh, stale = now - timedelta(seconds=5), now - timedelta(seconds=120)
    assert not owner_gone(os.getppid(), host(), fresh, "x", set(), now)      # a live process here
    assert owner_gone(os.getpid(), host(), fresh, "x", set(), now)           # this process doesn't know it
    assert not owner_gone(os.getpid(), host(), fresh, "x", {"x"}, now)
    assert not owner_gone(1, "elsewhere", fresh, "x", set(), now)          # another host, beating
    assert owner_gone(1, "elsewhere", stale, "x", set(), now)              # another host, silent
    assert owner_gone(os.getppid(), host(), stale, "x", set(), now)


WRITER = textwrap.dedent("""
    import sys, time, nb_orchestra
    from nb_orchestra.config import settings
    from nb_orchestra.store import recorder
    recorder.start_recording()
    (settings.home / f"ready-{sys.argv[2]}").touch()
    while not (settings.home / "go").exists():  # start together with the other writers
        time.sleep(0.01)
    for i in range(int(sys.argv[1])):
        ex = nb_orchestra.run('''{text}''', labels={"writer": sys.argv[2]})
        assert ex.state == "SUCCESS", ex.state
    recorder.flush()
""")
WRITER_FLOW = load_fixture("valid/store/busy.yaml")


def test_concurrent_writers_lose_nothing():
    runs = 30
    script = WRITER.replace("{text}", WRITER_FLOW)
    settings.home.mkdir(parents=True)
    children = [subprocess.Popen([sys.executable, "-c", script, str(runs), f"p{n}"], env=child_env(), cwd=ROOT)
                for n in range(2)]
    deadline = time.monotonic() + 60
    while not all((settings.home / f"ready-p{n}").exists() for n in range(2)):
        assert time.monotonic() < deadline and all(c.poll() is None for c in children), "writers did not start"
        time.sleep(0.01)
    (settings.home / "go").touch()
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            for _ in range(runs):
                assert nb_orchestra.run(WRITER_FLOW, labels={"writer": "thread"}).state == "SUCCESS"
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(120)
    assert [child.wait(120) for child in children] == [0, 0] and not errors
    store = reopen()
    found = store.executions(flow_id="busy", limit=None)
    assert len(found) == 3 * runs and len({e.id for e in found}) == 3 * runs
    for writer in ("p0", "p1", "thread"):
        assert len(store.executions(label=f"writer={writer}", limit=None)) == runs
    for ex in found:
        assert ex.state == "SUCCESS"
        assert [(r.task_id, r.value) for r in ex.taskruns] == \
            [("first", None), ("each", None), ("say", "1"), ("say", "2"), ("say", "3")]
        assert [g.message for g in ex.logs] == ["one", "1", "2", "3"]
    with store.transaction(write=False) as tx:
        assert count_runs(text for text, in tx.rows("SELECT entries FROM taskrun_chunks")) == 3 * runs * 5
        assert count_lines(text for text, in tx.rows("SELECT entries FROM log_chunks")) == 3 * runs * 4
        assert tx.rows("SELECT COUNT(*) FROM flows WHERE flow_id = 'busy'")[0][0] == 1
    if settings.store is None:
        assert store.integrity_check() == "ok"


# -- retention, revisions, KV, triggers, schema --------------------------------------------------------


def test_purge_removes_old_executions_and_their_files():
    old = run_flow(f"tasks:\n  - id: p\n    type: {CALL}\n    function: tests.test_store:make_point\n")
    other = nb_orchestra.run(flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: x\n", flow_id="keep"))
    recorder.flush()
    folder = settings.execution_dir("tests", "test", old.id)
    assert folder.exists()
    store = reopen()
    assert store.purge(timedelta(days=30)) == {"executions": 0, "taskruns": 0, "logs": 0, "folders": 0}
    time.sleep(0.05)
    assert store.purge(timedelta(seconds=0), flow_id="test") == \
        {"executions": 1, "taskruns": 1, "logs": 0, "folders": 1}
    assert not folder.exists()
    assert [e.id for e in store.executions()] == [other.id]
    assert store.purge(timedelta(0), namespace="tests")["logs"] == 1


def test_flow_revisions_count_changed_sources():
    one = flow_text(f"tasks:\n  - id: a\n    type: {LOG}\n    message: one\n")
    two = one.replace("message: one", "message: two")
    store = get_store()
    assert [store.save_flow(nb_orchestra.load_flow(text)) for text in (one, one, two, two, one)] == [1, 1, 2, 2, 3]
    assert store.flow_revisions("tests", "test") == [1, 2, 3]
    assert store.flow_source("tests", "test", 2) == two and store.flow_source("tests", "test") == one
    ex = nb_orchestra.run(two)
    assert reopen().execution(ex.id).revision == 4 and reopen().execution(ex.id).flow_source == two
    with pytest.raises(nb_orchestra.UserError):
        store.flow_source("tests", "nope")


def test_kv_semantics():
    kv = StoreKV()
    values = {"s": "text", "n": 42, "f": 1.5, "b": True, "when": datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc),
              "day": date(2024, 1, 2), "wait": timedelta(minutes=5), "doc": {"a": [1, 2]}, "dur": "PT1H"}
    for key, value in values.items():
        kv.set("company.team", key, value)
    assert {key: kv.get("company.team", key) for key in values} == {
        **{key: (True, value) for key, value in values.items()}, "dur": (True, timedelta(hours=1))}
    assert kv.keys("company.team") == sorted(values) and kv.keys("company.team", "d") == ["day", "doc", "dur"]
    assert kv.get("company.team", "missing") == (False, None)
    assert kv.get_inherited("company.team.sub", "n") == (True, 42)
    kv.set("company", "top", 1)
    assert kv.get_inherited("company.team", "top") == (True, 1)
    with pytest.raises(KVStoreError):
        kv.set("company", "top", 2, overwrite=False)
    kv.set("company", "gone", 1, expires=datetime.now(timezone.utc) - timedelta(seconds=1))
    kv.set("company", "gone", 2, overwrite=False)  # an expired entry may be replaced
    kv.set("company", "old", 1, expires=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert "old" not in kv.keys("company")
    with pytest.raises(KVExpiredError):
        kv.get("company", "old", expired_error=True)
    assert kv.get("company", "old") == (False, None)
    assert kv.delete("company", "top") and not kv.delete("company", "top")
    with pytest.raises(KVStoreError):
        kv.set("company", "-bad", 1)


def test_trigger_state():
    state = StoreTriggerState()
    assert state.get_last("tests", "f", "daily") is None
    tick = datetime(2024, 3, 1, 9, tzinfo=timezone.utc)
    state.set_last("tests", "f", "daily", tick)
    state.set_last("tests", "f", "daily", tick + timedelta(days=1))
    assert StoreTriggerState(reopen()).get_last("tests", "f", "daily") == tick + timedelta(days=1)
    assert state.get_last("tests", "f", "other") is None


def test_schema_is_versioned_and_reopening_is_idempotent():
    for _ in range(2):
        store = reopen()
        with store.transaction(write=False) as tx:
            assert tx.rows("SELECT version FROM schema_version") == [(schema.LATEST,)]
        store.close()


def test_plain_json_values_take_the_fast_path_and_read_back_the_same():
    from nb_orchestra.store.serialize import Encoder, loads

    encode = Encoder()
    plain = {"value": "3-x", "rows": [1, 2.5, None, True], "nested": {"a": ["b"]}}
    assert encode.dumps(plain) == json.dumps(plain, ensure_ascii=False)
    tagged = {1: "int key", "when": datetime(2026, 1, 2, tzinfo=timezone.utc), "$nbo": "not a tag"}
    assert loads(encode.dumps(tagged)) == tagged  # what JSON cannot hold as it is still goes through the tags
    assert "s3cr3t" not in Encoder(["s3cr3t"]).dumps({"value": "a s3cr3t"})  # masked: never the fast path


def test_a_version_1_store_is_migrated_and_reads_back_the_same():
    """Stores written before task runs and logs became chunks (a row each, attempts' dates as ISO
    text or, older still, as tagged datetimes) are converted when first opened, nothing lost."""
    from nb_orchestra.store.serialize import Encoder

    moment = datetime(2026, 1, 2, 3, 4, 5, 600_007, tzinfo=timezone.utc)
    iso = "2026-01-02T03:04:05.600007+00:00"
    nb_orchestra.run(flow_text("tasks: [{id: hi, type: io.kestra.plugin.core.log.Log, message: hi}]"))  # the store
    store = reopen()
    v1 = [statement for statement in schema.statements(schema.MIGRATIONS[0][1], store.types)
          if statement.startswith(("CREATE TABLE taskruns", "CREATE TABLE logs"))]
    source = ("id: old\nnamespace: demo\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
              "    values: [a]\n    tasks:\n      - id: say\n        type: io.kestra.plugin.core.debug.Return\n"
              "        format: x\n")
    tagged_attempts = Encoder().dumps([{"state": "FAILED", "start_date": moment, "end_date": moment},
                                       {"state": "SUCCESS", "start_date": moment, "end_date": moment}])
    text_attempts = json.dumps([{"state": "SUCCESS", "start_date": iso, "end_date": None}])
    rows = [("c", "e1", 1, "say", "io.kestra.plugin.core.debug.Return", "a", 0, "p", '["a"]', "SUCCESS",
             text_attempts, moment, None, Encoder().dumps({"value": "x", "at": moment}),
             '[{"name": "n", "value": 2}]', None),
            ("p", "e1", 0, "each", "io.kestra.plugin.core.flow.ForEach", None, None, None, "[]", "SUCCESS",
             tagged_attempts, moment, moment, None, None, "it went")]
    with store.transaction() as tx:  # the tables as version 1 left them
        tx.execute("DROP TABLE taskrun_chunks")
        tx.execute("DROP TABLE log_chunks")
        for statement in v1:
            tx.execute(statement)
        tx.execute("UPDATE schema_version SET version = 1")
        tx.execute("INSERT INTO flows VALUES ('demo', 'old', 1, ?, ?)", (source, moment))
        tx.execute("INSERT INTO executions (id, namespace, flow_id, revision, state, state_history, start_date, "
                   "end_date) VALUES ('e1', 'demo', 'old', 1, 'SUCCESS', '[]', ?, ?)", (moment, moment))
        tx.executemany(f"INSERT INTO taskruns VALUES ({', '.join('?' * 16)})", rows)
        tx.executemany("INSERT INTO logs VALUES ('e1', ?, 'say', 'c', 'a', ?, ?, ?)",
                       [(1, "WARN", "second", moment), (0, "INFO", "first", moment)])
    store.close()

    store = reopen()
    with store.transaction(write=False) as tx:
        assert tx.rows("SELECT version FROM schema_version") == [(schema.LATEST,)]
    with pytest.raises(Exception, match="taskruns"), store.transaction(write=False) as tx:
        tx.rows("SELECT * FROM taskruns")
    parent, child = store.execution("e1").taskruns
    assert (parent.id, parent.task_id, parent.path, parent.value, parent.message, parent.end_date) == \
        ("p", "each", (), None, "it went", moment)
    assert [(a.state, a.start_date, a.end_date) for a in parent.attempts] == \
        [("FAILED", moment, moment), ("SUCCESS", moment, moment)]
    assert (child.parent, child.path, child.iteration, child.end_date) == (parent, ("a",), 0, None)
    assert [(a.state, a.start_date, a.end_date) for a in child.attempts] == [("SUCCESS", moment, None)]
    assert child.outputs == {"value": "x", "at": moment} and child.metrics == [{"name": "n", "value": 2}]
    assert store.execution("e1").outputs.say.a.value == "x"
    logs = store.execution("e1").logs
    assert [(g.task_id, g.taskrun_id, g.value, g.level, g.message, g.timestamp) for g in logs] == \
        [("say", "c", "a", "INFO", "first", moment), ("say", "c", "a", "WARN", "second", moment)]
    store.close()


def test_task_runs_written_twice_read_back_once_in_their_first_place(isolated_home):
    """A loop recorded over several flushes: runs written RUNNING, then SUCCESS, are read back once, in
    the order they started, with their last state, in this process and in a new one."""
    ex = nb_orchestra.run(flow_text(
        f"tasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [1, 2, 3]\n"
        f"    tasks:\n      - id: nap\n        type: io.kestra.plugin.core.flow.Sleep\n        duration: PT0.3S\n"
        f"      - id: say\n        type: {LOG}\n        message: '{{{{ taskrun.value }}}}'\n"))
    store = reopen()
    with store.transaction(write=False) as tx:
        assert tx.rows("SELECT COUNT(*) FROM taskrun_chunks WHERE execution_id = ?", (ex.id,))[0][0] > 1
    stored = store.execution(ex.id).taskruns
    assert [(r.id, r.task_id, r.value, r.state) for r in stored] == \
        [(r.id, r.task_id, r.value, r.state) for r in ex.taskruns]
    assert [r.end_date for r in stored] == [r.end_date for r in ex.taskruns]
    assert [(g.taskrun_id, g.level, g.message, g.timestamp) for g in store.execution(ex.id).logs] == \
        [(g.taskrun_id, g.level, g.message, g.timestamp) for g in ex.logs]


def test_a_long_flush_is_written_in_bounded_chunks(isolated_home, monkeypatch):
    """More task runs or log lines than CHUNK_SIZE in one flush: several chunks, read back in order."""
    from nb_orchestra.store import chunks

    monkeypatch.setattr(chunks, "CHUNK_SIZE", 3)
    ex = nb_orchestra.run(flow_text(
        f"tasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [a, b, c, d, e, f, g]\n"
        f"    tasks:\n      - id: say\n        type: {LOG}\n        message: '{{{{ taskrun.value }}}}'\n"))
    store = reopen()
    with store.transaction(write=False) as tx:
        sizes = {table: [len(json.loads(text)) for text, in tx.rows(
            f"SELECT entries FROM {table} WHERE execution_id = ? ORDER BY seq", (ex.id,))]
            for table in ("taskrun_chunks", "log_chunks")}
    assert max(max(found) for found in sizes.values()) == 3 and sum(sizes["log_chunks"]) == 7
    stored = store.execution(ex.id)
    assert [(r.task_id, r.value, r.state) for r in stored.taskruns] == \
        [(r.task_id, r.value, r.state) for r in ex.taskruns]
    assert [g.message for g in stored.logs] == list("abcdefg")


def test_chunks_beyond_one_statement_are_numbered_in_order(isolated_home, monkeypatch):
    """One entry per chunk: a flush writes more chunks than one statement holds (CHUNKS_PER_STATEMENT)."""
    from nb_orchestra.store import chunks

    monkeypatch.setattr(chunks, "CHUNK_SIZE", 1)
    values = [str(i) for i in range(2 * chunks.CHUNKS_PER_STATEMENT + 3)]
    ex = nb_orchestra.run(flow_text(
        f"tasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: {json.dumps(values)}\n"
        f"    tasks:\n      - id: say\n        type: {LOG}\n        message: '{{{{ taskrun.value }}}}'\n"))
    store = reopen()
    with store.transaction(write=False) as tx:
        seqs = [seq for seq, in tx.rows("SELECT seq FROM log_chunks WHERE execution_id = ? ORDER BY seq", (ex.id,))]
    assert seqs == list(range(len(values)))
    assert [g.message for g in store.execution(ex.id).logs] == values
