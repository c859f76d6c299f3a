"""Namespace files: a folder per namespace (``<home>/namespaces/<ns>/``) that scripts load
(``namespaceFiles``: include/exclude as Kestra's PathMatcherPredicate reads them), that ``read()``
reads (Kestra's ReadFileFunctionTest) and that ``%flow files`` lists and uploads into."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError

from nb_orchestra import api
from nb_orchestra.errors import UserError

from .conftest import messages, run_flow

SH = "io.kestra.plugin.scripts.shell.Commands"


def put(home: Path, namespace: str, path: str, text: str) -> None:
    target = home / "namespaces" / namespace / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


@pytest.fixture
def kestra_files(isolated_home):
    """The files of Kestra's WorkingDirectoryTest.namespaceFiles, in the namespace ``tests``."""
    for path, text in (("/test/a/b/c/1.txt", "first"), ("/a/b/c/2.txt", "second"), ("/a/b/3.txt", "third"),
                       ("/ignore/4.txt", "4th")):
        put(isolated_home, "tests", path, text)
    return isolated_home


def script_sees(namespace_files: str) -> list[str]:
    """The namespace files a shell script finds in its working directory, given ``namespaceFiles``."""
    ex = run_flow(f"""
        tasks:
          - id: t
            type: {SH}
            namespaceFiles: {namespace_files}
            commands: ["find . -type f -name '*.txt' | sort"]
    """)
    assert ex.state == "SUCCESS", messages(ex)
    return messages(ex, "t", "INFO")


# -- scripts -----------------------------------------------------------------------------------

def test_script_loads_every_namespace_file_but_the_excluded_root_folder(kestra_files):
    assert script_sees("{enabled: true, exclude: [/ignore/**]}") == [
        "./a/b/3.txt", "./a/b/c/2.txt", "./test/a/b/c/1.txt"]
    ex = run_flow(f"""
        tasks:
          - id: t
            type: {SH}
            namespaceFiles:
              enabled: true
              exclude:
                - /ignore/**
            commands:
              - cat test/a/b/c/1.txt a/b/c/2.txt a/b/3.txt
              - cat ignore/4.txt
    """)
    assert ex.state == "FAILED"
    assert messages(ex, "t", "INFO") == ["firstsecondthird"]


def test_include_patterns_starting_with_a_word_match_in_any_folder(kestra_files):
    assert script_sees("{include: [b/**]}") == ["./a/b/3.txt", "./a/b/c/2.txt", "./test/a/b/c/1.txt"]
    assert script_sees("{include: [/a/**], exclude: [c/**]}") == ["./a/b/3.txt"]
    assert script_sees("{include: ['**/3.txt', 'glob:/ignore/*']}") == ["./a/b/3.txt", "./ignore/4.txt"]
    assert script_sees("{include: ['regex:/test/.*']}") == ["./test/a/b/c/1.txt"]
    assert script_sees("{enabled: false}") == []


def test_a_script_without_namespace_files_of_its_namespace_sees_none(isolated_home):
    put(isolated_home, "other", "/x.txt", "elsewhere")
    assert script_sees("{enabled: true}") == []


# -- read() ------------------------------------------------------------------------------------

def test_read_a_namespace_file_of_the_flows_namespace(isolated_home):
    put(isolated_home, "io.kestra.tests", "/file.txt", "Hello from {{ flow.namespace }}")
    put(isolated_home, "io.kestra.tests", "/sub/dir/data.csv", "a,b\n1,2\n")
    put(isolated_home, "shared", "/common.txt", "shared text")
    ex = run_flow("""
        tasks:
          - id: rendered
            type: io.kestra.plugin.core.debug.Return
            format: "{{ render(read('file.txt')) }}"
          - id: nested
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('/sub/dir/data.csv') | trim }}"
          - id: nsfile
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('nsfile:///sub/dir/data.csv') | length }}"
          - id: other
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('common.txt', namespace='shared') }}"
    """, namespace="io.kestra.tests")
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs.rendered.value == "Hello from io.kestra.tests"
    assert ex.outputs.nested.value == "a,b\n1,2"
    assert ex.outputs.nsfile.value == "8"
    assert ex.outputs.other.value == "shared text"


def test_read_an_unknown_namespace_file_fails_the_task(isolated_home):
    ex = run_flow("""
        tasks:
          - id: unknown
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('unknown.txt') }}"
    """, namespace="io.kestra.tests")
    assert ex.state == "FAILED"
    assert ex.taskrun("unknown").message == (
        "property 'format': Error in the expression `{{ read('unknown.txt') }}` at line 1: "
        "read(): no namespace file 'unknown.txt' in namespace 'io.kestra.tests'")
    ex = run_flow("""
        tasks:
          - id: escape
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('../other/secret.txt') }}"
    """)
    assert ex.taskrun("escape").message == (
        "property 'format': Error in the expression `{{ read('../other/secret.txt') }}` at line 1: "
        "read(): '../other/secret.txt' leaves the namespace files of tests")


def test_read_still_reads_kestra_files():
    ex = run_flow("""
        tasks:
          - id: write
            type: io.kestra.plugin.core.storage.Write
            content: "stored text"
          - id: read
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read(outputs.write.uri) }}"
    """)
    assert ex.outputs.read.value == "stored text"


def test_namespace_tasks_and_read_share_the_folder(isolated_home):
    ex = run_flow("""
        tasks:
          - id: write
            type: io.kestra.plugin.core.storage.Write
            content: "SELECT 1"
            extension: .sql
          - id: upload
            type: io.kestra.plugin.core.namespace.UploadFiles
            filesMap:
              queries/one.sql: "{{ outputs.write.uri }}"
            namespace: "{{ flow.namespace }}"
          - id: read
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('queries/one.sql') }}"
    """)
    assert ex.state == "SUCCESS", messages(ex)
    assert ex.outputs.read.value == "SELECT 1"
    assert [f.path for f in api.namespace_files("tests")] == ["/queries/one.sql"]


# -- api and %flow files ----------------------------------------------------------------------

def test_api_lists_and_uploads_namespace_files(isolated_home, tmp_path):
    assert api.namespace_files("company.team") == []
    local = tmp_path / "local"
    (local / "sql").mkdir(parents=True)
    (local / "sql" / "q.sql").write_text("select 1")
    (local / "readme.md").write_text("# hi")
    written = api.upload_namespace_files("company.team", local, to="/project")
    assert [(f.path, f.size) for f in written] == [("/project/readme.md", 4), ("/project/sql/q.sql", 8)]
    single = api.upload_namespace_files("company.team", local / "readme.md")
    assert [f.path for f in single] == ["/readme.md"]
    assert [f.path for f in api.namespace_files("company.team")] == [
        "/project/readme.md", "/project/sql/q.sql", "/readme.md"]
    assert (isolated_home / "namespaces" / "company.team" / "project" / "sql" / "q.sql").read_text() == "select 1"


@pytest.mark.parametrize(("namespace", "source", "to", "message"), [
    ("../up", "x", "/", "'../up' is not a namespace (letters, digits, '_', '-', separated by dots)"),
    ("ok", "missing-file", "/", "no such file or folder: missing-file"),
    ("ok", "FILE", "../..", "'../../FILE' leaves the namespace files of ok"),
])
def test_api_refuses_bad_namespaces_sources_and_targets(tmp_path, monkeypatch, namespace, source, to, message):
    monkeypatch.chdir(tmp_path)
    Path("FILE").write_text("x")
    with pytest.raises(UserError) as info:
        api.upload_namespace_files(namespace, source, to=to)
    assert str(info.value) == message


def test_flow_files_magic_lists_and_uploads(ip, isolated_home, tmp_path, capsys):
    ip.run_line_magic("flow", "files company.team")
    assert capsys.readouterr().out == "no namespace files in company.team\n"
    local = tmp_path / "query.sql"
    local.write_text("select 42")
    ip.run_line_magic("flow", f"files company.team --upload {local} --to /sql")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "uploaded /sql/query.sql (9 bytes)"
    lines = out.splitlines()[1:]
    assert lines[0].split() == ["path", "size", "modified"]
    assert lines[-1].split()[:2] == ["/sql/query.sql", "9"]
    assert (isolated_home / "namespaces" / "company.team" / "sql" / "query.sql").read_text() == "select 42"
    ex = run_flow("""
        tasks:
          - id: q
            type: io.kestra.plugin.core.debug.Return
            format: "{{ read('sql/query.sql') }}"
    """, namespace="company.team")
    assert ex.outputs.q.value == "select 42"


def test_flow_files_magic_reports_mistakes_in_one_line(ip, capsys):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("flow", "files company.team --upload /no/such/path")
    assert str(info.value) == "no such file or folder: /no/such/path"
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("flow", "files ../etc")
    assert str(info.value) == "'../etc' is not a namespace (letters, digits, '_', '-', separated by dots)"
    assert capsys.readouterr().out == ""
