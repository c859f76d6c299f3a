"""A local Google Cloud Storage for the GCS tasks: the ``gcp-storage-emulator`` package's server,
in memory, on a free port of 127.0.0.1, so flows upload, list and download offline.

It sets nothing globally: give its ``url`` to the tasks as ``STORAGE_EMULATOR_HOST`` (Google's
client then sends every call there, without credentials)::

    with GcsEmulator(buckets=["zoomcamp"]) as gcs:
        os.environ["STORAGE_EMULATOR_HOST"] = gcs.url

The emulator answers a subset of the API: buckets keep its defaults whatever is asked at creation
(location US, class STANDARD; a later update stores the fields it is sent), objects have a single
version (``allVersions`` lists the same blobs) and listings come in one page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial
from http.server import HTTPServer
from types import TracebackType


class GcsEmulator:
    """A running emulator: ``url`` (``http://127.0.0.1:PORT``), ``stop()``; a context manager.

    ``buckets`` are created at start (the emulator's ``default_bucket``, for several names).
    """

    def __init__(self, buckets: Iterable[str] = (), port: int = 0) -> None:
        from gcp_storage_emulator.handlers.buckets import create_bucket  # type: ignore[import-untyped]
        from gcp_storage_emulator.server import RequestHandler  # type: ignore[import-untyped]
        from gcp_storage_emulator.storage import Storage  # type: ignore[import-untyped]

        storage = Storage(use_memory_fs=True)
        for name in buckets:
            create_bucket(name, storage)
        # The package's request handler and storage under a server of our own: its create_server
        # needs a fixed port and runs a non-daemon thread; this one binds a free port and never keeps
        # the kernel alive. One request at a time, as the package serves them (its storage has no locks).
        self._httpd = HTTPServer(("127.0.0.1", port), partial(RequestHandler, storage))
        threading.Thread(target=self._httpd.serve_forever, name="gcs-emulator", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> GcsEmulator:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"GcsEmulator({self.url!r})"
