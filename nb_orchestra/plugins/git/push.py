"""io.kestra.plugin.git.PushFlows, PushNamespaceFiles and Push: from here to a repository (the
notebook-to-repository path).

PushFlows and PushNamespaceFiles clone the branch (created when missing) into a temporary folder,
write the flows or files under ``gitDirectory``, remove what is no longer here (``delete``), commit and
push; with ``dryRun`` they stop before the commit. Their diff (one Ion row per file: additions,
deletions, changes) is an output. Push (deprecated in Kestra 1.0) commits the working directory.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from ... import internal_storage
from ..base import FlowSource, Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import write_input_files
from ..scripts.files import copy_namespace_files, glob_regex
from .command import Git, git_for
from .repository import (
    GIT_PROPS,
    branch_exists,
    checkout_dir,
    clone,
    clone_branch,
    commit_and_push,
    commit_url,
    current_branch,
    diff_rows,
    globs_of,
    identity,
    kestra_ignore,
    namespace_of,
    switch_to,
    write_rows,
)

PUSH_PROPS: dict[str, Prop] = {
    **GIT_PROPS,
    "url": Prop("string", required=True, description=GIT_PROPS["url"].description),
    "branch": Prop("string", default="main", description="Branch to push to; created when the remote lacks it."),
    "commitMessage": Prop("string", description="Commit message (Kestra's default names the namespace)."),
    "dryRun": Prop("bool", default=False, description="true: stage the changes and output their diff; no commit, "
                                                      "no push."),
    "authorName": Prop("string", description="Commit author name; `username` by default."),
    "authorEmail": Prop("string", description=(
        "Commit author email; without it (or a name) git's configured identity is used.")),
    "delete": Prop("bool", default=True, description=(
        "Remove from `gitDirectory` the files of what no longer exists here (matching the globs, when given).")),
}
_REVISION_LINE = re.compile(r"(?m)^revision:\s*\d+\n?")


class _PushTask(TaskPlugin):
    """The shared run: clone the branch, write what is here, delete what is not, commit, push."""

    blocking = True
    output_name: ClassVar[str]
    default_directory: ClassVar[str]
    outputs = {"commitId": "The pushed commit's SHA (none when nothing changed or on a dry run).",
               "commitURL": "Where the repository's host shows the commit."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        url, branch = ctx.get("url"), ctx.get("branch")
        directory = str(ctx.get("gitDirectory") or self.default_directory)
        outputs: dict[str, Any] = {"commitId": None, "commitURL": None, self.output_name: None}
        with tempfile.TemporaryDirectory(prefix="nbo-git-push-") as folder, git_for(ctx, url) as git:
            repo = Path(folder)
            clone_branch(git, ctx, url, branch, repo)
            base = repo / directory
            globs = globs_of(ctx.get(self.globs_prop))
            content = self.content(ctx, globs)
            ignored = kestra_ignore(base)
            content = {rel: data for rel, data in content.items() if rel == ".kestraignore" or not ignored(rel)}
            if ctx.get("delete"):
                _delete_outdated(git, repo, base, set(content), globs, ignored)
            if not content:
                ctx.info("No content to push - skipping Git operations.")
                return outputs
            for relative, data in content.items():
                target = base / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            git.run("add", "--", *(f"{directory}/{relative}" for relative in content), cwd=repo)
            dry_run = ctx.get("dryRun")
            if dry_run:
                ctx.info(f"Dry run — no changes will be pushed to {git.hide(url)} for now until you set the "
                         "`dryRun` parameter to false")
            else:
                ctx.info(f"Pushing to {git.hide(url)} on branch {branch}")
                message = ctx.get("commitMessage") or self.default_message(ctx)
                author = identity(git, repo, ctx.get("authorName") or ctx.get("username"), ctx.get("authorEmail"))
                sha = commit_and_push(git, repo, branch, message, author)
                outputs.update(commitId=sha, commitURL=git.hide(commit_url(url, branch, sha) or "") or None)
                if sha:
                    ctx.info(f"Pushed to {outputs['commitURL']}")
            outputs[self.output_name] = write_rows(ctx, diff_rows(git, repo, staged=dry_run))
        return outputs

    globs_prop: ClassVar[str]

    def content(self, ctx: TaskContext, globs: list[str] | None) -> dict[str, bytes]:
        """What to write under ``gitDirectory``: relative path -> bytes."""
        raise NotImplementedError

    def default_message(self, ctx: TaskContext) -> str:
        raise NotImplementedError


class PushFlows(_PushTask):
    """Push the registered flows of a namespace (and its children) to a repository, one file each."""

    type = "io.kestra.plugin.git.PushFlows"
    output_name = "flows"
    default_directory = "_flows"
    globs_prop = "flows"
    properties: ClassVar[dict[str, Prop]] = {
        **PUSH_PROPS,
        "gitDirectory": Prop("string", default="_flows", description=(
            "Folder of the repository for the flows; child namespaces go to sub-folders.")),
        "sourceNamespace": Prop("string", description="Namespace whose flows are pushed; the flow's own by default."),
        "targetNamespace": Prop("string", description=(
            "Rewrite the `namespace:` lines naming `sourceNamespace` to this namespace in the pushed files.")),
        "flows": Prop("string_or_list", description="Glob(s) of the flow ids to push; all by default."),
        "includeChildNamespaces": Prop("bool", default=False, description=(
            "Also push the flows of child namespaces (`sourceNamespace.*`), into sub-folders.")),
    }
    outputs = {**_PushTask.outputs,
               "flows": "kestra:// URI of an Ion diff: one row per file (file, additions, deletions, changes)."}

    def content(self, ctx: TaskContext, globs: list[str] | None) -> dict[str, bytes]:
        source = namespace_of(ctx, "sourceNamespace")
        target = ctx.get("targetNamespace") or source
        matchers = [glob_regex(glob) for glob in globs or ()]
        found: dict[str, bytes] = {}
        for flow in ctx.flows(source, children=bool(ctx.get("includeChildNamespaces"))):
            if matchers and not any(m.fullmatch(flow.id) for m in matchers):
                continue
            sub = flow.namespace[len(source) + 1:].replace(".", "/")
            text = re.sub(rf"(?m)^(\s*namespace:\s*){re.escape(source)}", lambda m: m.group(1) + target,
                          _REVISION_LINE.sub("", flow.source))
            found[f"{sub + '/' if sub else ''}{flow.id}.yml"] = text.encode("utf-8")
        return found

    def default_message(self, ctx: TaskContext) -> str:
        return f"Add flows from {namespace_of(ctx, 'sourceNamespace')} namespace"


class PushNamespaceFiles(_PushTask):
    """Push the namespace files of a namespace to a repository."""

    type = "io.kestra.plugin.git.PushNamespaceFiles"
    output_name = "files"
    default_directory = "_files"
    globs_prop = "files"
    properties: ClassVar[dict[str, Prop]] = {
        **PUSH_PROPS,
        "gitDirectory": Prop("string", default="_files", description=(
            "Folder of the repository for the files; their paths below the namespace are kept.")),
        "namespace": Prop("string", description="Namespace whose files are pushed; the flow's own by default."),
        "files": Prop("string_or_list", description=(
            "Glob(s) of the files to push, relative to the namespace's root; all by default.")),
        "errorOnMissing": Prop("bool", default=False, description="Fail when no file matches `files`."),
    }
    outputs = {**_PushTask.outputs,
               "files": "kestra:// URI of an Ion diff: one row per file (file, additions, deletions, changes)."}

    def content(self, ctx: TaskContext, globs: list[str] | None) -> dict[str, bytes]:
        root = internal_storage.namespace_files_dir(namespace_of(ctx, "namespace"))
        matchers = [glob_regex(glob.lstrip("/")) for glob in globs or ()]
        found = {path.relative_to(root).as_posix(): path.read_bytes()
                 for path in sorted(root.rglob("*")) if path.is_file()} if root.is_dir() else {}
        found = {rel: data for rel, data in found.items() if not matchers or any(m.fullmatch(rel) for m in matchers)}
        if not found and ctx.get("errorOnMissing"):
            raise TaskFailure("No Namespace Files matched the provided 'files' parameter to commit.")
        return found

    def default_message(self, ctx: TaskContext) -> str:
        return f"Add files from {namespace_of(ctx, 'namespace')} namespace"


def _delete_outdated(git: Git, repo: Path, base: Path, keep: set[str], globs: list[str] | None,
                     ignored: Any) -> None:
    """``git rm`` the files under ``base`` that are not kept (matching a glob by path, name or stem)."""
    if not base.is_dir():
        return
    matchers = [glob_regex(glob) for glob in globs or ()]
    doomed = []
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base).as_posix()
        if not path.is_file() or ".git" in relative.split("/") or path.name == ".kestraignore" or ignored(relative):
            continue
        if relative in keep:
            continue
        in_repo = path.relative_to(repo).as_posix()
        if matchers and not any(m.fullmatch(c) for m in matchers for c in (in_repo, path.name, path.stem)):
            continue
        doomed.append(in_repo)
    if doomed:
        git.run("rm", "--quiet", "--", *doomed, cwd=repo)


class Push(TaskPlugin):
    """Commit the working directory (inputFiles, namespace files, flows) and push it (deprecated in
    Kestra 1.0: PushFlows and PushNamespaceFiles)."""

    type = "io.kestra.plugin.git.Push"
    blocking = True
    properties: ClassVar[dict[str, Prop]] = {
        **GIT_PROPS,
        "url": Prop("string", description=(
            "Repository URL; without it, the repository already in `directory` (a Clone's) is used.")),
        "directory": Prop("string", description="Folder of the repository under the working directory; its root by "
                                                "default."),
        "branch": Prop("string", required=True, description="Branch to push to; created when missing."),
        "commitMessage": Prop("string", required=True, description="Commit message."),
        "namespaceFiles": Prop("map", description=(
            "{enabled, include, exclude}: copy the flow's namespace files into the working directory first.")),
        "flows": Prop("map", description=(
            "{enabled (true), childNamespaces (true), gitDirectory (`_flows`)}: write the flows of the flow's "
            "namespace as `<namespace>.<id>.yml` files.")),
        "inputFiles": Prop("map_or_string", description="File name -> text or kestra:// URI, written first."),
        "addFilesPattern": Prop("list", default=["."], description="Paths to stage (`git add`); `.`: everything."),
        "author": Prop("map", description="{name, email} of the commit's author (name: `username` by default)."),
    }
    outputs = {"commitId": "The pushed commit's SHA (none when nothing changed)."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        url, branch = ctx.get("url"), str(ctx.get("branch"))
        repo = checkout_dir(ctx)
        with git_for(ctx, url) as git:
            if url:
                exists = branch_exists(git, url, branch, ctx.working_dir)
                if not exists:
                    ctx.info(f"Branch {branch} does not exist, creating it")
                clone(git, url, repo, branch=branch if exists else None, depth=1,
                      submodules=bool(ctx.get("cloneSubmodules")))
            if not repo.joinpath(".git").exists():
                raise TaskFailure(f"no git repository in {repo}: set `url`, or clone into it first")
            if current_branch(git, repo) != branch:
                switch_to(git, repo, branch)
            if url:  # the commit holds what this task writes, not what the branch had
                tracked = [p.name for p in repo.iterdir() if p.name != ".git"]
                if tracked:
                    git.run("rm", "-r", "--quiet", "--ignore-unmatch", "--", *tracked, cwd=repo)
            self._write(ctx, repo)
            ctx.info(f"Pushing to {git.hide(url or _origin(git, repo))}/tree/{branch}")
            git.run("add", "--", *(str(p) for p in ctx.get("addFilesPattern") or ["."]), cwd=repo)
            author = ctx.get("author") or {}
            name, email = author.get("name") or ctx.get("username"), author.get("email")
            sha = commit_and_push(git, repo, branch, str(ctx.get("commitMessage")), identity(git, repo, name, email))
        return {"commitId": sha}

    def _write(self, ctx: TaskContext, repo: Path) -> None:
        namespace = ctx.execution.namespace
        write_input_files(ctx.get("inputFiles") or {}, ctx.working_dir, namespace)
        ns_files = ctx.get("namespaceFiles")
        if ns_files and ns_files.get("enabled", True) not in (False, "false"):
            copy_namespace_files(ns_files, ctx.working_dir, namespace)
        flows = ctx.get("flows") or {}
        if flows.get("enabled", True) in (False, "false"):
            return
        folder = repo / str(flows.get("gitDirectory") or "_flows")
        folder.mkdir(parents=True, exist_ok=True)
        children = flows.get("childNamespaces", True) not in (False, "false")
        for flow in ctx.flows(namespace, children=children):
            _write_flow(folder, flow)


def _write_flow(folder: Path, flow: FlowSource) -> None:
    folder.joinpath(f"{flow.namespace}.{flow.id}.yml").write_text(_REVISION_LINE.sub("", flow.source),
                                                                  encoding="utf-8")


def _origin(git: Git, repo: Path) -> str:
    found = git.run("remote", "get-url", "origin", cwd=repo, check=False)
    return found.out[0].strip() if found.code == 0 and found.out else str(repo)
