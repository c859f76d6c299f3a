"""A local stand-in for the course's release files, so download tasks run offline.

The course downloads ``https://github.com/DataTalksClub/nyc-tlc-data/releases/download/<taxi>/<file>.csv.gz``.
:func:`serve_taxi_data` answers the same paths, ``<url><taxi>/<file>.csv.gz``,
on 127.0.0.1 with files made by :func:`taxi_data.write_month` (on first request,
then kept), and 404 for anything else, as GitHub does for a month that was
never released.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .taxi_data import COLUMNS, file_name, write_month

RELEASE_URL = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/"
_PATH = re.compile(r"^/(yellow|green)/(yellow|green)_tripdata_(\d{4})-(\d{2})\.csv\.gz$")
Month = tuple[str, int, int]


class TaxiServer:
    """A running server: ``url`` (ends with ``/``), ``folder`` of the generated files, ``stop()``."""

    def __init__(self, months: Iterable[Month] | None, port: int, rows: int) -> None:
        self.months = None if months is None else {(taxi, int(year), int(month)) for taxi, year, month in months}
        self.rows = rows
        self.folder = Path(tempfile.mkdtemp(prefix="nbo-taxi-"))
        self._remove_files = weakref.finalize(self, shutil.rmtree, self.folder, True)  # at stop() or exit
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="taxi-data-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def file(self, taxi: str, year: int, month: int) -> Path | None:
        """The month's file, written on first use; None when this server does not offer it."""
        offered = self.months is None or (taxi, year, month) in self.months
        if taxi not in COLUMNS or not 1 <= month <= 12 or not offered:
            return None
        with self._lock:
            path = self.folder / taxi / file_name(taxi, year, month)
            return path if path.exists() else write_month(path.parent, taxi, year, month, rows=self.rows)

    def stop(self) -> None:
        """Stop serving and delete the generated files."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._remove_files()

    def __repr__(self) -> str:
        return f"TaxiServer({self.url!r})"


def serve_taxi_data(months: Iterable[Month] | None = None, port: int = 0, rows: int = 400) -> TaxiServer:
    """Serve taxi files in a daemon thread; ``months`` like ``[("yellow", 2019, 1)]`` (None: any month).

    ``port=0`` picks a free port; read it from ``server.url``.
    """
    return TaxiServer(months, port, rows)


def _handler(server: TaxiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(body=True)

        def do_HEAD(self) -> None:
            self._send(body=False)

        def _send(self, body: bool) -> None:
            match = _PATH.match(self.path.split("?", 1)[0])
            path = None
            if match and match[1] == match[2]:
                path = server.file(match[1], int(match[3]), int(match[4]))
            if path is None:
                self.send_error(HTTPStatus.NOT_FOUND, "Not Found")
                return
            data = path.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # keep notebook outputs clean
            pass

    return Handler
