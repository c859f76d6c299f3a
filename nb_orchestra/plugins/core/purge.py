"""Kestra's purge tasks: execution.PurgeExecutions, log.PurgeLogs and kv.PurgeKV, on the execution
store through the task's context."""

from __future__ import annotations

from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Any

from ...records.states import TERMINAL
from ..base import LEVELS, Prop, TaskContext, TaskFailure, TaskPlugin
from .execution import STATES, check_names, date_property

_NAMESPACE = Prop("string", description=("Namespace to purge: a namespace prefix (its child namespaces "
                                         "included), or the namespace of `flowId` when given."))
_FLOW_ID = Prop("string", description="Purge only this flow (of `namespace`).")
_START = Prop("string", description="Purge only what is dated at or after this date (ISO-8601).")
_END = Prop("string", required=True, description="Purge what is dated at or before this date (ISO-8601).")


class PurgeExecutions(TaskPlugin):
    """Delete ended executions started between two dates: their rows, logs and storage files.

    The execution running this task, and every execution that has not ended, are kept.
    """

    type = "io.kestra.plugin.core.execution.PurgeExecutions"
    aliases = ("io.kestra.plugin.core.storage.Purge", "io.kestra.core.tasks.storages.Purge")
    blocking = True
    outputs = {"executionsCount": "Executions deleted.", "logsCount": "Log lines deleted.",
               "storagesCount": "Storage files deleted.", "metricsCount": "Metrics deleted (with their task runs)."}
    properties = {
        "namespace": _NAMESPACE,
        "flowId": _FLOW_ID,
        "startDate": _START,
        "endDate": _END,
        "states": Prop("list", description="Purge only executions in these states; any (ended) state when absent."),
        "purgeExecution": Prop("bool", default=True, description="Delete the executions themselves."),
        "purgeLog": Prop("bool", default=True, description="Delete their logs."),
        "purgeMetric": Prop("bool", default=True, description="Accepted: metrics go with the executions' task runs."),
        "purgeStorage": Prop("bool", default=True, description="Delete their internal-storage files."),
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        return check_names(task, "states", STATES, "execution state")

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        namespace, flow_id = ctx.get("namespace"), ctx.get("flowId")
        found = ctx.executions(namespace=namespace, flow_id=flow_id, states=ctx.get("states"),
                               start=date_property(ctx, "startDate"), end=date_property(ctx, "endDate"))
        doomed = [ex for ex in found if ex.id != ctx.execution.id and ex.state in TERMINAL
                  and (not flow_id or not namespace or ex.namespace == namespace)]
        rows = ctx.get("purgeExecution")
        metrics = sum(len(run.metrics) for ex in doomed for run in ex.taskruns) if rows else 0
        counts = ctx.purge_executions([ex.id for ex in doomed], rows=rows, logs=ctx.get("purgeLog"),
                                      storage=ctx.get("purgeStorage"))
        return {"executionsCount": counts["executions"], "logsCount": counts["logs"],
                "storagesCount": counts["files"], "metricsCount": metrics}


class PurgeLogs(TaskPlugin):
    """Delete the execution logs written between two dates, optionally of some levels only."""

    type = "io.kestra.plugin.core.log.PurgeLogs"
    blocking = True
    outputs = {"count": "Log lines deleted."}
    properties = {
        "namespace": _NAMESPACE,
        "flowId": _FLOW_ID,
        "logLevels": Prop("list", description=f"Purge only logs of these levels ({', '.join(LEVELS)})."),
        "startDate": _START,
        "endDate": _END,
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        return check_names(task, "logLevels", LEVELS, "log level")

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        end = date_property(ctx, "endDate")
        assert end is not None  # required
        count = ctx.purge_logs(end, start=date_property(ctx, "startDate"), namespace=ctx.get("namespace"),
                               flow_id=ctx.get("flowId"), levels=ctx.get("logLevels"))
        return {"count": count}


class PurgeKV(TaskPlugin):
    """Delete KV entries (by default only the expired ones) of some namespaces, or of all of them.

    The namespaces known are those of the registered flows (Kestra's) and those holding KV entries
    (a namespace without a registered flow is purged too). Kestra's ``version`` behavior (keeping
    older versions of a key) has no counterpart: one version of each key is kept here.
    """

    type = "io.kestra.plugin.core.kv.PurgeKV"
    outputs = {"size": "Number of keys deleted."}
    example = """\
id: purge_kv_store
namespace: system
tasks:
  - id: purge_kv
    type: io.kestra.plugin.core.kv.PurgeKV
    expiredOnly: true
    namespaces:
      - company
    includeChildNamespaces: true
"""
    properties = {
        "keyPattern": Prop("string", description="Delete only keys matching this wildcard pattern (`*`, `?`)."),
        "namespaces": Prop("list", description="Namespaces to purge; every namespace when absent."),
        "namespacePattern": Prop("string", description="Purge the namespaces matching this wildcard pattern."),
        "includeChildNamespaces": Prop("bool", default=True,
                                       description="With `namespaces`, also the namespaces starting with them."),
        "behavior": Prop("map", default={"type": "key", "expiredOnly": True},
                         description="{type: key, expiredOnly}: which keys to delete (only `key` here)."),
        "expiredOnly": Prop("bool", description="Deprecated: overrides `behavior.expiredOnly` when set."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        namespaces = _namespaces(ctx)
        ctx.info(f"purging {len(namespaces)} namespaces: [{', '.join(namespaces)}]")
        expired_only = _expired_only(ctx)
        pattern = ctx.get("keyPattern")
        now = datetime.now(timezone.utc)
        count = 0
        for namespace in namespaces:
            kv = ctx.kv(namespace)
            for key, expires in kv.entries():
                if expired_only and (expires is None or expires > now):
                    continue
                if pattern and not fnmatchcase(key, pattern):
                    continue
                count += kv.delete(key)
        ctx.info(f"purged {count} keys")
        return {"size": count}


def _expired_only(ctx: TaskContext) -> bool:
    if ctx.task.props.get("expiredOnly") is not None:
        return bool(ctx.get("expiredOnly"))
    behavior = ctx.get("behavior") or {}
    kind = str(behavior.get("type", "key")).lower()
    if kind != "key":
        raise TaskFailure(f"behavior type '{behavior.get('type')}' is not supported: nb_orchestra keeps one version "
                          "of each key (use type: key)")
    return behavior.get("expiredOnly", True) not in (False, "false")


def _namespaces(ctx: TaskContext) -> list[str]:
    """The namespaces a purge task works on (Kestra's PurgeTask.findNamespaces)."""
    known = ctx.namespaces()
    wanted = [str(ns) for ns in ctx.get("namespaces") or ()]
    pattern = ctx.get("namespacePattern")
    if wanted and pattern:
        raise TaskFailure("Properties `namespaces` and `namespacePattern` can't be used at the same time — use one "
                          "or the other.")
    if pattern:
        return [ns for ns in known if fnmatchcase(ns, pattern)]
    if not wanted:
        return known
    children = ctx.get("includeChildNamespaces")
    found = [ns for ns in known if any(ns.startswith(w) if children else ns == w for w in wanted)]
    return found + [ns for ns in wanted if ns not in found]
