"""Pictures of a flow test run: the compact text report, JSON, JUnit XML for CI, HTML for notebooks.

Pure functions of the results (``nb_orchestra.flowtests.TestRun`` and its suites and cases);
values an execution hides (secrets) are masked.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..expressions import to_text
from ..secrets import mask
from .html import badge, error_text

MARKS = {"SUCCESS": "✓", "FAILED": "✗", "ERROR": "!", "SKIPPED": "-"}
_WORDS = {"SUCCESS": "passed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped"}


def shown(value: Any, case: Any) -> str:
    """A value as Kestra prints it, secrets of the case's execution masked."""
    text = "null" if value is None else to_text(value)
    return mask(text, case.execution.secrets) if case.execution is not None else text


def where(case: Any, line: int) -> str:
    """``file:line`` (or ``line N``) of a place in the test YAML."""
    return f"{case.file}:{line}" if case.file else f"line {line}"


def summary(run: Any) -> str:
    """``3 passed, 1 failed`` (kinds with none left out; ``no test cases`` for none)."""
    counts = run.counts()
    parts = [f"{counts[state]} {word}{'s' if word == 'error' and counts[state] > 1 else ''}"
             for state, word in _WORDS.items() if counts[state]]
    return ", ".join(parts) if parts else "no test cases"


def case_lines(case: Any) -> list[str]:
    """The report of one case: its mark and id, then each failed assertion with expected and actual."""
    state = case.state
    head = f"{MARKS[state]} {case.case_id}"
    if state == "SKIPPED":
        return [head + " (disabled)"]
    execution = f"execution {case.execution.state}" if case.execution is not None else ""
    lines = [f"{head}  ({case.duration:.2f}s{', ' + execution if execution else ''})"]
    if case.error:
        lines.append(f"    {case.error}")
    for result in case.failures:
        lines.append(f"    {where(case, result.line)}: {result.message}")
        lines.append(f"      value:    {result.value}")
        if result.operator not in ("isNull", "isNotNull"):
            lines.append(f"      expected: {shown(result.expected, case)}")
        lines.append(f"      actual:   {shown(result.actual, case)}")
        if result.description:
            lines.append(f"      ({result.description})")
    return lines


def text_report(run: Any) -> str:
    """Every suite with ✓/✗ per case, failed assertions in detail, then the counts."""
    out = []
    for suite_result in run.suites:
        suite = suite_result.suite
        out.append((f"{suite.name}: " if suite.name else "") + f"{suite.id} -> {suite.namespace}.{suite.flow_id}")
        out.extend("  " + line for case in suite_result.cases for line in case_lines(case))
    out.append(summary(run))
    return "\n".join(out)


def to_dict(run: Any) -> dict[str, Any]:
    """The run as JSON-ready data (``nb-orchestra test --json``)."""
    return {
        "ok": run.ok,
        "counts": run.counts(),
        "suites": [{
            "id": s.suite.id, "namespace": s.suite.namespace, "flowId": s.suite.flow_id, "file": s.suite.name,
            "testCases": [{
                "id": case.case_id, "state": case.state, "line": case.line, "duration": round(case.duration, 3),
                "executionState": case.execution.state if case.execution is not None else None,
                "error": case.error,
                "assertions": [{
                    "operator": r.operator, "ok": r.ok, "line": r.line, "value": r.value,
                    "expected": shown(r.expected, case), "actual": shown(r.actual, case),
                    "message": r.message, "taskId": r.task_id, "description": r.description,
                } for r in case.assertions],
            } for case in s.cases],
        } for s in run.suites],
    }


def junit_xml(run: Any) -> str:
    """JUnit XML: a testsuite per test file, a testcase per case (failure, error or skipped)."""
    import xml.etree.ElementTree as ET  # only when a report is written

    root = ET.Element("testsuites", tests=str(len(run.cases)), failures=str(run.counts()["FAILED"]),
                      errors=str(run.counts()["ERROR"]), skipped=str(run.counts()["SKIPPED"]))
    for s in run.suites:
        element = ET.SubElement(root, "testsuite", name=s.suite.id, tests=str(len(s.cases)),
                                failures=str(sum(c.state == "FAILED" for c in s.cases)),
                                errors=str(sum(c.state == "ERROR" for c in s.cases)),
                                skipped=str(sum(c.state == "SKIPPED" for c in s.cases)),
                                time=f"{sum(c.duration for c in s.cases):.3f}")
        if s.suite.name:
            element.set("file", s.suite.name)
        for case in s.cases:
            item = ET.SubElement(element, "testcase", name=case.case_id,
                                 classname=f"{s.suite.namespace}.{s.suite.flow_id}.{s.suite.id}",
                                 time=f"{case.duration:.3f}", line=str(case.line))
            if s.suite.name:
                item.set("file", s.suite.name)
            detail = "\n".join(case_lines(case)[1:])
            if case.state == "FAILED":
                first = case.failures[0]
                ET.SubElement(item, "failure", message=first.message or "assertion failed",
                              type=first.operator).text = detail
            elif case.state == "ERROR":
                ET.SubElement(item, "error", message=case.error or "error").text = detail
            elif case.state == "SKIPPED":
                ET.SubElement(item, "skipped", message="disabled")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# A case's state -> the execution state whose badge colour it takes.
_BADGES = {"SUCCESS": "SUCCESS", "FAILED": "FAILED", "ERROR": "KILLED", "SKIPPED": "SKIPPED"}


def html_report(run: Any) -> str:
    """The report for a notebook: plain HTML with inline styles (kept in the saved notebook, readable
    where styles are stripped: each mark comes with its state in words)."""
    parts = ['<div class="nbo-flowtest" style="font-family:system-ui,sans-serif;font-size:13px">']
    for s in run.suites:
        suite = s.suite
        parts.append(f"<div><b>{escape(suite.id)}</b> &rarr; <code>{escape(suite.namespace)}.{escape(suite.flow_id)}"
                     f"</code>{' <small>' + escape(suite.name) + '</small>' if suite.name else ''}</div>")
        parts.append('<ul style="list-style:none;padding-left:8px;margin:2px 0">')
        for case in s.cases:
            execution = f" &middot; execution {escape(case.execution.state)}" if case.execution is not None else ""
            parts.append(f'<li>{badge(f"{MARKS[case.state]} {case.state}", _BADGES[case.state], 12)} '
                         f'<code>{escape(case.case_id)}</code> <small style="opacity:0.7">'
                         f'{case.duration:.2f}s{execution}</small>')
            if case.error:
                parts.append(error_text(case.error, "div", ";margin-left:18px"))
            if case.failures:
                parts.append('<table style="margin-left:18px;border-collapse:collapse">'
                             '<tr><th style="text-align:left">line</th><th style="text-align:left">value</th>'
                             '<th style="text-align:left">operator</th><th style="text-align:left">expected</th>'
                             '<th style="text-align:left">actual</th></tr>')
                for r in case.failures:
                    expected = "" if r.operator in ("isNull", "isNotNull") else shown(r.expected, case)
                    parts.append(f'<tr><td>{r.line}</td><td><code>{escape(r.value)}</code></td>'
                                 f'<td>{escape(r.operator)}</td><td><code>{escape(expected)}</code></td>'
                                 f'<td><code>{escape(shown(r.actual, case))}</code></td></tr>')
                    if r.message:
                        parts.append(f'<tr><td></td><td colspan="4">{error_text(r.message)}</td></tr>')
                parts.append("</table>")
            parts.append("</li>")
        parts.append("</ul>")
    verdict = "SUCCESS" if run.ok else "FAILED"
    parts.append(f'<div style="margin-top:4px">{badge(summary(run), _BADGES[verdict], 12)}</div></div>')
    return "".join(parts)
