"""Git repositories for the tests: bare repositories made with the real ``git``, served over HTTP on
127.0.0.1 by ``git http-backend`` behind HTTP basic authentication (no root, no network).

``GitHttpServer`` runs the standard library's HTTP server; each request that carries the right
user and password goes to ``git http-backend`` as a CGI call (so clones, fetches and pushes are
git's own protocol), any other gets 401.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

USER = "student"
PASSWORD = "t0ken-that-must-not-leak"
IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git (an identity set, the user's configuration ignored); its stdout."""
    env = dict(os.environ, **IDENTITY, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def make_repository(root: Path, name: str, branches: dict[str, list[dict[str, str | None]]]) -> Path:
    """A bare repository ``root/name``: for each branch (the first is the default), its commits in
    order, each a map of path -> text (None deletes the file). Returns its path."""
    bare = root / name
    work = root / f"{name}-work"
    git("init", "--quiet", "--bare", "--initial-branch", next(iter(branches)), str(bare))
    git("init", "--quiet", "--initial-branch", next(iter(branches)), str(work))
    first = True
    for branch, commits in branches.items():
        if not first:
            git("checkout", "--quiet", "-b", branch, cwd=work)
        for number, files in enumerate(commits):
            for path, text in files.items():
                target = work / path
                if text is not None:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
                else:
                    target.unlink()
            git("add", "--all", cwd=work)
            git("commit", "--quiet", "-m", f"{branch} commit {number + 1}", cwd=work)
        git("push", "--quiet", str(bare), branch, cwd=work)
        first = False
    return bare


class _Backend(BaseHTTPRequestHandler):
    root: Path
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self._body()
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=str(self.root), GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path,
                   QUERY_STRING=query, REQUEST_METHOD=self.command, CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE=self.headers.get("Content-Type", ""), REMOTE_USER=USER, REMOTE_ADDR="127.0.0.1",
                   HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
                   GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers = [line.split(":", 1) for line in head.decode("latin-1").split("\r\n") if ":" in line]
        status = next((int(value.split()[0]) for name, value in headers if name.lower() == "status"), 200)
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "status":
                self.send_header(name, value.strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class GitHttpServer:
    """``git http-backend`` for the bare repositories under ``root``, on 127.0.0.1."""

    def __init__(self, root: Path):
        handler = type("Handler", (_Backend,), {"root": root})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
