"""Helpers for the browser tests: an isolated JupyterLab or Notebook 7 server and Debian's Chromium via Playwright.

Nothing here downloads anything. Chromium comes from the system (``apt-get install chromium``,
see scripts/setup-dev.sh), never from ``playwright install``; ``NBO_CHROMIUM`` overrides its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("NBO_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google hosts: slow, noisy starts offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = (
    "The browser tests need JupyterLab, Notebook 7, Playwright (the Python package only) and Debian's Chromium:\n"
    "    bash scripts/setup-dev.sh\n"
    "or by hand:\n"
    "    apt-get install -y chromium          # /usr/bin/chromium; or set NBO_CHROMIUM=/path/to/chromium\n"
    "    pip install jupyterlab notebook playwright   # never `playwright install`: the system Chromium is used"
)


def missing_requirements() -> list[str]:
    """What is missing to run the browser tests (empty when everything is there)."""
    import importlib.util

    missing = [f"Python package '{name}'" for name in ("playwright", "jupyterlab", "notebook", "ipykernel", "nbformat")
               if importlib.util.find_spec(name) is None]
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium executable {CHROMIUM}")
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def isolated_env(home: Path) -> dict[str, str]:
    """Environment keeping the user's ~/.jupyter, ~/.ipython, Lab settings and nb_orchestra files out."""
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),  # notebook_secret; kernelspecs are still found in sys.prefix
        ("IPYTHONDIR", "ipython"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-user-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
        ("NB_ORCHESTRA_HOME", "nb_orchestra"),  # the kernel inherits it
    ]:
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    settings = home / "lab-user-settings" / "@jupyterlab"
    # No "official Jupyter news?" toast nor update check popping over the notebook (and the screenshots).
    _write_json(settings / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    # Render every cell, so far-off outputs exist in the DOM.
    _write_json(settings / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"})
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_TOKEN", None)
    return env


class JupyterServer:
    """``with JupyterServer(root, app) as server: open_notebook(page, server, "x.ipynb")``: no auth, 127.0.0.1 only.

    ``app``: "lab" (``jupyter lab``) or "notebook" (``jupyter notebook``, Notebook 7); both run
    the same Lumino front end, so the page helpers below serve both."""

    def __init__(self, root: Path, app: str = "lab", start_timeout: float = 60.0):
        assert app in ("lab", "notebook"), app
        self.root = Path(root)
        self.app = app
        self.start_timeout = start_timeout
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="nbo-jupyter-"))
        self.log_path = self.home / "server.log"
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: float | None = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> JupyterServer:
        cmd = [
            sys.executable, "-m", "jupyter", self.app,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
        ]
        if self.app == "lab":
            cmd += [
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",  # no PyPI queries from the server
                "--LabApp.expose_app_in_browser=True",  # window.jupyterapp
            ]
        else:  # Notebook 7 has no news, update check nor extension manager
            cmd.append("--JupyterNotebookApp.expose_app_in_browser=True")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        start = time.monotonic()
        self._log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=isolated_env(self.home), stdout=self._log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        while time.monotonic() < start + self.start_timeout:
            if self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"jupyter {self.app} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as response:
                    if response.status == 200:
                        self.startup_seconds = time.monotonic() - start
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise TimeoutError(f"jupyter {self.app} did not answer within {self.start_timeout:.0f}s:\n{self.log()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):  # shuts the kernels down too
                urllib.request.urlopen(urllib.request.Request(self.url("api/shutdown"), method="POST"), timeout=5)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=10)
        if getattr(self, "_log_file", None):
            self._log_file.close()

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def write_notebook(path: Path, cells: list[str]) -> Path:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, str(path))
    return path


# --- page helpers (JupyterLab 4 and Notebook 7: the same window.jupyterapp API and DOM classes) ---

KERNEL_READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""


def open_notebook(page: Any, server: JupyterServer, name: str, timeout_ms: int = 60_000) -> None:
    """Open ``name`` (relative to the server root) and wait until its kernel is connected and idle.

    The toolbar's execution indicator says "idle" before any kernel exists; running a cell then
    races the session start. So ask the app itself (expose_app_in_browser)."""
    # Lab's ?reset: ignore any saved workspace layout
    page.goto(server.url(f"lab/tree/{name}?reset" if server.app == "lab" else f"notebooks/{name}"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    page.wait_for_function(KERNEL_READY_JS, timeout=timeout_ms, polling=100)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the file browser: room for outputs


def screenshot(page: Any, locator: Any, path: Path, pad: int = 10, fit: bool = False) -> None:
    """An element screenshot of ``locator`` with ``pad`` pixels of room around its content.

    ``fit``: shrink the element to its content's width for the picture (widget boxes span the
    whole notebook width). The element's inline style is restored afterwards."""
    locator.scroll_into_view_if_needed()
    page.mouse.move(0, 0)  # no hover effects
    old = locator.evaluate("""(e, [pad, fit]) => {
      const old = e.getAttribute('style');
      e.style.padding = pad + 'px';
      if (fit) e.style.width = 'fit-content';
      return old;
    }""", [pad, fit])
    try:
        locator.screenshot(path=str(path), animations="disabled")
    finally:
        locator.evaluate("(e, old) => old === null ? e.removeAttribute('style') : e.setAttribute('style', old)", old)


def cell(page: Any, index: int) -> Any:
    """Locator of the notebook's cell ``index`` (0-based)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


@contextlib.contextmanager
def notebook_in_browser(app: str, cells: list[str], name: str, height: int = 900) -> Iterator[Any]:
    """A new notebook of ``cells`` served by JupyterLab (``app="lab"``) or Notebook 7, open in
    headless Chromium with its kernel idle. The page carries ``.server`` and ``.root`` (the
    server's folder). Missing pieces fail the test with the install commands."""
    import pytest

    missing = missing_requirements()
    if missing:
        pytest.fail(f"missing: {', '.join(missing)}\n{INSTALL_HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="nbo-browser-"))
    write_notebook(root / name, cells)
    with JupyterServer(root, app) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1000, "height": height})
        page.server = server
        page.root = root
        try:
            open_notebook(page, server, name)
            yield page
        finally:
            browser.close()
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


def start_cell(page: Any, index: int) -> int | None:
    """Start running cell ``index`` (0-based); its execution count before, for :func:`run_cell`."""
    return page.evaluate("""i => {
      const nb = window.jupyterapp.shell.currentWidget.content;
      const count = nb.widgets[i].model.executionCount;
      nb.deselectAll();
      nb.activeCellIndex = i;
      window.jupyterapp.commands.execute('notebook:run-cell');
      return count;
    }""", index)


def run_cell(page: Any, index: int, timeout_ms: int = 60_000) -> None:
    """Run cell ``index`` (0-based) and wait until its execution finished (a new execution count)."""
    wait_for_cell(page, index, start_cell(page, index), timeout_ms)


def wait_for_cell(page: Any, index: int, before: int | None, timeout_ms: int = 60_000) -> None:
    """Wait until cell ``index`` got a new execution count (``before`` was the old) and the kernel is idle."""
    page.wait_for_function("""([i, before]) => {
      const w = window.jupyterapp.shell.currentWidget;
      const count = w.content.widgets[i].model.executionCount;
      const prompt = w.content.widgets[i].node.querySelector('.jp-InputPrompt');
      return count !== null && count !== before && /^\\[\\d+\\]:$/.test(prompt.textContent.trim())
             && w.sessionContext.session.kernel.status === 'idle';
    }""", arg=[index, before], timeout=timeout_ms, polling=100)


def output_text(page: Any, index: int) -> str:
    """The visible text of cell ``index``'s outputs."""
    return "\n".join(cell(page, index).locator(".jp-OutputArea-output").all_inner_texts())
