"""Subflows that call each other in a loop stop at a depth limit, naming the chain of flows."""

from __future__ import annotations

import threading

import nb_orchestra

CALLER = """
id: {me}
namespace: loops
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: loops
    flowId: {other}
"""


def test_mutual_recursion_fails_at_the_depth_limit_with_the_chain():
    nb_orchestra.register_flow(CALLER.format(me="a", other="b"))
    nb_orchestra.register_flow(CALLER.format(me="b", other="a"))
    threads_before = threading.active_count()
    nb_orchestra.configure(max_subflow_depth=4)
    try:
        ex = nb_orchestra.run("loops.a")
    finally:
        nb_orchestra.configure(max_subflow_depth=10)
    assert ex.state == "FAILED"
    deepest = [e for e in nb_orchestra.api.recent_executions() if e.ancestry and len(e.ancestry) == 3]
    [innermost] = deepest
    message = innermost.taskrun("call").message
    assert "deeper than 4 levels (loops.a -> loops.b -> loops.a -> loops.b -> loops.a)" in message
    assert len(nb_orchestra.api.recent_executions()) == 4
    assert threading.active_count() <= threads_before + 8


def test_a_flow_calling_itself_through_a_template_stops_too():
    nb_orchestra.register_flow(CALLER.format(me="self", other='"{{ flow.id }}"'))
    ex = nb_orchestra.run("loops.self")
    assert ex.state == "FAILED"
    assert len(nb_orchestra.api.recent_executions()) == 10
