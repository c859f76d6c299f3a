"""Python ``dependencies``: one virtual environment per set of packages, cached
under ``<home>/envs/<hash>`` and created with ``python -m venv`` + pip.

The environment also sees the kernel's packages (a ``.pth`` file lists the
kernel's site-packages after its own), so a dependency the kernel already
has installs instantly and offline. Kestra uses uv; pip gives the same result.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import site
import sys
import threading
from pathlib import Path

from ...config import settings
from ..base import TaskContext, TaskFailure

_lock = threading.Lock()
_READY = ".nb_orchestra-ready"


def python_with(ctx: TaskContext, dependencies: list[str], work: Path, cached: bool = True) -> Path:
    """An interpreter that can import ``dependencies``: the kernel's when there are none."""
    if not dependencies:
        return Path(sys.executable)
    if not cached:
        return _create(ctx, work / ".venv", dependencies)
    key = hashlib.sha256(json.dumps([sys.executable, sys.version, sorted(dependencies)]).encode()).hexdigest()[:16]
    env_dir = settings.home / "envs" / key
    with _lock:
        if (env_dir / _READY).exists():
            ctx.info(f"Python dependencies {', '.join(dependencies)}: cached environment {env_dir}")
            return _python(env_dir)
        return _create(ctx, env_dir, dependencies)


def _create(ctx: TaskContext, env_dir: Path, dependencies: list[str]) -> Path:
    from .runner import run_process

    shutil.rmtree(env_dir, ignore_errors=True)
    ctx.info(f"Installing Python dependencies {', '.join(dependencies)} into {env_dir}")
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def keep(line: str, stderr: bool) -> None:
        lines.append(line)
        ctx.log("DEBUG", line)

    steps = ([sys.executable, "-m", "venv", str(env_dir)],
             [str(_python(env_dir)), "-m", "pip", "install", "--disable-pip-version-check", *dependencies])
    for number, argv in enumerate(steps):
        if number == 1:
            _link_kernel_packages(env_dir)
        code = run_process(argv, env_dir.parent, dict(os.environ, PIP_NO_INPUT="1"), ctx, keep)
        if code != 0:
            shutil.rmtree(env_dir, ignore_errors=True)
            what = "pip could not install " + ", ".join(dependencies) if number else "python -m venv failed"
            errors = [line for line in lines if re.match(r"\s*ERROR", line)] or lines[-5:]
            raise TaskFailure(f"{what} (exit {code}):\n" + "\n".join(errors))
    (env_dir / _READY).touch()
    return _python(env_dir)


def _python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _link_kernel_packages(env_dir: Path) -> None:
    """Let the environment import the kernel's packages, after its own."""
    found = sorted(env_dir.glob("lib/python*/site-packages")) or [env_dir / "Lib" / "site-packages"]
    kernel = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (found[0] / "_nb_orchestra_kernel.pth").write_text("\n".join(kernel) + "\n", encoding="utf-8")
