"""The ``git`` executable as one task run uses it: found, handed its credentials, and quoted safely.

Credentials never go on git's command line nor into a URL git would keep in ``.git/config``: a
username and password reach git through a credential helper that reads them from the process's
environment, a private key through a file in a private temporary folder named by
``GIT_SSH_COMMAND``. git never prompts (``GIT_TERMINAL_PROMPT=0``): a missing credential is an
error, not a hung task. Every line git prints is masked (the password, the passphrase, the key, the
user part of any URL) before it is logged or quoted in an error.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ...secrets import MASK, SecretValues, mask
from ..base import TaskContext, TaskFailure
from ..scripts.runner import run_process

GIT_SETTING = "NB_ORCHESTRA_GIT"
MISSING = ("the git tasks run the `git` program, which was not found on PATH: install Git "
           "(https://git-scm.com/downloads; on Windows, Git for Windows), then restart the kernel; "
           f"or set the environment variable {GIT_SETTING} to the git executable")

# The user part of a URL (``https://user:token@host``): hidden whole, a token may stand alone there.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
# A credential helper that answers git's "get" from the environment: no secret in argv.
_HELPER = ('!f() { test "$1" = get || exit 0; echo "username=$NBO_GIT_USERNAME"; '
           'echo "password=$NBO_GIT_PASSWORD"; }; f')


def hide_userinfo(text: str) -> str:
    """``text`` with the user part of every URL in it replaced by ******."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)


def git_executable() -> str:
    """The git program: ``NB_ORCHESTRA_GIT`` when set, else ``git`` on PATH; a TaskFailure saying how
    to install it when there is none."""
    configured = os.environ.get(GIT_SETTING)
    found = shutil.which(configured or "git")
    if found is None:
        if configured:
            raise TaskFailure(f"{GIT_SETTING}={configured} is not an executable git program")
        raise TaskFailure(MISSING)
    return found


@dataclass
class Credentials:
    """What a git task authenticates with (Kestra's username/password or privateKey/passphrase)."""

    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    passphrase: str | None = None
    connect_timeout: int | None = None  # milliseconds (SSH)

    @classmethod
    def of(cls, ctx: TaskContext) -> Credentials:
        return cls(username=ctx.get("username") or None, password=ctx.get("password") or None,
                   private_key=ctx.get("privateKey") or None, passphrase=ctx.get("passphrase") or None,
                   connect_timeout=ctx.get("connectTimeout"))

    def secrets(self, url: str | None) -> SecretValues:
        """The values no message may show: password, passphrase, key, and a password inside ``url``."""
        values = [v for v in (self.password, self.passphrase, self.private_key) if v]
        values += [line for line in (self.private_key or "").splitlines() if len(line) >= 16]
        if url and "://" in url:
            inline = urlsplit(url).password
            if inline:
                values += [inline, unquote(inline)]
        return SecretValues(values)


@dataclass
class Result:
    code: int
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)


class Git:
    """Runs git commands for one task run; see the module's docstring for what it guarantees."""

    def __init__(self, ctx: TaskContext, credentials: Credentials, url: str | None, private: Path,
                 config: dict[str, str] | None = None, no_proxy: bool = False):
        self.ctx = ctx
        self.executable = git_executable()
        self.secrets = credentials.secrets(url)
        self.options = ["-c", "core.quotePath=false", "-c", "advice.detachedHead=false"]
        for key, value in (config or {}).items():
            self.options += ["-c", f"{key}={value}"]
        self.env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", GCM_INTERACTIVE="never",
                        LC_ALL="C", LANGUAGE="C")
        if no_proxy:
            for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
                self.env.pop(name, None)
            self.options += ["-c", "http.proxy="]
        if credentials.username and credentials.password:
            # an empty helper first: the user's own helpers neither answer nor store these
            self.options += ["-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"]
            self.env.update(NBO_GIT_USERNAME=credentials.username, NBO_GIT_PASSWORD=credentials.password)
        if credentials.private_key:
            self.env["GIT_SSH_COMMAND"] = _ssh_command(credentials, private, self.env)

    def hide(self, text: str) -> str:
        return mask(hide_userinfo(text), self.secrets)

    def run(self, *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> Result:
        """Run ``git ARGS`` in ``cwd``; its stderr is logged at DEBUG (masked). With ``check``, a
        non-zero exit is a TaskFailure quoting git's own error lines."""
        result = Result(0)

        def keep(line: str, stderr: bool) -> None:
            if stderr:
                shown = self.hide(line)
                result.err.append(shown)
                if shown.strip():
                    self.ctx.log("DEBUG", shown)
            else:
                result.out.append(line)

        argv = [self.executable, *self.options, *args]
        result.code = run_process(argv, cwd, {**self.env, **(env or {})}, self.ctx, keep)
        if check and result.code != 0:
            raise TaskFailure(f"git {args[0]} failed (exit {result.code}): {self.reason(result)}")
        return result

    def reason(self, result: Result) -> str:
        """git's own explanation: its fatal/error lines (ssh's, the remote's, the hints), else its last lines."""
        lines = [line.strip() for line in result.err if line.strip()]
        wanted = [line for line in lines if line.startswith(("ssh:", "fatal:", "error:", "remote:", "!", "hint:"))
                  or "Permission denied" in line]
        return "; ".join(wanted or lines[-2:] or [f"no message; {len(result.out)} line(s) of output"])


def _ssh_command(credentials: Credentials, private: Path, env: dict[str, str]) -> str:
    """``ssh`` with the task's key (written to ``private``), no host-key prompt (as Kestra's
    StrictHostKeyChecking=no) and, for a passphrase, an askpass program reading the environment."""
    key = private / "id_key"
    key.write_text((credentials.private_key or "").strip() + "\n", encoding="utf-8")
    key.chmod(stat.S_IRUSR | stat.S_IWUSR)
    options = ["-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={os.devnull}"]
    if credentials.connect_timeout:
        options += ["-o", f"ConnectTimeout={max(1, credentials.connect_timeout // 1000)}"]
    if credentials.passphrase:
        askpass = private / "askpass.sh"
        askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$NBO_GIT_PASSPHRASE"\n', encoding="utf-8")
        askpass.chmod(stat.S_IRWXU)
        env.update(NBO_GIT_PASSPHRASE=credentials.passphrase, SSH_ASKPASS=str(askpass),
                   SSH_ASKPASS_REQUIRE="force", DISPLAY=env.get("DISPLAY") or ":0")
    else:
        options += ["-o", "BatchMode=yes"]
    return " ".join(shlex.quote(part) for part in ["ssh", "-i", key.as_posix(), *options])


@contextmanager
def git_for(ctx: TaskContext, url: str | None) -> Iterator[Git]:
    """A :class:`Git` for this task run, set up from its properties (credentials, CA file, proxy,
    read timeout); its private files are removed when the block ends."""
    config = {"http.lowSpeedLimit": "1", "http.lowSpeedTime": str(max(1, (ctx.get("readTimeout") or 60000) // 1000))}
    ca_file = ctx.get("trustedCaPemPath")
    if ca_file:
        config["http.sslCAInfo"] = str(ca_file)
    with tempfile.TemporaryDirectory(prefix="nbo-git-") as private:
        yield Git(ctx, Credentials.of(ctx), url, Path(private), config, no_proxy=bool(ctx.get("noProxy")))
