"""Flow tests from every front end: ``nb-orchestra test`` (a real subprocess), the pytest plugin
(pytester), ``%%flowtest`` and ``%flow test`` in a real InteractiveShell."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from .conftest import fixture_path

FLOWTESTS = fixture_path("valid/flowtests/shop.yml").parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project laid out by the convention: flows/shop.yml, its tests in flows/tests/."""
    root = tmp_path / "project"
    (root / "flows" / "tests").mkdir(parents=True)
    shutil.copy(FLOWTESTS / "shop.yml", root / "flows" / "shop.yml")
    shutil.copy(FLOWTESTS / "shop.test.yml", root / "flows" / "tests" / "shop.test.yml")
    shutil.copy(FLOWTESTS / "shop_failing.yml", root / "flows" / "tests" / "shop_failing.test.yml")
    return root


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NB_ORCHESTRA_HOME": str(cwd / "home")}
    return subprocess.run([sys.executable, "-m", "nb_orchestra", "test", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


# -- nb-orchestra test ------------------------------------------------------------------------

def test_cli_reports_each_case_and_exits_1_on_a_failure_writing_junit(project):
    done = cli("flows", "--junit", "report.xml", cwd=project)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "flows/tests/shop.test.yml: shop_tests -> tests.flowtests.shop" in out
    assert "  ✓ greets_and_counts_offline" in out and "  - not_ready_yet (disabled)" in out
    assert "  ✗ expects_the_wrong_greeting" in out
    assert "flows/tests/shop_failing.test.yml:16: the greeting says Hi" in out
    assert out.rstrip().endswith("3 passed, 1 failed, 1 error, 1 skipped")
    root = ET.parse(project / "report.xml").getroot()
    assert root.get("tests") == "6" and root.get("failures") == "1"
    assert not (project / "home" / "store.db").exists()  # nothing recorded


def test_cli_exits_0_when_every_case_passes_and_prints_json(project):
    done = cli("flows/tests/shop.test.yml", "--json", "--keep", "kept", cwd=project)  # its flow: in the parent
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "kept" / "shop_tests" / "greets_and_counts_offline" / "storage" / "fixtures").is_dir()
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["counts"]["SUCCESS"] == 2
    assert [case["id"] for case in data["suites"][0]["testCases"]] == [
        "greets_and_counts_offline", "a_failed_download_runs_errors", "not_ready_yet"]


def test_cli_exits_2_with_located_problems_for_an_invalid_test(project):
    (project / "flows" / "tests" / "broken.test.yml").write_text(
        (fixture_path("invalid/flowtests/names.yml")).read_text())
    done = cli("flows/tests/broken.test.yml", cwd=project)
    assert done.returncode == 2
    assert "3 problem(s) in flow test flows/tests/broken.test.yml" in done.stderr
    assert "line 12, column 11: testCases[0].fixtures.tasks[0].id: no task 'downlaod'" in done.stderr
    assert "        - id: downlaod" in done.stderr


# -- the pytest plugin -----------------------------------------------------------------------

def test_pytest_collects_one_item_per_case_and_reports_failures_readably(pytester, project):
    result = pytester.runpytest(str(project / "flows"), "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3, failed=2, skipped=1)
    result.stdout.fnmatch_lines([
        "*shop.test.yml::greets_and_counts_offline PASSED*",
        "*shop.test.yml::not_ready_yet SKIPPED*",
        "*shop_failing.test.yml::expects_the_wrong_greeting FAILED*",
        "*shop_failing.test.yml::bad_input FAILED*",
        "*shop_failing.test.yml:16: the greeting says Hi",
        "*expected: Hi, Ann!",
        "*actual:   Hello, Ann!",
        "*the execution could not be created: *customer*",
    ])


def test_pytest_nbo_flows_collects_test_suites_of_any_file_name(pytester, project):
    (project / "flows" / "tests" / "shop_failing.test.yml").rename(project / "flows" / "tests" / "more_tests.yml")
    plain = pytester.runpytest(str(project / "flows"), "-p", "no:cacheprovider")
    plain.assert_outcomes(passed=2, skipped=1)  # *.test.yml only
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    given = pytester.runpytest("test_nothing.py", "--nbo-flows", str(project / "flows"), "-p", "no:cacheprovider")
    given.assert_outcomes(passed=4, failed=2, skipped=1)


def test_pytest_shows_a_located_collection_error_for_an_invalid_test(pytester, project):
    (project / "flows" / "tests" / "broken.test.yml").write_text(
        (fixture_path("invalid/flowtests/format.yml")).read_text())
    result = pytester.runpytest(str(project / "flows" / "tests" / "broken.test.yml"), "-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*10 problem(s) in flow test*broken.test.yml*",
                                 "*line 17, column 9: *unknown operator 'equalz'*"])


# -- the notebook ------------------------------------------------------------------------------

def run(ip, text: str):
    with capture_output() as captured:
        result = ip.run_cell(textwrap.dedent(text))
    return result, captured


def test_flowtest_cell_runs_against_the_registered_flow_and_keeps_an_html_report(ip):
    result, _ = run(ip, "%%flow --no-run\n" + (FLOWTESTS / "shop.yml").read_text())
    assert result.success
    result, captured = run(ip, "%%flowtest\n" + (FLOWTESTS / "shop.test.yml").read_text())
    assert result.success, captured.stdout + captured.stderr
    (output,) = captured.outputs
    assert "✓ SUCCESS" in output.data["text/html"] and "greets_and_counts_offline" in output.data["text/html"]
    assert "2 passed, 1 skipped" in output.data["text/plain"]
    assert ip.user_ns["shop_tests"].ok


def test_a_failing_flowtest_cell_fails_after_showing_the_report(ip):
    run(ip, "%%flow --no-run\n" + (FLOWTESTS / "shop.yml").read_text())
    result, captured = run(ip, "%%flowtest -o results\n" + (FLOWTESTS / "shop_failing.yml").read_text())
    assert not result.success
    assert "1 passed, 1 failed, 1 error of 3 test case(s)" in str(result.error_in_exec)
    assert "Hi, Ann!" in captured.outputs[0].data["text/html"]
    assert ip.user_ns["results"].case("passes").ok
    result, _ = run(ip, "%%flowtest --allow-failure --case passes\n" + (FLOWTESTS / "shop_failing.yml").read_text())
    assert result.success


def test_flowtest_cell_problems_are_located_in_the_cell(ip):
    run(ip, "%%flow --no-run\n" + (FLOWTESTS / "shop.yml").read_text())
    result, captured = run(ip, "%%flowtest\n" + fixture_path("invalid/flowtests/names.yml").read_text())
    assert not result.success
    (first, *_rest) = result.error_in_exec.problems
    assert first.line == 11  # line 10 of the test, under the %%flowtest line


def test_flow_test_command_runs_test_files(ip):
    result, captured = run(ip, f"%flow test {FLOWTESTS / 'shop.test.yml'}")
    assert result.success, captured.stderr
    assert "2 passed, 1 skipped" in captured.outputs[0].data["text/plain"]


def test_flowtest_cell_takes_its_flow_from_a_file(ip):
    result, captured = run(ip, f"%%flowtest -f {FLOWTESTS / 'shop.yml'} -o from_file\n"
                               + (FLOWTESTS / "shop.test.yml").read_text())
    assert result.success, captured.stdout + captured.stderr
    assert ip.user_ns["from_file"].ok
