"""What the GCS tasks share (Kestra's AbstractGcs, AbstractList and models.Blob): the client, gs://
URIs read as Kestra reads them, listings, Blob outputs, and server errors as one-line failures.

Google's client (google-cloud-storage, extra ``gcp``) is imported when a task runs; it sends every
call to ``STORAGE_EMULATOR_HOST`` when that variable is set (a local emulator: no credentials).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import unquote

from ...expressions.dates import format_instant
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..extras import require
from ..serdes.common import choice  # an enum property checked once rendered (bigquery_client.py imports it here)
from .credentials import GCP_PROPS, connect

EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"
_SCHEME = "gs://"


class GcsTask(TaskPlugin):
    """A task calling Cloud Storage: network I/O on a worker thread."""

    blocking = True
    properties: ClassVar[dict[str, Prop]] = GCP_PROPS


def storage_client(ctx: TaskContext) -> Any:
    """A ``google.cloud.storage.Client`` with the task's project and credentials."""
    storage = require("google.cloud.storage", "gcp", "GCS")
    connection = connect(ctx, EMULATOR_VARIABLE)
    return storage.Client(project=connection.project, credentials=connection.credentials)


# -- gs:// URIs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GcsPath:
    """A bucket and an object name (or prefix) inside it."""

    bucket: str
    name: str

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


def gcs_path(value: Any, prop: str, plus_is_space: bool = True) -> GcsPath:
    """``gs://bucket/path`` as Kestra reads it: percent escapes decoded and, for an object name, ``+``
    standing for a space (its Blob URIs write spaces so); a listing prefix keeps its ``+``."""
    text = str(value or "")
    if not text.startswith(_SCHEME) or not text[len(_SCHEME):].split("/", 1)[0]:
        raise TaskFailure(f"property '{prop}': expected a gs://bucket/path URI, got '{text}'")
    bucket, _, path = text[len(_SCHEME):].partition("/")
    name = unquote(path)
    return GcsPath(bucket, name.replace("+", " ") if plus_is_space else name)


def object_uri(bucket: str, name: str) -> str:
    """The URI Kestra outputs for an uploaded or deleted object: spaces written ``%20``."""
    return f"{_SCHEME}{bucket}/{name.replace(' ', '%20')}"


# -- errors -----------------------------------------------------------------------------------------

@contextmanager
def gcs_errors(missing: str, subject: str) -> Iterator[None]:
    """Turn the client's failures into one-line TaskFailures; a 404 reads ``missing``, any other
    answer names ``subject`` (the object or bucket asked for)."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from google.cloud.storage.exceptions import DataCorruption  # type: ignore[import-untyped]
    from requests import RequestException

    try:
        yield
    except api.NotFound:
        raise TaskFailure(missing) from None
    except api.GoogleAPICallError as exc:
        raise TaskFailure(f"GCS answered {_status(exc.code)} for {subject}{_reason(exc)}") from None
    except api.RetryError as exc:  # the client gave up retrying an unreachable or failing server
        raise TaskFailure(f"GCS unreachable: {_first_line(exc)}") from None
    except auth.GoogleAuthError as exc:
        raise TaskFailure(f"GCS credentials refused: {_first_line(exc)}") from None
    except DataCorruption:
        raise TaskFailure("The downloaded file does not match the checksum GCS reports") from None
    except RequestException as exc:
        raise TaskFailure(f"GCS unreachable: {type(exc).__name__}: {_first_line(exc)}") from None


def _status(code: Any) -> str:
    try:
        return f"{code} {HTTPStatus(int(code)).phrase}"
    except (TypeError, ValueError):
        return str(code)


def _reason(exc: Any) -> str:
    """The server's own message of an API error (e.g. which permission is missing), when it gave one:
    in the error's ``errors``, or for a media download (which leaves them out) in its response's body."""
    errors = getattr(exc, "errors", None) or _body_errors(getattr(exc, "response", None))
    for error in errors:
        if isinstance(error, Mapping) and error.get("message"):
            return f": {str(error['message']).splitlines()[0][:200]}"
    return ""


def _body_errors(response: Any) -> list[Any]:
    try:
        errors = response.json()["error"]["errors"]
    except (AttributeError, ValueError, KeyError, TypeError):  # no response, not JSON, not Google's shape
        return []
    return errors if isinstance(errors, list) else []


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return lines[0][:200] if lines else ""


# -- listings and Blob outputs (Kestra's models.Blob) ---------------------------------------------------

LIST_PROPS: dict[str, Prop] = {
    "from": Prop("string", required=True, description="The gs:// prefix to list, e.g. `gs://my_bucket/dir/`."),
    "allVersions": Prop("bool", description="List every version of each object."),
    "listingType": Prop("enum", default="DIRECTORY", choices=("DIRECTORY", "RECURSIVE"),
                        description="DIRECTORY: the objects and folders right under the prefix; "
                                    "RECURSIVE: every object below it."),
    "regExp": Prop("string", description="A regular expression the whole object URI must match, "
                                         "e.g. `.*2020-01-0.\\.csv`."),
}


def listed(ctx: TaskContext, client: Any) -> Iterator[dict[str, Any]]:
    """The object resources under the task's ``from`` (as the JSON API gives them); with listing type
    DIRECTORY, each page's folders follow its objects as resources ``{"isDirectory": true}``."""
    where = gcs_path(ctx.get("from"), "from", plus_is_space=False)
    directory = choice(ctx, "listingType") == "DIRECTORY"
    pages = client.list_blobs(where.bucket, prefix=where.name or None, delimiter="/" if directory else None,
                              versions=bool(ctx.get("allVersions"))).pages
    with gcs_errors(f"GCS bucket '{where.bucket}' does not exist", where.uri):
        for page in pages:
            for blob in page:
                yield blob._properties  # the object's JSON resource: every field Kestra's Blob reads
            for prefix in page.prefixes:
                yield {"bucket": where.bucket, "name": prefix, "size": "0", "isDirectory": True}


def is_directory(resource: Mapping[str, Any]) -> bool:
    """A folder of a listing, or an object standing for one (a name ending with ``/``)."""
    return bool(resource.get("isDirectory")) or str(resource["name"]).endswith("/")


def blob_uri(resource: Mapping[str, Any]) -> str:
    """Kestra's Blob URI: spaces written ``+``."""
    return f"{_SCHEME}{resource['bucket']}/{str(resource['name']).replace(' ', '+')}"


def matches(resource: Mapping[str, Any], pattern: str | None) -> bool:
    """``regExp`` matched against the whole Blob URI (Java's ``String.matches``)."""
    return pattern is None or re.fullmatch(pattern, blob_uri(resource)) is not None


def regexp(ctx: TaskContext) -> str | None:
    pattern = ctx.get("regExp")
    if pattern in (None, ""):
        return None
    try:
        re.compile(str(pattern))
    except re.error as exc:
        raise TaskFailure(f"property 'regExp': invalid regular expression ({exc})") from None
    return str(pattern)


# Kestra's Blob field <- the JSON resource's field, by how the value is converted.
_TEXT = {"generatedId": "id", "selfLink": "selfLink", "cacheControl": "cacheControl", "etag": "etag",
         "md5": "md5Hash", "crc32c": "crc32c", "mediaLink": "mediaLink", "contentType": "contentType",
         "contentEncoding": "contentEncoding", "contentDisposition": "contentDisposition",
         "contentLanguage": "contentLanguage", "kmsKeyName": "kmsKeyName"}
_NUMBER = {"size": "size", "metaGeneration": "metageneration", "componentCount": "componentCount"}
_INSTANT = {"customTime": "customTime", "deleteTime": "timeDeleted", "updateTime": "updated",
            "createTime": "timeCreated", "timeStorageClassUpdated": "timeStorageClassUpdated"}
_FLAG = {"eventBasedHold": "eventBasedHold", "temporaryHold": "temporaryHold"}


def blob_output(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Kestra's Blob of an object resource (its null fields left out, as Kestra's outputs do)."""
    out: dict[str, Any] = {"uri": blob_uri(resource), "bucket": resource["bucket"], "name": resource["name"]}
    for key, field in _TEXT.items():
        out[key] = resource.get(field)
    for key, field in _NUMBER.items():
        out[key] = None if resource.get(field) is None else int(resource[field])
    for key, field in _INSTANT.items():
        out[key] = None if resource.get(field) is None else format_instant(_millis(resource[field]))
    for key, field in _FLAG.items():
        out[key] = resource.get(field)
    out["metadata"] = resource.get("metadata")
    expires = resource.get("retentionExpirationTime")  # Kestra keeps this one as epoch milliseconds
    out["retentionExpirationTime"] = None if expires is None else int(_millis(expires).timestamp() * 1000)
    out["directory"] = is_directory(resource)
    return {key: value for key, value in out.items() if value is not None}


def _millis(text: str) -> datetime:
    """An RFC 3339 time of the API, to the millisecond (Kestra's ``Instant.ofEpochMilli``)."""
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
