"""io.kestra.plugin.gcp.gcs: objects of Google Cloud Storage (Upload, Download, Downloads, List,
Delete, DeleteList, Copy) with Google's client; buckets are in gcs_buckets.py."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from ...internal_storage import to_uri
from ..base import Prop, TaskContext, TaskFailure
from ..files import stored_file
from ..ion import output_path
from .gcs_common import (
    LIST_PROPS,
    GcsPath,
    GcsTask,
    blob_output,
    blob_uri,
    choice,
    gcs_errors,
    gcs_path,
    is_directory,
    listed,
    matches,
    object_uri,
    regexp,
    storage_client,
)

_DESTINATION = Prop("string", required=True, description="The destination object, `gs://bucket/path`.")
_MAX_FILES = Prop("int", default=25, description="The most objects listed; the rest are skipped with a warning.")
_LIST_OUTPUT = {"blobs": "The objects found: Kestra's Blob (uri, bucket, name, size, contentType, updateTime, "
                         "md5, crc32c, directory...)."}


def _missing_object(where: GcsPath) -> str:
    return f"Unable to find blob on bucket '{where.bucket}' with path '{where.name}'"


class Upload(GcsTask):
    """Upload a file of the internal storage to a gs:// object."""

    type = "io.kestra.plugin.gcp.gcs.Upload"
    properties = {
        **GcsTask.properties,
        "from": Prop("string", required=True, description="The file to upload: a `kestra://` URI."),
        "to": _DESTINATION,
        "contentType": Prop("string", description="The object's Content-Type."),
        "contentEncoding": Prop("string", description="The object's Content-Encoding."),
        "contentDisposition": Prop("string", description="The object's Content-Disposition."),
        "cacheControl": Prop("string", description="The object's Cache-Control."),
        "validateChecksum": Prop("bool", default=True, description="Compare the MD5 and CRC32C computed while "
                                 "uploading with those GCS reports for the stored object."),
        "expectedMd5": Prop("string", description="The base64 MD5 the source must have."),
        "expectedCrc32c": Prop("string", description="The base64 big-endian CRC32C the source must have."),
    }
    outputs = {"uri": "The gs:// URI of the uploaded object.", "md5": "Base64 MD5 of the uploaded data.",
               "crc32c": "Base64 big-endian CRC32C of the uploaded data."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source = stored_file(ctx.get("from"), "from", ctx.execution.namespace)
        target = gcs_path(ctx.get("to"), "to")
        validate = bool(ctx.get("validateChecksum"))
        expected = {prop: ctx.get(prop) for prop in ("expectedMd5", "expectedCrc32c")
                    if ctx.get(prop) not in (None, "")}
        # Kestra computes (and outputs) the checksums only when something checks them.
        md5, crc32c = _checksums(source) if validate or expected else (None, None)
        for prop, computed in (("expectedMd5", md5), ("expectedCrc32c", crc32c)):
            if prop in expected and expected[prop] != computed:
                raise TaskFailure(f"property '{prop}': the source's checksum is {computed}, not {expected[prop]}")
        client = storage_client(ctx)
        blob = client.bucket(target.bucket).blob(target.name)
        blob.content_encoding = ctx.get("contentEncoding")
        blob.content_disposition = ctx.get("contentDisposition")
        blob.cache_control = ctx.get("cacheControl")
        with gcs_errors(f"GCS bucket '{target.bucket}' does not exist", target.uri):
            blob.upload_from_filename(str(source), content_type=ctx.get("contentType"))
            if validate:
                blob.reload()
                if (blob.md5_hash, blob.crc32c) != (md5, crc32c):
                    raise TaskFailure(f"Checksum mismatch after upload: sent md5={md5} crc32c={crc32c}, "
                                      f"GCS has md5={blob.md5_hash} crc32c={blob.crc32c}")
        checksums = {"md5": md5, "crc32c": crc32c} if md5 is not None else {}
        return {"uri": object_uri(target.bucket, target.name), **checksums}


def _checksums(path: Path) -> tuple[str, str]:
    """The base64 MD5 and big-endian CRC32C of a file, as GCS reports them."""
    import google_crc32c

    md5, crc = hashlib.md5(usedforsecurity=False), google_crc32c.Checksum()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            md5.update(chunk)
            crc.update(chunk)
    return base64.b64encode(md5.digest()).decode(), base64.b64encode(crc.digest()).decode()


def _download(ctx: TaskContext, client: Any, where: GcsPath, validate: bool) -> str:
    """The object saved as a file of the task run; its kestra:// URI."""
    target = output_path(ctx, PurePosixPath(where.name).suffix)
    blob = client.bucket(where.bucket).blob(where.name)
    try:
        with gcs_errors(_missing_object(where), where.uri):
            blob.download_to_filename(str(target), checksum="auto" if validate else None)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return to_uri(target)


_VALIDATE_DOWNLOAD = Prop("bool", default=False, description="Check each downloaded file against the CRC32C "
                          "(else MD5) GCS reports for it.")


class Download(GcsTask):
    """Download a gs:// object to the internal storage."""

    type = "io.kestra.plugin.gcp.gcs.Download"
    properties = {
        **GcsTask.properties,
        "from": Prop("string", required=True, description="The object to download, `gs://bucket/path`."),
        "validateChecksum": _VALIDATE_DOWNLOAD,
    }
    outputs = {"uri": "kestra:// URI of the downloaded file.", "bucket": "The object's bucket.",
               "path": "The object's path in its bucket."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        where = gcs_path(ctx.get("from"), "from")
        uri = _download(ctx, storage_client(ctx), where, bool(ctx.get("validateChecksum")))
        return {"bucket": where.bucket, "path": where.name, "uri": uri}


def _listing(ctx: TaskContext, client: Any, keep: str) -> list[dict[str, Any]]:
    """Kestra's List: the objects under ``from`` that ``keep`` (FILES, DIRECTORY, BOTH) and ``regExp``
    select, at most ``maxFiles`` (a warning says when more were found)."""
    pattern, limit = regexp(ctx), int(ctx.get("maxFiles"))
    found: list[dict[str, Any]] = []
    for resource in listed(ctx, client):
        if keep != "BOTH" and is_directory(resource) != (keep == "DIRECTORY"):
            continue
        if matches(resource, pattern):
            if len(found) == limit:
                ctx.log("WARN", f"Results for '{ctx.get('from')}' exceeded the maxFiles limit ({limit}); "
                                "remaining items were skipped.")
                break
            found.append(blob_output(resource))
    return found


class List(GcsTask):
    """List the objects under a gs:// prefix."""

    type = "io.kestra.plugin.gcp.gcs.List"
    properties = {
        **GcsTask.properties,
        **LIST_PROPS,
        "filter": Prop("enum", default="BOTH", choices=("FILES", "DIRECTORY", "BOTH"),
                       description="Keep files, folders, or both."),
        "maxFiles": _MAX_FILES,
    }
    outputs = _LIST_OUTPUT

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        blobs = _listing(ctx, storage_client(ctx), choice(ctx, "filter"))
        ctx.log("DEBUG", f"Found '{len(blobs)}' blobs from '{ctx.get('from')}'")
        return {"blobs": blobs}


class Downloads(GcsTask):
    """Download the objects under a gs:// prefix, then delete or move them (``action``)."""

    type = "io.kestra.plugin.gcp.gcs.Downloads"
    properties = {
        **GcsTask.properties,
        **LIST_PROPS,
        "action": Prop("enum", default="NONE", choices=("MOVE", "DELETE", "NONE"),
                       description="What becomes of the objects once downloaded: MOVE them to "
                                   "`moveDirectory`, DELETE them, or NONE."),
        "moveDirectory": Prop("string", description="The gs:// prefix objects are moved to (action MOVE)."),
        "maxFiles": _MAX_FILES,
        "validateChecksum": _VALIDATE_DOWNLOAD,
    }
    outputs = {**_LIST_OUTPUT, "outputFiles": "The downloaded files: object name -> kestra:// URI."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        action = choice(ctx, "action")
        move_to = str(ctx.get("moveDirectory") or "")
        if action == "MOVE" and not move_to:
            raise TaskFailure("property 'moveDirectory' is required when action is MOVE")
        client = storage_client(ctx)
        found = _listing(ctx, client, "FILES")
        validate = bool(ctx.get("validateChecksum"))
        downloaded = [{**blob, "uri": _download(ctx, client, GcsPath(blob["bucket"], blob["name"]), validate)}
                      for blob in found]
        for blob in found:
            source = GcsPath(blob["bucket"], blob["name"])  # the name itself: the uri is encoded
            if action == "DELETE":
                _delete(client, source)
            elif action == "MOVE":
                target = f"{move_to.rstrip('/')}/{PurePosixPath(blob['name']).name}"
                _copy(client, source, gcs_path(target, "moveDirectory"), delete=True)
        return {"blobs": downloaded, "outputFiles": {blob["name"]: blob["uri"] for blob in downloaded}}


def _delete(client: Any, where: GcsPath) -> bool:
    """Delete an object; False when there was none (or no bucket), as Kestra's client reports it."""
    from google.api_core.exceptions import NotFound

    with gcs_errors(_missing_object(where), where.uri):
        try:
            client.bucket(where.bucket).blob(where.name).delete()
        except NotFound:
            return False
    return True


class Delete(GcsTask):
    """Delete a gs:// object."""

    type = "io.kestra.plugin.gcp.gcs.Delete"
    properties = {
        **GcsTask.properties,
        "uri": Prop("string", required=True, description="The object to delete, `gs://bucket/path`."),
        "errorOnMissing": Prop("bool", default=False, description="Fail when there is no such object."),
    }
    outputs = {"uri": "The gs:// URI of the object.", "deleted": "Whether an object was deleted."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        where = gcs_path(ctx.get("uri"), "uri")
        uri = str(ctx.get("uri")).replace(" ", "%20")
        deleted = _delete(storage_client(ctx), where)
        if not deleted and ctx.get("errorOnMissing"):
            raise TaskFailure(f"Unable to find file '{uri}'")
        return {"uri": uri, "deleted": deleted}


class DeleteList(GcsTask):
    """Delete the objects under a gs:// prefix."""

    type = "io.kestra.plugin.gcp.gcs.DeleteList"
    properties = {
        **GcsTask.properties,
        **LIST_PROPS,
        "concurrent": Prop("int", description="How many deletions run at once (at least 2); one by one when absent."),
        "errorOnEmpty": Prop("bool", default=False, description="Fail when no object was deleted."),
    }
    outputs = {"count": "How many objects were deleted.", "size": "Their total size in bytes."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        concurrent = ctx.get("concurrent")
        if concurrent is not None and int(concurrent) < 2:
            raise TaskFailure(f"property 'concurrent': must be at least 2, got {concurrent}")
        client, pattern = storage_client(ctx), regexp(ctx)
        chosen = [resource for resource in listed(ctx, client)
                  if not resource.get("isDirectory") and matches(resource, pattern)]

        def delete(resource: dict[str, Any]) -> int:
            """The object's size once deleted; 0 when it was already gone (still counted, as Kestra does)."""
            gone = _delete(client, GcsPath(resource["bucket"], resource["name"]))
            return int(resource.get("size") or 0) if gone else 0

        with ThreadPoolExecutor(max_workers=int(concurrent or 1)) as pool:
            sizes = list(pool.map(delete, chosen))
        for resource in chosen:
            ctx.log("DEBUG", f"Deleted '{blob_uri(resource)}'")
        if not chosen and ctx.get("errorOnEmpty"):
            raise TaskFailure(f"Unable to find any files to delete on '{ctx.get('from')}'")
        ctx.info(f"Deleted {len(chosen)} files for {sum(sizes)} bytes")
        return {"count": len(chosen), "size": sum(sizes)}


def _copy(client: Any, source: GcsPath, target: GcsPath, delete: bool) -> str:
    """Copy an object (then delete the source); the gs:// URI of the copy."""
    with gcs_errors(_missing_object(source), source.uri):
        source_bucket = client.bucket(source.bucket)
        copied = source_bucket.copy_blob(source_bucket.blob(source.name), client.bucket(target.bucket), target.name)
    if delete:
        _delete(client, source)
    return f"gs://{copied.bucket.name}/{copied.name}"


class Copy(GcsTask):
    """Copy (or, with ``delete``, move) a gs:// object."""

    type = "io.kestra.plugin.gcp.gcs.Copy"
    properties = {
        **GcsTask.properties,
        "from": Prop("string", required=True, description="The object to copy, `gs://bucket/path`."),
        "to": _DESTINATION,
        "delete": Prop("bool", default=False, description="Delete the source once copied (a move)."),
    }
    outputs = {"uri": "The gs:// URI of the copy."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source, target = gcs_path(ctx.get("from"), "from"), gcs_path(ctx.get("to"), "to")
        if str(ctx.get("from")).replace(" ", "%20") == str(ctx.get("to")).replace(" ", "%20"):
            raise TaskFailure(f"Invalid copy to same path '{ctx.get('to')}'")
        return {"uri": _copy(storage_client(ctx), source, target, bool(ctx.get("delete")))}
