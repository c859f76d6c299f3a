"""The summary of an execution that the ``*Execution`` notification tasks send (Kestra's
``ExecutionService.executionMap``): flow, namespace, execution id, state, duration, the failed task,
the last task, a link, and the user's custom message and fields.

Kestra reads the execution from its repository. Here the task reads the one it runs in; in
``errors``, ``finally`` and ``afterExecution`` the summary is of the execution as it ends: the
notifying task itself and unfinished runs are left out, and an execution whose top-level task
failed is reported FAILED even while its ``errors`` tasks still run. In a flow started by a Flow
trigger, ``executionId: "{{ trigger.executionId }}"`` summarises the upstream execution from the
trigger's variables (its task runs and duration are not known there).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ... import expressions
from ...records import states
from ..base import Prop, TaskContext, TaskFailure

CURRENT_EXECUTION = "{{ execution.id }}"

EXECUTION_PROPS: dict[str, Prop] = {
    "executionId": Prop("string", default=CURRENT_EXECUTION, description=(
        "The execution to summarise: the current one by default; `{{ trigger.executionId }}` in a flow "
        "started by a Flow trigger summarises the execution that fired it.")),
    "customFields": Prop("map", description="Custom fields added to the notification (name -> value)."),
    "customMessage": Prop("string", description="Custom message added to the notification."),
}

# The plain text part of the summary mails, as Kestra sends it (the HTML part holds the summary).
PLAIN_TEXT_FALLBACK = "Please view this email in a modern email client"


def human_duration(seconds: float) -> str:
    """``83.5`` -> ``00:01:23.500`` (Kestra's ``State.humanDuration``: hours, minutes, seconds, millis)."""
    millis = max(round(seconds * 1000), 0)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


@dataclass(frozen=True)
class Summary:
    """What every execution notification says."""

    namespace: str
    flow_id: str
    execution_id: str
    state: str
    duration: str | None = None
    start_date: datetime | None = None
    link: str | None = None
    failed_task: str | None = None
    last_task: str | None = None
    custom_message: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"[{self.namespace}] {self.flow_id} ➛ {self.state}"

    def outcome(self, code: Callable[[str], str] = lambda task: f"`{task}`") -> str:
        """``Failed on task `boom` after 00:00:01.234`` or ``Succeeded after ...`` (no duration, no "after")."""
        if self.failed_task is not None:
            said = f"Failed on task {code(self.failed_task)}"
        else:  # a failed execution whose task runs are not known here (a Flow trigger's) still failed
            said = "Failed" if self.state in states.FAILURES else "Succeeded"
        return said if self.duration is None else f"{said} after {self.duration}"

    def facts(self) -> list[tuple[str, Any]]:
        """The fields every service lists, in Kestra's order (the final task comes last)."""
        return [("Namespace", self.namespace), ("Flow ID", self.flow_id), ("Execution ID", self.execution_id),
                ("Execution Status", self.state)]


def summarise(ctx: TaskContext) -> Summary:
    """The summary of the execution ``executionId`` names, with the task's custom message and fields."""
    wanted = ctx.get("executionId")
    ex = ctx.execution
    if wanted in (None, "", CURRENT_EXECUTION):
        wanted = ex.id
    custom = {"custom_message": ctx.get("customMessage"), "custom_fields": dict(ctx.get("customFields") or {})}
    if wanted == ex.id:
        ctx.info("Loading execution data for the current execution.")
        return Summary(**_current(ctx), link=_link(ex.namespace, ex.flow_id, ex.id), **custom)
    trigger = ex.trigger or {}
    if trigger.get("executionId") == wanted:
        namespace, flow_id = str(trigger.get("namespace")), str(trigger.get("flowId"))
        return Summary(namespace, flow_id, wanted, str(trigger.get("state")), link=_link(namespace, flow_id, wanted),
                       **custom)
    raise TaskFailure(f"executionId '{wanted}': only the current execution, or the one that fired this "
                      "execution's Flow trigger, can be summarised")


def _current(ctx: TaskContext) -> dict[str, Any]:
    ex = ctx.execution
    ended = [run for run in ex.taskruns if run is not ctx.run and run.state in states.TERMINAL]
    state = ex.state
    if state not in states.TERMINAL and any(run.parent is None and run.state in states.FAILURES for run in ended):
        state = states.FAILED  # running its errors or finally tasks: the execution ends FAILED
    # Kestra's choice: the last FAILED task run when one failed, else the last SUCCESS one.
    failed = any(run.state == states.FAILED for run in ended)
    chosen = [run for run in ended if run.state == (states.FAILED if failed else states.SUCCESS)]
    last = chosen[-1] if chosen else None
    return {"namespace": ex.namespace, "flow_id": ex.flow_id, "execution_id": ex.id, "state": state,
            "duration": human_duration(ex.duration), "start_date": ex.start_date,
            "failed_task": last.task_id if last is not None and last.state == states.FAILED else None,
            "last_task": last.task_id if last is not None else None}


def _link(namespace: str, flow_id: str, execution_id: str) -> str | None:
    """The execution's page in a Kestra UI when ``KESTRA_URL`` (Kestra's ``kestra.url``) is set."""
    base = os.environ.get("KESTRA_URL", "").strip()
    return f"{base.rstrip('/')}/ui/executions/{namespace}/{flow_id}/{execution_id}" if base else None


def summary_html(summary: Summary) -> str:
    """The HTML body of the summary mails (MailExecution, SendGridMailExecution)."""
    esc = html.escape
    colour = {states.SUCCESS: "green", states.WARNING: "orange"}.get(summary.state, "red")
    rows: list[tuple[str, Any]] = [("Namespace", summary.namespace), ("Flow", summary.flow_id),
                                   ("Execution", summary.execution_id), ("Status", summary.state)]
    if summary.last_task is not None:
        rows.append(("Final task ID", summary.last_task))
    rows += list(summary.custom_fields.items())
    parts = [
        "<!doctype html>",
        '<html><head><meta charset="utf-8">'
        f"<title>Flow [{esc(summary.namespace)}] {esc(summary.flow_id)} execution</title></head>",
        '<body style="font-family: sans-serif; font-size: 14px;">',
        f'<p style="font-size: 16px;">[{esc(summary.namespace)}] {esc(summary.flow_id)} ➛ '
        f'<span style="color: {colour};">{esc(summary.state)}</span></p>',
    ]
    if summary.custom_message is not None:
        parts.append(f"<p>{esc(summary.custom_message)}</p>")
    parts.append(f"<p>{summary.outcome(lambda task: f'<code>{esc(task)}</code>')}</p>")
    if summary.link:
        parts.append(f'<p><a href="{esc(summary.link)}" target="_blank">See details</a></p>')
    parts += [f"<p><strong>{esc(str(name))} :</strong> {esc(expressions.to_text(value))}</p>" for name, value in rows]
    parts.append("</body></html>")
    return "\n".join(parts)
