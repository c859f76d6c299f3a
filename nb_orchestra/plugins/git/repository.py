"""What the git tasks share: their common properties, cloning a branch, commits, the diff files.

Kestra's sync and push tasks write their diffs as Ion files, one struct per line; the rows here are
JSON objects, which Ion reads as they are (Ion text is a superset of JSON), so no Ion library is
needed to write them.
"""

from __future__ import annotations

import fnmatch
import getpass
import json
import re
import socket
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ... import internal_storage
from ..base import Prop, TaskContext, TaskFailure
from ..files import inside
from .command import Git

# Kestra's AbstractGitTask and AbstractCloningTask.
GIT_PROPS: dict[str, Prop] = {
    "url": Prop("string", description=(
        "Repository URL: HTTP(S), SSH (`git@github.com:org/repo.git`), `file://` or a local path.")),
    "username": Prop("string", description=(
        "User name for HTTP(S) authentication (with `password`); also the commit author when "
        "`authorName` is not set.")),
    "password": Prop("string", description=(
        "Password or personal access token for HTTP(S). git reads it from its environment through a "
        "credential helper: never on a command line, never stored, masked in logs and errors.")),
    "privateKey": Prop("string", description=(
        "PEM private key for SSH URLs (`ssh-keygen -t ecdsa -b 256 -m PEM`), written to a private "
        "temporary file for the run; host keys are not checked, as in Kestra.")),
    "passphrase": Prop("string", description=(
        "Passphrase of `privateKey`, handed to ssh through SSH_ASKPASS (OpenSSH 8.4 or later; needs a "
        "POSIX shell).")),
    "trustedCaPemPath": Prop("string", description=(
        "PEM file of extra certificate authorities trusted for HTTPS (git's `http.sslCAInfo`).")),
    "noProxy": Prop("bool", default=False, description="true: connect directly, ignoring proxy variables."),
    "connectTimeout": Prop("int", default=10000, description=(
        "Connect timeout in milliseconds for SSH; HTTPS connections use git's own.")),
    "readTimeout": Prop("int", default=60000, description=(
        "An HTTP(S) transfer that stalls (under 1 byte/s) this many milliseconds fails "
        "(git's `http.lowSpeedTime`).")),
    "gitConfig": Prop("map", description=(
        "git configuration set in the cloned repository, e.g. `core.autocrlf: false`; an empty value "
        "unsets the key, a list sets several values.")),
    "cloneSubmodules": Prop("bool", default=False, description="Clone the repository's submodules too."),
    "kestraUrl": Prop("string", description=(
        "Accepted and unused: flows and namespace files are this process's own, no Kestra API is called.")),
    "auth": Prop("map", description="Accepted and unused (Kestra API authentication)."),
}

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree (SHA-1 repositories)
_IGNORED_NAMES = (".git", ".gitignore", ".gitkeep")
_SSH_URL = re.compile(r"git@(?:ssh\.)?([^:]+):(?:v\d*/)?(.*)")


def namespace_of(ctx: TaskContext, prop: str) -> str:
    """A namespace property, the flow's own namespace when it is not set (Kestra's default)."""
    return str(ctx.get(prop) or ctx.execution.namespace)


def globs_of(value: Any) -> list[str] | None:
    """Kestra's ``flows``/``files`` globs: a list, a JSON list in a string, or one glob; None: all."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# -- cloning ---------------------------------------------------------------------------------------

def branch_exists(git: Git, url: str, branch: str, cwd: Path) -> bool:
    """Whether the remote has ``branch`` (``git ls-remote``)."""
    return bool(git.run("ls-remote", "--heads", "--", url, f"refs/heads/{branch}", cwd=cwd).out)


def clone(git: Git, url: str, target: Path, *, branch: str | None = None, depth: int | None = None,
          commit: str | None = None, tag: str | None = None, all_branches: bool = True,
          no_tags: bool = False, submodules: bool = False) -> None:
    """Clone ``url`` into ``target`` as Kestra's Clone does: ``depth`` and ``branch`` unless a
    ``commit`` or ``tag`` is asked for (then a detached checkout); a folder that already holds files
    (a WorkingDirectory's inputFiles) gets init + fetch + checkout instead."""
    if not all_branches and not branch:
        raise TaskFailure("Invalid clone configuration: when `cloneAllBranches` is false, `branch` must be set.")
    if tag and no_tags:
        raise TaskFailure("Invalid clone configuration: `tag` cannot be used with `noTags: true`.")
    pinned = bool(commit or tag)
    shallow = ["--depth", str(depth)] if depth and not pinned else []
    if target.is_dir() and any(target.iterdir()):
        git.ctx.info(f"Target directory '{target}' is not empty, using init+fetch strategy")
        _init_fetch(git, url, target, branch, shallow, all_branches, no_tags)
    else:
        target.mkdir(parents=True, exist_ok=True)
        args = ["clone", *shallow, *(["--branch", branch] if branch and not pinned else [])]
        args += ["--no-single-branch" if all_branches else "--single-branch", *(["--no-tags"] if no_tags else [])]
        git.run(*args, *(["--recurse-submodules"] if submodules else []), "--", url, str(target), cwd=target)
        if branch and not pinned:
            git.ctx.info(f"Checked out branch {branch}")
    if commit:
        git.run("fetch", "--quiet", "origin", cwd=target, check=False)
        sha = _resolve(git, target, commit, f"Cannot resolve commit SHA: {commit}")
        git.run("checkout", "--quiet", "--detach", sha, cwd=target)
        git.ctx.info(f"Checked out commit {sha} (detached HEAD)")
    elif tag:
        sha = _resolve(git, target, f"refs/tags/{tag}", f"Cannot resolve tag: {tag}")
        git.run("checkout", "--quiet", "--detach", sha, cwd=target)
        git.ctx.info(f"Checked out tag {tag} at commit {sha}")
    if submodules and target.joinpath(".gitmodules").is_file():
        git.run("submodule", "update", "--init", "--recursive", cwd=target)


def _resolve(git: Git, repo: Path, name: str, missing: str) -> str:
    found = git.run("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", cwd=repo, check=False)
    if found.code != 0 or not found.out:
        raise TaskFailure(missing)
    return found.out[0].strip()


def _init_fetch(git: Git, url: str, target: Path, branch: str | None, shallow: list[str], all_branches: bool,
                no_tags: bool) -> None:
    git.run("init", "--quiet", cwd=target)
    git.run("remote", "add", "origin", url, cwd=target)
    heads = branch if branch and not all_branches else "*"
    specs = [f"+refs/heads/{heads}:refs/remotes/origin/{heads}", *([] if no_tags else ["+refs/tags/*:refs/tags/*"])]
    git.run("fetch", "--quiet", *shallow, *(["--no-tags"] if no_tags else []), "origin", *specs, cwd=target)
    if branch is None:
        symref = git.run("ls-remote", "--symref", "origin", "HEAD", cwd=target).out
        found = [line.split()[1] for line in symref if line.startswith("ref:")]
        branch = found[0].removeprefix("refs/heads/") if found else None
    if branch is None:
        raise TaskFailure("Cannot determine the default branch. Please specify the 'branch' property explicitly.")
    git.run("checkout", "--quiet", "-b", branch, f"origin/{branch}", cwd=target)
    git.ctx.info(f"Checked out branch {branch} from origin/{branch}")


def apply_config(git: Git, repo: Path, config: dict[str, Any] | None) -> None:
    """``gitConfig``: each key set in the repository (a list: several values; empty: unset)."""
    for key, value in (config or {}).items():
        if "." not in key:
            git.ctx.log("WARN", f"invalid git config key format: {key}. Expected 'section.name' or "
                                "'section.subsection.name'")
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            git.run("config", "--unset-all", key, cwd=repo, check=False)
            continue
        values = value if isinstance(value, list) else [value]
        git.run("config", "--unset-all", key, cwd=repo, check=False)
        for item in values:
            text = str(item).lower() if isinstance(item, bool) else str(item).strip()
            git.run("config", "--add", key, text, cwd=repo)
        git.ctx.info(f"Applied git config {key} = {value}")


def clone_branch(git: Git, ctx: TaskContext, url: str, branch: str, target: Path) -> None:
    """Kestra's GitService.cloneBranch: the branch when the remote has it, else the default branch
    with ``branch`` created from it (or started from nothing in an empty repository)."""
    exists = branch_exists(git, url, branch, target)
    if not exists:
        ctx.info(f"Branch {branch} does not exist, creating it")
    clone(git, url, target, branch=branch if exists else None, depth=1, submodules=bool(ctx.get("cloneSubmodules")))
    apply_config(git, target, ctx.get("gitConfig"))
    if not exists:
        switch_to(git, target, branch)


def switch_to(git: Git, repo: Path, branch: str) -> None:
    """Make ``branch`` the current one: checked out when it exists, else created here (on an
    unborn HEAD, the first commit will start it)."""
    if not has_commits(git, repo):
        git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=repo)
    elif git.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo, check=False).code == 0:
        git.run("checkout", "--quiet", branch, cwd=repo)
    else:
        git.run("checkout", "--quiet", "-b", branch, cwd=repo)


def has_commits(git: Git, repo: Path) -> bool:
    return git.run("rev-parse", "--verify", "--quiet", "HEAD", cwd=repo, check=False).code == 0


def current_branch(git: Git, repo: Path) -> str | None:
    found = git.run("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo, check=False)
    return found.out[0].strip() if found.code == 0 and found.out else None


def checkout_dir(ctx: TaskContext, prop: str = "directory") -> Path:
    """A folder property under the working directory (the working directory when it is not set)."""
    directory = ctx.get(prop)
    return inside(ctx.working_dir, str(directory)) if directory else ctx.working_dir


# -- committing and pushing --------------------------------------------------------------------------

def identity(git: Git, repo: Path, name: str | None, email: str | None) -> dict[str, str]:
    """The environment that sets a commit's author and committer: ``name`` and ``email`` when both are
    given (as Kestra's PersonIdent), else git's configured identity, else JGit's fallback
    (the system user at this host)."""
    if not (name and email):
        name = _config(git, repo, "user.name") or getpass.getuser()
        email = _config(git, repo, "user.email") or f"{getpass.getuser()}@{socket.gethostname()}"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


def _config(git: Git, repo: Path, key: str) -> str | None:
    found = git.run("config", "--get", key, cwd=repo, check=False)
    return found.out[0].strip() if found.code == 0 and found.out else None


def commit_and_push(git: Git, repo: Path, branch: str, message: str, author: dict[str, str]) -> str | None:
    """Commit what is staged and push it to ``origin``'s ``branch``; None (and a log line) when nothing
    changed. A push the remote rejects is a TaskFailure with git's reason."""
    if git.run("diff", "--cached", "--quiet", cwd=repo, check=False).code == 0:
        git.ctx.info("No changes to commit. Skipping push.")
        return None
    git.run("commit", "--quiet", "--no-verify", "-m", message, cwd=repo, env=author)
    sha = git.run("rev-parse", "HEAD", cwd=repo).out[0].strip()
    git.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=repo)
    return sha


def http_url(url: str) -> str:
    """The web address of a repository URL (Kestra's GitService.getHttpUrl): SSH made HTTPS, the user
    part of the URL dropped."""
    ssh = _SSH_URL.fullmatch(url)
    if ssh:
        place = f"{ssh.group(1)}/{ssh.group(2)}"
        if "azure.com" in place:
            head, _, repo = place.rpartition("/")
            place = f"{head}/_git/{repo}"
        return f"https://{place}"
    return re.sub(r"//.*@", "//", url, count=1) if "@" in url else url


def commit_url(url: str, branch: str, sha: str | None) -> str | None:
    """Where a commit is shown on the repository's host (Kestra's buildCommitUrl)."""
    if sha is None:
        return None
    base = re.sub(r"\.git$", "", http_url(url))
    link = f"{base}/{'commits' if 'bitbucket.org' in base else 'commit'}/{sha}"
    return link + (f"?refName=refs%2Fheads%2F{branch}" if "azure.com" in base else "")


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def diff_rows(git: Git, repo: Path, staged: bool) -> list[dict[str, str]]:
    """One row per changed file, counted as Kestra counts JGit's edits: per hunk, lines added beyond
    those removed are additions, the reverse deletions, and a hunk of equal size is that many changes.
    ``staged``: what is staged (a dry run); else the last commit against its parent."""
    if staged:
        args = ["diff", "--cached"]
    else:
        parent = "HEAD~1" if git.run("rev-parse", "--verify", "--quiet", "HEAD~1", cwd=repo, check=False).code == 0 \
            else EMPTY_TREE
        args = ["diff", parent, "HEAD"]
    lines = git.run(*args, "-U0", "--no-renames", "--no-color", "--no-ext-diff", cwd=repo).out
    rows: dict[str, list[int]] = {}
    old = current = None
    for line in lines:
        if line.startswith("--- "):
            old = _diff_path(line[4:])
        elif line.startswith("+++ "):
            current = _diff_path(line[4:]) or old
            if current is not None:
                rows.setdefault(current, [0, 0, 0])
        elif current is not None and (hunk := _HUNK.match(line)):
            removed, added = (int(n) if n is not None else 1 for n in hunk.groups())
            counts = rows[current]
            if added > removed:
                counts[0] += added - removed
            elif removed > added:
                counts[1] += removed - added
            else:
                counts[2] += added
    return [{"file": path, "additions": f"+{a}", "deletions": f"-{d}", "changes": str(c)}
            for path, (a, d, c) in sorted(rows.items())]


def _diff_path(text: str) -> str | None:
    text = text.rstrip("\t")
    return None if text == "/dev/null" else text.split("/", 1)[1] if "/" in text else text


# -- files -------------------------------------------------------------------------------------------

def write_rows(ctx: TaskContext, rows: Iterable[dict[str, Any]]) -> str:
    """Rows as an Ion file (one struct per line) in the task run's storage; its kestra:/// URI."""
    folder = ctx.storage_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ctx.run.task_id}_{uuid.uuid4().hex[:12]}.ion"
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            ctx.log("DEBUG", json.dumps(row, ensure_ascii=False))
    return internal_storage.to_uri(path)


def kestra_ignore(root: Path) -> Callable[[str], bool]:
    """Whether a path relative to ``root`` is ignored by ``root/.kestraignore`` (gitignore patterns,
    simplified: ``#`` comments, globs matching a whole path when they hold a ``/``, else any part of
    it, ``dir/`` for folders; no ``!`` negation)."""
    path = root / ".kestraignore"
    patterns = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                patterns.append(line)

    def ignored(relative: str) -> bool:
        parts = relative.split("/")
        for pattern in patterns:
            bare = pattern.strip("/")
            if "/" in bare:
                if fnmatch.fnmatchcase(relative, bare) or relative.startswith(bare + "/"):
                    return True
            elif any(fnmatch.fnmatchcase(part, bare) for part in (parts[:-1] if pattern.endswith("/") else parts)):
                return True
        return False

    return ignored


def repository_files(base: Path, recursive: bool = True) -> dict[str, Path]:
    """The files below ``base`` of a checkout (relative POSIX path -> file), without ``.git``,
    ``.gitignore``/``.gitkeep`` files and what ``.kestraignore`` ignores (Kestra's sync tasks)."""
    ignored = kestra_ignore(base)
    found: dict[str, Path] = {}
    for path in sorted(base.rglob("*") if recursive else base.iterdir()):
        relative = path.relative_to(base).as_posix()
        if not path.is_file() or ".git" in relative.split("/") or relative.endswith(_IGNORED_NAMES):
            continue
        if not ignored(relative):
            found[relative] = path
    return found
