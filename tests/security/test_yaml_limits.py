"""A flow document cannot exhaust the kernel: alias expansion, self-reference and nesting are bounded,
and malformed input gets a located message instead of a traceback."""

from __future__ import annotations

import time
import tracemalloc

import pytest

import nb_orchestra
from nb_orchestra.errors import FlowValidationError
from nb_orchestra.model.yaml_source import MAX_ALIASES_FOR_COLLECTIONS

HEAD = "id: a\nnamespace: b\n"


def laughs(levels: int, width: int) -> str:
    """The "billion laughs" document: each level a list of ``width`` aliases to the level below."""
    text = HEAD + "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, levels + 1):
        text += f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]\n"
    return text + "tasks: []\n"


def problem_of(text: str):
    with pytest.raises(FlowValidationError) as info:
        nb_orchestra.load_flow(text)
    [problem] = info.value.problems
    return problem


def test_billion_laughs_is_refused_quickly_in_little_memory():
    tracemalloc.start()
    started = time.perf_counter()
    problem = problem_of(laughs(levels=9, width=9))
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert f"more than {MAX_ALIASES_FOR_COLLECTIONS} aliases" in problem.message
    assert problem.line == 3  # the anchor reused once too often
    assert elapsed < 5 and peak < 50_000_000


def test_a_few_aliases_still_work_as_in_kestra():
    flow = nb_orchestra.load_flow(
        HEAD + "variables:\n  base: &base {a: 1}\n  copy: *base\n  merged:\n    <<: *base\n    b: 2\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
    assert flow.variables["copy"] == {"a": 1} and flow.variables["merged"] == {"a": 1, "b": 2}


def test_an_alias_inside_itself_is_refused():
    problem = problem_of(HEAD + "x: &s\n  y: *s\ntasks: []\n")
    assert "refers to a collection that contains it" in problem.message and problem.line == 3


def test_deep_nesting_is_refused_without_a_traceback():
    problem = problem_of(HEAD + "x: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problem.message.startswith("invalid YAML") and "nest" in problem.message


def test_a_nul_character_is_located():
    problem = problem_of(HEAD + "tasks: []\x00\n")
    assert (problem.line, problem.column) == (3, 10) and "U+0000" in problem.message


def test_a_map_used_as_a_key_is_located():
    problem = problem_of(HEAD + "? [1, 2]\n: x\ntasks: []\n")
    assert problem.line == 3 and "a key must be a plain value" in problem.message
