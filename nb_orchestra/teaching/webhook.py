"""A local stand-in for a chat service's incoming webhook (Slack, Discord, Teams, Google Chat), so
notification tasks run offline: it keeps the JSON body of every POST and answers 200.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """A running receiver: ``url`` to give a notification task, ``received`` (the bodies, in order),
    ``stop()``."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Any] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.received))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="webhook-receiver", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/services/T000/B000/local"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.url!r}, {len(self.received)} received)"


def _handler(received: list[Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                received.append(json.loads(body))
            except ValueError:
                received.append(body.decode("utf-8", "replace"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet: no access log in the notebook)
            pass

    return Handler


def serve_webhook() -> WebhookReceiver:
    """Start a receiver on a free port of 127.0.0.1, in a daemon thread."""
    return WebhookReceiver()
