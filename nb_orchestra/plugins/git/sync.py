"""io.kestra.plugin.git.SyncNamespaceFiles and SyncFlows: a branch of a repository into this
process's namespace files (``<home>/namespaces/<namespace>/``) or its flow registry.

Both clone the branch into a temporary folder, compare what ``gitDirectory`` holds with what is here
(ADDED, UPDATED/OVERWRITTEN, UNCHANGED, and with ``delete`` DELETED), apply it unless ``dryRun``, and
output the comparison as an Ion file, one row per file or flow, as Kestra does.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from ... import internal_storage
from ...errors import UserError
from ..base import FlowSource, Prop, TaskContext, TaskFailure, TaskPlugin
from .command import git_for
from .repository import GIT_PROPS, clone_branch, namespace_of, repository_files, write_rows

SYNC_PROPS: dict[str, Prop] = {
    **GIT_PROPS,
    "url": Prop("string", required=True, description=GIT_PROPS["url"].description),
    "branch": Prop("string", default="main", description="Branch to read from (the default branch when it does "
                                                         "not exist)."),
    "dryRun": Prop("bool", default=False, description="true: only compute and output the diff; change nothing here."),
    "failOnMissingDirectory": Prop("bool", default=True, description=(
        "Fail when `gitDirectory` is not in the branch; false: treat it as empty.")),
    "delete": Prop("bool", default=False, description=(
        "Also delete what is here but not in the repository (off by default: a sync adds and updates only).")),
}
_NAMESPACE_LINE = re.compile(r"(?m)^namespace: (.*)$")


class _SyncTask(TaskPlugin):
    """The shared run: clone, read ``gitDirectory``, compare, apply, write the diff."""

    blocking = True
    output_name: ClassVar[str]
    default_directory: ClassVar[str]

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        url, branch = ctx.get("url"), ctx.get("branch")
        directory = str(ctx.get("gitDirectory") or self.default_directory)
        with tempfile.TemporaryDirectory(prefix="nbo-git-sync-") as folder, git_for(ctx, url) as git:
            checkout = Path(folder)
            clone_branch(git, ctx, url, branch, checkout)
            base = checkout / directory
            if not base.exists() and ctx.get("failOnMissingDirectory"):
                raise TaskFailure(f"The directory '{directory}' was not found in the git repository. "
                                  f"Verify if the path exists in the specified branch '{branch}'.")
            if base.exists() and not base.is_dir():
                raise TaskFailure(f"The path '{directory}' exists but is a file, not a directory. "
                                  "Sync tasks require a directory to process files.")
            files = {rel: path.read_bytes() for rel, path in repository_files(base, self.recursive(ctx)).items()} \
                if base.is_dir() else {}
        rows = self.sync(ctx, directory, files, dry_run=ctx.get("dryRun"), delete=ctx.get("delete"))
        rows.sort(key=lambda row: (row["gitPath"] is not None, row["gitPath"] or ""))
        changed = sum(row["syncState"] != "UNCHANGED" for row in rows)
        ctx.info(f"{'dry run: would change' if ctx.get('dryRun') else 'changed'} {changed} of {len(rows)}")
        return {self.output_name: write_rows(ctx, rows)}

    def recursive(self, ctx: TaskContext) -> bool:
        return True

    def sync(self, ctx: TaskContext, directory: str, files: dict[str, bytes], dry_run: bool,
             delete: bool) -> list[dict[str, Any]]:
        raise NotImplementedError


class SyncNamespaceFiles(_SyncTask):
    """Namespace files from a branch of a repository (``.kestraignore`` honoured)."""

    type = "io.kestra.plugin.git.SyncNamespaceFiles"
    output_name = "files"
    default_directory = "_files"
    properties: ClassVar[dict[str, Prop]] = {
        **SYNC_PROPS,
        "namespace": Prop("string", description="Namespace receiving the files; the flow's own by default."),
        "gitDirectory": Prop("string", default="_files", description=(
            "Folder of the repository holding the files (relative to its root).")),
    }
    outputs = {"files": "kestra:// URI of an Ion file: one row per file, gitPath, kestraPath and syncState "
                        "(ADDED, OVERWRITTEN, UNCHANGED, DELETED)."}

    def sync(self, ctx: TaskContext, directory: str, files: dict[str, bytes], dry_run: bool,
             delete: bool) -> list[dict[str, Any]]:
        namespace = namespace_of(ctx, "namespace")
        root = internal_storage.namespace_files_dir(namespace)
        here = {path.relative_to(root).as_posix(): path for path in root.rglob("*") if path.is_file()} \
            if root.is_dir() else {}
        rows: list[dict[str, Any]] = []
        for relative, content in files.items():
            target = internal_storage.namespace_file(namespace, relative)
            before = here.get(relative)
            state = "ADDED" if before is None else "UNCHANGED" if before.read_bytes() == content else "OVERWRITTEN"
            if state != "UNCHANGED" and not dry_run:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            rows.append({"gitPath": f"{directory}/{relative}", "syncState": state, "kestraPath": f"/{relative}"})
        for relative in sorted(set(here) - set(files)) if delete else ():
            if not dry_run:
                here[relative].unlink()
                _prune(here[relative].parent, root)
            rows.append({"gitPath": None, "syncState": "DELETED", "kestraPath": f"/{relative}"})
        return rows


class SyncFlows(_SyncTask):
    """Flows from a branch of a repository into the flow registry, in ``targetNamespace`` (child
    namespaces from sub-folders with ``includeChildNamespaces``)."""

    type = "io.kestra.plugin.git.SyncFlows"
    output_name = "flows"
    default_directory = "_flows"
    properties: ClassVar[dict[str, Prop]] = {
        **SYNC_PROPS,
        "targetNamespace": Prop("string", required=True, description=(
            "Namespace the flows are registered in: each flow's `namespace:` line is rewritten to it (to "
            "`targetNamespace.sub.folder` for a flow in a sub-folder).")),
        "gitDirectory": Prop("string", default="_flows", description=(
            "Folder of the repository holding the flow files (relative to its root).")),
        "includeChildNamespaces": Prop("bool", default=False, description=(
            "Also read sub-folders, as child namespaces of `targetNamespace`; with `delete`, flows of the "
            "child namespaces missing from the repository are deleted too.")),
        "ignoreInvalidFlows": Prop("bool", default=False, description=(
            "Skip (with a warning) a file that is not a valid flow, instead of failing.")),
    }
    outputs = {"flows": "kestra:// URI of an Ion file: one row per flow, gitPath, namespace, flowId, revision "
                        "and syncState (ADDED, UPDATED, UNCHANGED, DELETED)."}

    def recursive(self, ctx: TaskContext) -> bool:
        return bool(ctx.get("includeChildNamespaces"))

    def sync(self, ctx: TaskContext, directory: str, files: dict[str, bytes], dry_run: bool,
             delete: bool) -> list[dict[str, Any]]:
        namespace = str(ctx.get("targetNamespace"))
        here = {(flow.namespace, flow.id): flow for flow in ctx.flows(namespace, children=self.recursive(ctx))}
        rows: list[dict[str, Any]] = []
        synced = set()
        for relative, content in sorted(files.items(), key=lambda item: item[0].count("/")):
            sub = relative.rpartition("/")[0]
            source = _NAMESPACE_LINE.sub(f"namespace: {namespace}{'.' + sub.replace('/', '.') if sub else ''}",
                                         content.decode("utf-8", errors="replace"), count=1).rstrip()
            try:
                flow = ctx.save_flow(source, dry_run=dry_run)
            except UserError as exc:
                if ctx.get("ignoreInvalidFlows"):
                    ctx.log("WARN", f"Invalid flow imported from Git ({directory}/{relative}): {exc}")
                    continue
                raise TaskFailure(f"Invalid flow imported from Git ({directory}/{relative}): {exc}") from None
            before = here.get((flow.namespace, flow.id))
            revision = flow.revision if not dry_run else _next_revision(before, source)
            state = "ADDED" if before is None else "UNCHANGED" if before.revision == revision else "UPDATED"
            synced.add((flow.namespace, flow.id))
            rows.append({"gitPath": f"{directory}/{relative}", "syncState": state, "namespace": flow.namespace,
                         "flowId": flow.id, "revision": revision})
        this_flow = (ctx.execution.namespace, ctx.execution.flow_id)
        for key, flow in sorted(here.items()) if delete else ():
            if key in synced or key == this_flow:  # the flow running this task is never deleted
                continue
            if not dry_run:
                ctx.delete_flow(*key)
            rows.append({"gitPath": None, "syncState": "DELETED", "namespace": flow.namespace, "flowId": flow.id,
                         "revision": flow.revision})
        return rows


def _next_revision(before: FlowSource | None, source: str) -> int:
    """The revision a dry run's flow would get: 1 when new, the same when its text is unchanged."""
    if before is None:
        return 1
    if before.source.replace("\r\n", "\n").strip() == source.replace("\r\n", "\n").strip():
        return before.revision or 1
    return (before.revision or 0) + 1


def _prune(folder: Path, root: Path) -> None:
    """Remove the folders a deletion left empty, up to (not including) ``root``."""
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
