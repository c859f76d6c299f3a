"""scripts/kestra_conformance.py on a tiny Kestra-shaped tree written here (no network, nothing fetched)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kestra_conformance.py"
_spec = importlib.util.spec_from_file_location("kestra_conformance", SCRIPT)
assert _spec is not None and _spec.loader is not None
conformance = importlib.util.module_from_spec(_spec)
sys.modules["kestra_conformance"] = conformance  # dataclasses look their module up
_spec.loader.exec_module(conformance)

FILES = {
    "gradle.properties": "version=9.9.9\norg.gradle.parallel=true\n",
    "core/src/test/resources/flows/valids/hello.yaml": (
        "id: hello\nnamespace: io.kestra.tests\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"),
    "core/src/test/resources/flows/valids/imaginary.yml": (
        "id: imaginary\nnamespace: io.kestra.tests\ntasks:\n"
        "  - id: dream\n    type: io.kestra.plugin.core.log.Imaginary\n"),
    "core/src/test/resources/flows/invalids/no-tasks.yaml": "id: no-tasks\nnamespace: io.kestra.tests\n",
    "core/src/main/java/io/kestra/plugin/core/log/Log.java": (
        '@Plugin(\n    aliases = "io.kestra.core.tasks.log.Log"\n)\n'
        "public class Log extends Task implements RunnableTask<VoidOutput> {\n}\n"),
    "core/src/main/java/io/kestra/plugin/core/log/Imaginary.java": (
        "@Plugin(\n)\n@Deprecated\npublic class Imaginary extends Task implements RunnableTask<VoidOutput> {\n}\n"),
    "core/src/main/java/io/kestra/plugin/core/log/package-info.java": "@PluginSubGroup\npackage x;\n",
    "core/src/main/java/io/kestra/plugin/core/trigger/Schedule.java": (
        "@Plugin(\n)\npublic class Schedule extends AbstractTrigger implements Schedulable {\n}\n"),
    "core/src/main/java/io/kestra/core/runners/pebble/Extension.java": (
        'filters.put("slugify", new SlugifyFilter());\nfilters.put("noSuchFilterHere", new X());\n'
        'functions.put("now", new NowFunction());\ntests.put("json", new JsonTest());\n'
        'operators.add(new BinaryOperatorImpl("??", 120, NullCoalescingExpression::new, NORMAL, LEFT));\n'),
}

DATA = {
    "cases": [
        {"flow": "io.kestra.tests.hello", "state": "SUCCESS", "taskRuns": 1, "test": "HelloTest"},
        {"flow": "io.kestra.tests.imaginary", "state": "SUCCESS", "test": "ImaginaryTest"},
        {"flow": "io.kestra.tests.elsewhere", "state": "SUCCESS", "test": "ElsewhereTest"},
    ],
    "skipped": {"io.kestra.tests.elsewhere": "needs a server"},
    "external": {},
    "differences": [["io.kestra.plugin.core.log.Imaginary", "not here", "nowhere"]],
}


@pytest.fixture
def tree(tmp_path: Path):
    for name, text in FILES.items():
        path = tmp_path / "kestra" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return conformance.KestraTree(tmp_path / "kestra")


def test_counts_and_reasons(tree):
    valids = conformance.load_flows(tree, "valids")
    invalids = conformance.load_flows(tree, "invalids")
    assert [(f.path, f.flow, f.loads) for f in valids] == [
        ("hello.yaml", "io.kestra.tests.hello", True), ("imaginary.yml", "io.kestra.tests.imaginary", False)]
    assert [(f.path, f.loads) for f in invalids] == [("no-tasks.yaml", False)]
    assert conformance.refusal_reasons(valids) == {"unknown task type io.kestra.plugin.core.log.Imaginary": 1}
    assert conformance.kestra_version(tree) == "9.9.9"
    assert [(p.name, p.kind, p.aliases, p.deprecated) for p in conformance.core_plugins(tree)] == [
        ("io.kestra.plugin.core.log.Imaginary", "task", (), True),
        ("io.kestra.plugin.core.log.Log", "task", ("io.kestra.core.tasks.log.Log",), False),
        ("io.kestra.plugin.core.trigger.Schedule", "trigger", (), False)]
    assert conformance.pebble_names(tree) == {"filter": ["noSuchFilterHere", "slugify"], "function": ["now"],
                                              "test": ["json"], "operator": ["??"]}


def test_runs_and_markdown(tree):
    report = conformance.measure(tree, DATA, timeout=20)
    assert [(c.flow, c.state, c.status) for c in report.cases] == [
        ("io.kestra.tests.hello", "SUCCESS", "agree"),
        ("io.kestra.tests.imaginary", None, "differ"),
        ("io.kestra.tests.elsewhere", None, "skipped")]
    assert report.cases[1].note == "refused: unknown task type io.kestra.plugin.core.log.Imaginary"
    assert report.case_counts() == {"agree": 1, "differ": 1, "skipped": 1}

    rows = conformance.markdown(report, "# Intro").splitlines()
    assert rows[0] == "# Intro"
    for row in [
        "Kestra version followed: **9.9.9**.",
        "| valid flows (`flows/valids/`) that load | 1/2 (50%) |",
        "| invalid flows (`flows/invalids/`) refused | 1/1 (100%) |",
        "| runs ending in the state Kestra's tests assert | 1/2 (50%) (1 skipped) |",
        "| unknown task type io.kestra.plugin.core.log.Imaginary | 1 |",
        "| `io.kestra.tests.hello` |  | SUCCESS | SUCCESS | ✓ |  |",
        "| `io.kestra.plugin.core.log.Log` | task | yes |  |",
        "| `io.kestra.plugin.core.log.Imaginary` | task | no | deprecated in Kestra |",
        "| `io.kestra.plugin.core.trigger.Schedule` | trigger | yes |  |",
        "| `slugify` | filter | yes |",
        "| `noSuchFilterHere` | filter | no |",
        "| `now` | function | yes |",
        "| `json` | test | yes |",
        "| `??` | operator | yes |",
        "| io.kestra.plugin.core.log.Imaginary | not here | nowhere |",
    ]:
        assert row in rows, row


def test_bare_git_dir_and_command_line(tree, tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", str(tree.path)], check=True)
    subprocess.run([*git, "-C", str(tree.path), "add", "."], check=True)
    subprocess.run([*git, "-C", str(tree.path), "commit", "-qm", "flows"], check=True)
    bare = conformance.KestraTree(tree.path / ".git")
    assert bare.bare
    assert bare.files("core/src/test/resources/flows/invalids") == [
        "core/src/test/resources/flows/invalids/no-tasks.yaml"]
    assert bare.read("gradle.properties") == FILES["gradle.properties"]
    assert bare.commit() == tree.commit()

    out = subprocess.run([sys.executable, str(SCRIPT), str(tree.path / ".git"), "--no-run"],
                         capture_output=True, text=True, check=True).stdout
    assert "valid flows that load here:      1/2 (50%)" in out
    assert "invalid flows refused here:      1/1 (100%)" in out
    assert subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, check=True).returncode == 0
