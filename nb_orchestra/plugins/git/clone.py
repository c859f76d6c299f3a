"""io.kestra.plugin.git.Clone: a repository into the task's working directory."""

from __future__ import annotations

from typing import Any, ClassVar

from ..base import Prop, TaskContext, TaskPlugin
from .command import git_for
from .repository import GIT_PROPS, apply_config, checkout_dir, clone


class Clone(TaskPlugin):
    """Clone a repository; in a WorkingDirectory the next tasks find its files."""

    type = "io.kestra.plugin.git.Clone"
    blocking = True
    properties: ClassVar[dict[str, Prop]] = {
        **GIT_PROPS,
        "url": Prop("string", required=True, description=GIT_PROPS["url"].description),
        "directory": Prop("string", description=(
            "Folder under the working directory to clone into; the working directory itself by default.")),
        "branch": Prop("string", description="Branch to check out (unless `commit` or `tag` is set)."),
        "depth": Prop("int", default=1, description=(
            "Shallow clone depth (1: the last commit only); ignored when `commit` or `tag` is set.")),
        "commit": Prop("string", description=(
            "Commit SHA (short allowed) to check out as a detached HEAD; the whole history is fetched.")),
        "tag": Prop("string", description="Tag to check out as a detached HEAD (when `commit` is not set)."),
        "cloneAllBranches": Prop("bool", default=True, description=(
            "Fetch every branch; false: only `branch` (required then).")),
        "noTags": Prop("bool", default=False, description="Do not fetch tags."),
    }
    outputs = {"directory": "Absolute path of the clone."}
    example = """\
id: git_clone
namespace: company.team

tasks:
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: clone
        type: io.kestra.plugin.git.Clone
        url: https://github.com/kestra-io/examples
        branch: main
      - id: list
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - ls -la
"""

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        url = ctx.get("url")
        target = checkout_dir(ctx)
        with git_for(ctx, url) as git:
            ctx.info(f"Start cloning from '{git.hide(url)}'")
            clone(git, url, target, branch=ctx.get("branch"), depth=ctx.get("depth"), commit=ctx.get("commit"),
                  tag=ctx.get("tag"), all_branches=ctx.get("cloneAllBranches"), no_tags=ctx.get("noTags"),
                  submodules=ctx.get("cloneSubmodules"))
            apply_config(git, target, ctx.get("gitConfig"))
        return {"directory": str(target.resolve())}
