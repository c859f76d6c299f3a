"""SVG pictures: a flow's topology and an execution's Gantt chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import nb_orchestra
from nb_orchestra.engine.launch import create_execution
from nb_orchestra.views.gantt import _ticks, gantt_svg
from nb_orchestra.views.svg import STATE_COLORS
from nb_orchestra.views.topology import topology_svg

from .conftest import flow_text, run_flow

SVG = "{http://www.w3.org/2000/svg}"
LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"
FAIL = "io.kestra.plugin.core.execution.Fail"
SLEEP = "io.kestra.plugin.core.flow.Sleep"
FLOW = "io.kestra.plugin.core.flow"

SHAPES = f"""
    tasks:
      - id: start
        type: {LOG}
        message: hi
        description: 'quotes " and <tags> & ampersands'
      - id: check
        type: {FLOW}.If
        condition: "{{{{ 1 == 1 }}}}"
        then:
          - id: then_log
            type: {LOG}
            message: yes
        else:
          - id: else_log
            type: {LOG}
            message: no
      - id: route
        type: {FLOW}.Switch
        value: "a<b"
        cases:
          "a<b":
            - id: case_log
              type: {LOG}
              message: case
          other:
            - id: other_log
              type: {LOG}
              message: other
        defaults:
          - id: default_log
            type: {LOG}
            message: default
      - id: fan
        type: {FLOW}.Parallel
        tasks:
          - id: p1
            type: {RETURN}
            format: one
          - id: p2
            type: {RETURN}
            format: two
      - id: loop
        type: {FLOW}.ForEach
        values: ["x&y", "z"]
        concurrencyLimit: 0
        tasks:
          - id: inner
            type: {RETURN}
            format: "{{{{ taskrun.value }}}}"
      - id: guarded
        type: {FLOW}.Sequential
        allowFailure: true
        tasks:
          - id: boom
            type: {FAIL}
            errorMessage: "bad <thing> & more"
        errors:
          - id: recover
            type: {LOG}
            message: recovering
        finally:
          - id: tidy
            type: {LOG}
            message: tidy
    errors:
      - id: on_error
        type: {LOG}
        message: failed
    finally:
      - id: cleanup
        type: {LOG}
        message: done
"""


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def lanes(root: ET.Element) -> dict[str, list[ET.Element]]:
    """Lane groups by kind (the second word of their class)."""
    out: dict[str, list[ET.Element]] = {}
    for group in root.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if classes[:1] == ["lane"]:
            out.setdefault(classes[1], []).append(group)
    return out


def lane_label(lane: ET.Element) -> str | None:
    label = next((t for t in lane.findall(f"{SVG}text") if t.get("class") == "lane-label"), None)
    return label.text if label is not None else None


@pytest.fixture
def shapes():
    return run_flow(SHAPES)


def test_topology_draws_every_task_and_labelled_lanes(shapes):
    root = parse(topology_svg(shapes.flow))
    shown = texts(root)
    for task in shapes.flow.all_tasks():
        assert task.id in shown
    captions = {"Log", "Fail", "If · if {{ 1 == 1 }}", "Switch · switch on a<b", "Parallel · all at once",
                "ForEach · for each value · all at once", "Sequential"}
    assert captions <= set(shown)
    found = lanes(root)
    labels = {kind: [lane_label(lane) for lane in group] for kind, group in found.items()}
    assert labels["then"] == ["then"] and labels["else"] == ["else"]
    assert labels["case"] == ["case a<b", "case other"] and labels["defaults"] == ["defaults"]
    assert len(found["branch"]) == 2  # one lane per Parallel child, unlabelled
    assert labels["errors"] == ["errors", "errors"]  # the Sequential's and the flow's
    assert labels["finally"] == ["finally", "finally"]
    assert "tests.test" in shown


def test_topology_escapes_labels_and_tooltips(shapes):
    svg = topology_svg(shapes.flow)
    assert "case a&lt;b" in svg and "<b" not in svg.replace("<title", "")
    titles = ["".join(t.itertext()) for t in parse(svg).iter(f"{SVG}title")]
    assert f"start ({LOG})\nquotes \" and <tags> & ampersands" in titles
    assert any(title.startswith(f"loop ({FLOW}.ForEach)") for title in titles)


def test_topology_lanes_of_a_flowable_sit_side_by_side_inside_it(shapes):
    root = parse(topology_svg(shapes.flow))
    container = next(g for g in root.iter(f"{SVG}g")
                     if g.get("class") == "container" and "then_log" in texts(g))
    frames = [lane.find(f"{SVG}rect") for lane in lanes(container).values() for lane in lane]
    box = container.find(f"{SVG}rect")
    left, right = (float(box.get("x")), float(box.get("x")) + float(box.get("width")))
    xs = sorted(float(f.get("x")) for f in frames)
    assert len(xs) == 2 and xs[0] < xs[1]
    assert all(left < float(f.get("x")) and float(f.get("x")) + float(f.get("width")) < right for f in frames)


def test_gantt_has_one_bar_per_task_run_coloured_by_state(shapes):
    assert shapes.state == "WARNING"
    root = parse(gantt_svg(shapes))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert len(bars) == len(shapes.taskruns)
    tooltips = {bar.find(f"{SVG}title").text.split(" · ")[0]: bar for bar in bars}
    for run in shapes.taskruns:
        label = run.task_id + (f" [{run.value}]" if run.value is not None else "")
        assert tooltips[label].get("fill") == STATE_COLORS[run.state]
    assert {"SUCCESS", "FAILED", "WARNING"} <= {run.state for run in shapes.taskruns}
    shown = texts(root)
    assert "inner [x&y]" in shown and "boom" in shown
    assert shown[0].startswith("tests.test · WARNING · ") and shown[0].endswith(f"{len(shapes.taskruns)} task runs")


def test_gantt_rows_follow_the_tree_and_escape_values(shapes):
    svg = gantt_svg(shapes)
    assert "inner [x&amp;y]" in svg and "bad &lt;thing&gt; &amp; more" in svg
    rows = [g for g in parse(svg).iter(f"{SVG}g") if g.get("class") == "row"]
    labels = [row.find(f"{SVG}text") for row in rows]
    order = [label.text for label in labels]
    assert order.index("loop") + 1 == order.index("inner [x&y]")
    assert order.index("guarded") < order.index("boom") < order.index("recover") < order.index("tidy")
    indents = {label.text: float(label.get("x")) for label in labels}
    assert indents["start"] < indents["inner [x&y]"]


def test_gantt_attempts_and_time_axis():
    ex = run_flow(f"""
        tasks:
          - id: flaky
            type: {FAIL}
            condition: "{{{{ taskrun.attemptsCount < 1 }}}}"
            retry:
              type: constant
              interval: PT0.05S
              maxAttempts: 3
          - id: nap
            type: {SLEEP}
            duration: PT0.1S
    """)
    root = parse(gantt_svg(ex))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert "2 attempts" in bars[0].find(f"{SVG}title").text
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[0] == "0" and ticks[1].endswith("ms") and len(ticks) >= 3
    nap = float(bars[1].get("x"))
    assert float(bars[0].get("x")) < nap  # later runs start further right


def test_gantt_truncates_after_max_rows():
    ex = run_flow(f"""
        tasks:
          - id: loop
            type: {FLOW}.ForEach
            values: [1, 2, 3, 4, 5, 6]
            tasks:
              - id: step
                type: {RETURN}
                format: "{{{{ taskrun.value }}}}"
    """)
    root = parse(gantt_svg(ex, max_rows=4))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert len(bars) == 4
    assert "… 3 more task runs" in texts(root)


def test_gantt_of_a_running_execution_extends_to_now():
    ex = nb_orchestra.run(flow_text(f"""
        tasks:
          - id: nap
            type: {SLEEP}
            duration: PT0.5S
    """), background=True)
    try:
        while not ex.taskruns or ex.taskruns[0].state != "RUNNING":
            assert not ex.wait(0.01)
        root = parse(gantt_svg(ex))
        bar = next(rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar")
        assert bar.get("fill") == STATE_COLORS["RUNNING"]
        assert "RUNNING" in texts(root)[0]
    finally:
        ex.kill()
        ex.wait(5)


def test_gantt_before_any_task_run():
    ex = create_execution(nb_orchestra.load_flow(flow_text(f"""
        tasks:
          - id: only
            type: {LOG}
            message: x
    """)))
    root = parse(gantt_svg(ex))
    assert "no task runs yet" in texts(root)
    assert not [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]


def test_ticks_are_round_steps_up_to_the_total():
    assert _ticks(1.0) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert _ticks(7.5) == [0, 2, 4, 6]
    assert _ticks(0.004)[:2] == pytest.approx([0, 0.001])


def test_state_colors_cover_every_state():
    from nb_orchestra.records import states

    names = {value for name, value in vars(states).items() if name.isupper() and isinstance(value, str)}
    assert names <= set(STATE_COLORS)
    assert all(color.startswith("#") and len(color) == 7 for color in STATE_COLORS.values())


def test_pictures_follow_the_theme_with_fallbacks(shapes):
    for svg in (topology_svg(shapes.flow), gantt_svg(shapes)):
        root = parse(svg)
        (page,) = [r for r in root.iter(f"{SVG}rect") if r.get("width") == "100%"]
        assert page.get("fill") == "#ffffff" and page.get("style") == "fill:var(--jp-layout-color1,#ffffff)"
        text = next(root.iter(f"{SVG}text"))
        assert text.get("fill") == "#1f2430" and text.get("style") == "fill:var(--jp-ui-font-color1,#1f2430)"


def test_topology_of_an_execution_is_coloured_by_the_state_of_its_runs(shapes):
    from nb_orchestra.views.topology import states_by_task

    found = states_by_task(shapes)
    assert found["then_log"] == "SUCCESS" and "else_log" not in found
    root = parse(topology_svg(shapes.flow, found))
    boxes = {g.find(f"{SVG}title").text.split(" ")[0]: g for g in root.iter(f"{SVG}g") if g.get("class") == "task"}
    assert boxes["then_log"].find(f"{SVG}rect").get("stroke") == STATE_COLORS["SUCCESS"]
    assert "Log · SUCCESS" in texts(boxes["then_log"])
    assert boxes["else_log"].get("opacity") == "0.5" and "Log · not run" in texts(boxes["else_log"])
    plain = parse(topology_svg(shapes.flow))  # the flow alone: no state anywhere
    assert not any("SUCCESS" in t or "not run" in t for t in texts(plain))
