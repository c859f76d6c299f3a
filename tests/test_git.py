"""io.kestra.plugin.git.*: the real git against bare repositories made by the tests, served over
``file://`` and over HTTP by ``git http-backend`` on 127.0.0.1 (basic authentication)."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

import nb_orchestra
from nb_orchestra import internal_storage, registry

from .conftest import messages, run_fixture
from .git_server import PASSWORD, GitHttpServer, git, make_repository

FLOW = """id: {id}
namespace: whatever

tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{message}"
"""


@pytest.fixture
def repos(tmp_path):
    root = tmp_path / "repos"
    root.mkdir()
    return root


@pytest.fixture
def http(repos):
    server = GitHttpServer(repos)
    yield server
    server.close()


def rows(uri: str) -> list[dict]:
    """The rows of a diff output: Ion text, one struct per line (JSON is Ion)."""
    return [json.loads(line) for line in internal_storage.to_path(uri).read_text().splitlines()]


def everything_shown(ex) -> str:
    """All the text an execution shows: logs, messages, outputs."""
    return "\n".join([*messages(ex), *(run.message or "" for run in ex.taskruns), json.dumps(
        [run.outputs for run in ex.taskruns], default=str)])


# -- Clone -----------------------------------------------------------------------------------------

def test_clone_a_branch_shallow_over_http_with_credentials_kept_secret(repos, http):
    make_repository(repos, "shop.git", {
        "main": [{"README.md": "main readme\n"}],
        "dev": [{"README.md": "dev readme, first\n"}, {"README.md": "dev readme, second\n", "x.sql": "select 1\n"}],
    })
    ex = run_fixture("valid/git/clone_branch.yaml", inputs={"url": http.url("shop.git"), "password": PASSWORD})
    assert ex.state == "SUCCESS", everything_shown(ex)
    look = messages(ex, "look")
    assert look == ["dev readme, second", "commits=1", "branch=dev", "autocrlf=false",
                    f"origin={http.url('shop.git')}", "helpers=0"]  # no credential kept in the clone
    directory = ex.outputs.clone.directory
    assert directory.endswith("/project")
    assert "Start cloning from 'http://127.0.0.1:" in messages(ex, "clone")[0]
    assert PASSWORD not in everything_shown(ex)


def test_clone_a_tag_from_a_file_url_as_a_detached_head(repos):
    bare = make_repository(repos, "tags.git", {"main": [{"a.txt": "one\n"}, {"a.txt": "two\n"}]})
    first = git("rev-list", "--max-parents=0", "main", cwd=bare).strip()
    git("tag", "v1", first, cwd=bare)
    ex = run_fixture("valid/git/clone_tag.yaml", inputs={"url": bare.as_uri()})
    assert ex.state == "SUCCESS", everything_shown(ex)
    assert f"Checked out tag v1 at commit {first}" in messages(ex, "clone")


def test_a_wrong_password_fails_with_git_s_reason_and_no_secret(repos, http):
    make_repository(repos, "private.git", {"main": [{"a.txt": "a\n"}]})
    ex = run_fixture("valid/git/clone_branch.yaml",
                     inputs={"url": http.url("private.git"), "password": "wrong-pa55word"})
    assert ex.state == "FAILED"
    message = ex.taskrun("clone").message
    assert message.startswith("git clone failed (exit 128): fatal: Authentication failed for 'http://127.0.0.1:")
    assert "wrong-pa55word" not in everything_shown(ex)


def test_credentials_inside_the_url_never_show(repos, http):
    make_repository(repos, "inline.git", {"main": [{"a.txt": "a\n"}]})
    url = http.url("nothing-here.git").replace("http://", f"http://student:{PASSWORD}@")
    ex = run_fixture("valid/git/clone_tag.yaml", inputs={"url": url})
    assert ex.state == "FAILED"
    shown = everything_shown(ex)
    assert PASSWORD not in shown and "student" not in shown
    assert messages(ex, "clone")[0].startswith("Start cloning from 'http://******@127.0.0.1:")
    assert ex.taskrun("clone").message.startswith("git clone failed (exit 128): fatal: repository 'http://127.0.0.1:")


def test_a_missing_git_program_is_a_clear_error(repos, monkeypatch, tmp_path):
    bare = make_repository(repos, "any.git", {"main": [{"a.txt": "a\n"}]})
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    ex = run_fixture("valid/git/clone_tag.yaml", inputs={"url": bare.as_uri()})
    assert ex.state == "FAILED"
    assert ex.taskrun("clone").message.startswith(
        "the git tasks run the `git` program, which was not found on PATH: install Git")
    monkeypatch.setenv("NB_ORCHESTRA_GIT", str(empty / "git"))
    ex = run_fixture("valid/git/clone_tag.yaml", inputs={"url": bare.as_uri()})
    assert ex.taskrun("clone").message == f"NB_ORCHESTRA_GIT={empty / 'git'} is not an executable git program"


# -- SyncNamespaceFiles and SyncFlows ------------------------------------------------------------------

def test_sync_namespace_files_dry_run_then_for_real_with_delete(repos, http, isolated_home):
    make_repository(repos, "files.git", {"main": [{
        "scripts/etl.py": "print('etl')\n", "scripts/sql/orders.sql": "select * from orders\n",
        "scripts/same.txt": "same\n", "scripts/.gitkeep": "", "other/ignored.txt": "not synced\n"}]})
    root = internal_storage.namespace_files_dir("company.team")
    (root / "old").mkdir(parents=True)
    (root / "old" / "gone.txt").write_text("only here\n")
    (root / "same.txt").write_text("same\n")
    (root / "etl.py").write_text("print('old etl')\n")
    inputs = {"url": http.url("files.git"), "password": PASSWORD}

    dry = run_fixture("valid/git/sync_namespace_files.yaml", inputs={**inputs, "dry_run": True})
    assert dry.state == "SUCCESS", everything_shown(dry)
    expected = [
        {"gitPath": None, "syncState": "DELETED", "kestraPath": "/old/gone.txt"},
        {"gitPath": "scripts/etl.py", "syncState": "OVERWRITTEN", "kestraPath": "/etl.py"},
        {"gitPath": "scripts/same.txt", "syncState": "UNCHANGED", "kestraPath": "/same.txt"},
        {"gitPath": "scripts/sql/orders.sql", "syncState": "ADDED", "kestraPath": "/sql/orders.sql"},
    ]
    assert rows(dry.outputs.sync.files) == expected
    assert (root / "old" / "gone.txt").exists() and (root / "etl.py").read_text() == "print('old etl')\n"

    ex = run_fixture("valid/git/sync_namespace_files.yaml", inputs={**inputs, "dry_run": False})
    assert ex.state == "SUCCESS", everything_shown(ex)
    assert rows(ex.outputs.sync.files) == expected
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "etl.py", "same.txt", "sql", "sql/orders.sql"]
    assert (root / "etl.py").read_text() == "print('etl')\n"
    assert PASSWORD not in everything_shown(ex)


def test_sync_flows_into_the_registry_then_they_run(repos):
    bare = make_repository(repos, "flows.git", {"main": [{
        "_flows/hello.yml": FLOW.format(id="hello", message="hello from git"),
        "_flows/team/report.yaml": FLOW.format(id="report", message="report"),
        "_flows/.gitkeep": "",
    }]})
    nb_orchestra.register_flow(FLOW.format(id="stale", message="old").replace("whatever", "prod"))
    nb_orchestra.register_flow(FLOW.format(id="report", message="report v0").replace("whatever", "prod.team"))

    ex = run_fixture("valid/git/sync_flows.yaml", inputs={"url": bare.as_uri()})
    assert ex.state == "SUCCESS", everything_shown(ex)
    assert rows(ex.outputs.sync.flows) == [
        {"gitPath": None, "syncState": "DELETED", "namespace": "prod", "flowId": "stale", "revision": 1},
        {"gitPath": "_flows/hello.yml", "syncState": "ADDED", "namespace": "prod", "flowId": "hello",
         "revision": 1},
        {"gitPath": "_flows/team/report.yaml", "syncState": "UPDATED", "namespace": "prod.team",
         "flowId": "report", "revision": 2},
    ]
    assert sorted(f"{f.namespace}.{f.id}" for f in registry.flows()) == ["prod.hello", "prod.team.report"]
    assert registry.find_flow("prod", "hello").source.splitlines()[1] == "namespace: prod"
    hello = nb_orchestra.run("prod.hello")
    assert messages(hello, "hello") == ["hello from git"]

    again = run_fixture("valid/git/sync_flows.yaml", inputs={"url": bare.as_uri()})
    assert [row["syncState"] for row in rows(again.outputs.sync.flows)] == ["UNCHANGED", "UNCHANGED"]


def test_an_invalid_flow_in_the_repository_fails_the_sync_or_is_skipped(repos):
    bare = make_repository(repos, "bad.git", {"main": [{
        "_flows/good.yml": FLOW.format(id="good", message="fine"),
        "_flows/bad.yml": "id: bad\nnamespace: x\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Nope\n",
    }]})
    ex = run_fixture("valid/git/sync_flows.yaml", inputs={"url": bare.as_uri()})
    assert ex.state == "FAILED"
    assert ex.taskrun("sync").message.startswith("Invalid flow imported from Git (_flows/bad.yml): 1 problem(s)")
    skipped = run_fixture("valid/git/sync_flows.yaml", inputs={"url": bare.as_uri(), "ignore_invalid": True})
    assert skipped.state == "SUCCESS"
    assert [row["flowId"] for row in rows(skipped.outputs.sync.flows)] == ["good"]
    assert any(m.startswith("Invalid flow imported from Git (_flows/bad.yml)") for m in messages(skipped, "sync",
                                                                                                  "WARN"))


# -- PushFlows, PushNamespaceFiles, Push ----------------------------------------------------------------

def test_push_flows_to_a_new_branch_over_http_then_delete_one(repos, http):
    bare = make_repository(repos, "deploy.git", {"main": [{"README.md": "deploy\n"}]})
    nb_orchestra.register_flow(FLOW.format(id="load", message="load").replace("whatever", "dev"))
    nb_orchestra.register_flow(FLOW.format(id="clean", message="clean").replace("whatever", "dev.team"))
    nb_orchestra.register_flow(FLOW.format(id="other", message="other").replace("whatever", "development"))
    inputs = {"url": http.url("deploy.git"), "password": PASSWORD}

    dry = run_fixture("valid/git/push_flows.yaml", inputs={**inputs, "dry_run": True})
    assert dry.state == "SUCCESS", everything_shown(dry)
    assert dry.outputs.push.commitId is None
    assert [row["file"] for row in rows(dry.outputs.push.flows)] == ["_flows/load.yml", "_flows/team/clean.yml"]
    assert git("branch", "--list", cwd=bare).split() == ["*", "main"]

    ex = run_fixture("valid/git/push_flows.yaml", inputs=inputs)
    assert ex.state == "SUCCESS", everything_shown(ex)
    sha = ex.outputs.push.commitId
    assert sha == git("rev-parse", "flows", cwd=bare).strip()
    assert ex.outputs.push.commitURL == f"{http.url('deploy')}/commit/{sha}"
    assert git("log", "--format=%an <%ae>|%s", "flows", cwd=bare).splitlines() == [
        "Ada <ada@example.com>|flows from the notebook", "Test <test@example.com>|main commit 1"]
    assert git("show", "flows:_flows/load.yml", cwd=bare) == FLOW.format(id="load", message="load").replace(
        "whatever", "prod")
    assert git("show", "flows:_flows/team/clean.yml", cwd=bare).splitlines()[1] == "namespace: prod.team"
    assert git("ls-tree", "-r", "--name-only", "flows", cwd=bare).split() == [
        "README.md", "_flows/load.yml", "_flows/team/clean.yml"]
    assert rows(ex.outputs.push.flows) == [
        {"file": "_flows/load.yml", "additions": "+7", "deletions": "-0", "changes": "0"},
        {"file": "_flows/team/clean.yml", "additions": "+7", "deletions": "-0", "changes": "0"}]
    assert PASSWORD not in everything_shown(ex)

    registry.delete("dev.team", "clean")
    nb_orchestra.register_flow(FLOW.format(id="load", message="load v2").replace("whatever", "dev"))
    second = run_fixture("valid/git/push_flows.yaml", inputs=inputs)
    assert second.state == "SUCCESS", everything_shown(second)
    assert git("ls-tree", "-r", "--name-only", "flows", cwd=bare).split() == ["README.md", "_flows/load.yml"]
    assert 'message: "load v2"' in git("show", "flows:_flows/load.yml", cwd=bare)
    assert rows(second.outputs.push.flows) == [
        {"file": "_flows/load.yml", "additions": "+0", "deletions": "-0", "changes": "1"},
        {"file": "_flows/team/clean.yml", "additions": "+0", "deletions": "-7", "changes": "0"}]

    unchanged = run_fixture("valid/git/push_flows.yaml", inputs=inputs)
    assert unchanged.outputs.push.commitId is None
    assert "No changes to commit. Skipping push." in messages(unchanged, "push")


def test_push_namespace_files_matching_a_glob(repos, isolated_home):
    bare = make_repository(repos, "sql.git", {"main": [{"README.md": "sql\n"}]})
    root = internal_storage.namespace_files_dir("company.team")
    (root / "models").mkdir(parents=True)
    (root / "models" / "orders.sql").write_text("select 1\n")
    (root / "notes.txt").write_text("not pushed\n")
    ex = run_fixture("valid/git/push_namespace_files.yaml", inputs={"url": bare.as_uri()})
    assert ex.state == "SUCCESS", everything_shown(ex)
    assert git("ls-tree", "-r", "--name-only", "main", cwd=bare).split() == ["README.md", "sql/models/orders.sql"]
    assert git("log", "-1", "--format=%s", "main", cwd=bare).strip() == "Add files from company.team namespace"
    assert rows(ex.outputs.push.files) == [
        {"file": "sql/models/orders.sql", "additions": "+1", "deletions": "-0", "changes": "0"}]


def test_push_commits_the_working_directory_of_a_clone(repos):
    bare = make_repository(repos, "work.git", {"main": [{"README.md": "work\n"}]})
    ex = run_fixture("valid/git/push_working_directory.yaml", inputs={"url": bare.as_uri()})
    assert ex.state == "SUCCESS", everything_shown(ex)
    assert ex.outputs.push.commitId == git("rev-parse", "feature", cwd=bare).strip()
    assert git("show", "feature:to_commit/avg_order.txt", cwd=bare) == "42.5"
    assert git("log", "-1", "--format=%an|%s", "feature", cwd=bare).strip() == "Ada|average order"


def test_an_ssh_clone_uses_the_key_and_shows_neither_key_nor_passphrase(tmp_path):
    key = tmp_path / "id_ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "not-a-real-passphrase",
                    "-f", str(key)], check=True)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ex = run_fixture("valid/git/clone_ssh.yaml", inputs={"url": f"ssh://git@127.0.0.1:{port}/repo.git",
                                                          "key": key.read_text()})
    assert ex.state == "FAILED"
    message = ex.taskrun("clone").message
    assert message.startswith("git clone failed (exit 128): ")
    assert f"port {port}: Connection refused" in message
    shown = everything_shown(ex)
    assert "not-a-real-passphrase" not in shown
    assert not any(line in shown for line in key.read_text().splitlines()[1:-1] if line.strip())
