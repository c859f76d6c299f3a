"""Shared fixtures: every test gets its own home folder and an empty flow registry.

Flow fixtures, laid out as Kestra keeps its own (core/src/test/resources/flows/valid and invalid):
the flows the tests run are YAML files under ``tests/flows/``, ``valid/`` for flows that load and
``invalid/`` for flows the validation must reject, in a folder per test module (``valid/engine/``,
``invalid/model/``...), one whole flow per file (see tests/flows/README.md). ``load_fixture`` reads
one, ``run_fixture`` runs one. A value only known when the test runs (a server's address, a
temporary path, a database URL) is a flow input; a file says ``${name}`` only where an input cannot
do (a property chosen by a parametrized test), and ``load_fixture(path, name=value)`` fills it in.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import nb_orchestra
from nb_orchestra import registry
from nb_orchestra.engine import launch
from nb_orchestra.triggers import stop_scheduler

from .pg_server import pg_db, pg_server  # noqa: F401  (fixtures: a real PostgreSQL for the tests that ask)

pytest_plugins = ["pytester"]  # tests/test_flowtests_front_ends.py runs pytest with the flow-test plugin
# The YAML fixtures are inputs of tests, not tests of the project: the flow-test plugin would collect
# the *.test.yml ones (some disabled or failing on purpose); test_flowtests_front_ends.py runs them.
collect_ignore = ["flows"]


@pytest.fixture
def ip():
    """IPython's shell with nb_orchestra loaded; afterwards no recent executions, no scheduler
    (load_ext starts one)."""
    from IPython.core.interactiveshell import InteractiveShell

    from nb_orchestra.triggers import stop_scheduler

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nb_orchestra")
    yield shell
    launch.recent.clear()
    stop_scheduler()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    from nb_orchestra.config import settings

    monkeypatch.setattr(settings, "home", tmp_path / "home")
    registry.clear()
    launch.recent.clear()
    yield tmp_path / "home"
    stop_scheduler()  # one started here (by %load_ext too) must not run the next test's schedules
    registry.clear()
    launch.recent.clear()


def flow_text(body: str, flow_id: str = "test", namespace: str = "tests") -> str:
    """A flow document: id and namespace, then ``body`` (dedented YAML)."""
    return f"id: {flow_id}\nnamespace: {namespace}\n" + textwrap.dedent(body)


def run_flow(body: str, inputs=None, namespace: str = "tests", **kwargs):
    return nb_orchestra.run(flow_text(body, namespace=namespace), inputs=inputs, **kwargs)


# -- flow fixtures (tests/flows/) ------------------------------------------------------------------

FLOWS = Path(__file__).resolve().parent / "flows"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def fixture_path(name: str) -> Path:
    """The flow file ``tests/flows/<name>``, e.g. ``valid/engine/hello.yaml``."""
    path = FLOWS / name
    if not path.is_file():
        raise FileNotFoundError(f"no flow fixture {name!r} under {FLOWS}")
    return path


def load_fixture(name: str, **values) -> str:
    """The text of the flow file ``tests/flows/<name>``, each ``${key}`` replaced by ``values[key]``.

    Other ``${...}`` (a shell variable in a script) are left alone; a value the file does not ask
    for is an error, so a misspelt name cannot pass unnoticed.
    """
    text = fixture_path(name).read_text(encoding="utf-8")
    unused = sorted(key for key in values if "${" + key + "}" not in text)
    if unused:
        raise KeyError(f"{name} has no placeholder for {', '.join(unused)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


def run_fixture(name: str, inputs=None, *, values=None, **kwargs):
    """Run the flow file ``tests/flows/<name>`` (``values`` fill its ``${...}``; the other keywords,
    ``labels``, ``trigger``, ``listeners``, ``background``, go to ``nb_orchestra.run``)."""
    return nb_orchestra.run(load_fixture(name, **(values or {})), inputs=inputs, **kwargs)


# -- helpers the test modules share ---------------------------------------------------------------

def messages(ex, task_id=None, level=None) -> list[str]:
    """The log messages of an execution, of one task and one level when given."""
    return [log.message for log in ex.logs
            if (task_id is None or log.task_id == task_id) and (level is None or log.level == level)]


def put_text(home: Path, name: str, text: str) -> str:
    """``text`` stored as an uploaded file ``name`` of the home's internal storage; its kestra:// URI."""
    from nb_orchestra import internal_storage

    source = home / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text)
    return internal_storage.put_file(source, home / "storage" / "uploads")
