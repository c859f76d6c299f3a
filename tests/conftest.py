"""Shared fixtures: every test gets its own home folder and an empty flow registry."""

from __future__ import annotations

import textwrap

import pytest

import nb_orchestra
from nb_orchestra import registry
from nb_orchestra.engine import launch

from .pg_server import pg_db, pg_server  # noqa: F401  (fixtures: a real PostgreSQL for the tests that ask)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    from nb_orchestra.config import settings

    monkeypatch.setattr(settings, "home", tmp_path / "home")
    registry.clear()
    launch.recent.clear()
    yield tmp_path / "home"
    registry.clear()
    launch.recent.clear()


def flow_text(body: str, flow_id: str = "test", namespace: str = "tests") -> str:
    """A flow document: id and namespace, then ``body`` (dedented YAML)."""
    return f"id: {flow_id}\nnamespace: {namespace}\n" + textwrap.dedent(body)


def run_flow(body: str, inputs=None, namespace: str = "tests", **kwargs):
    return nb_orchestra.run(flow_text(body, namespace=namespace), inputs=inputs, **kwargs)
