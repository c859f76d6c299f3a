"""The S3 tasks that work on a listing of a bucket: List, Downloads, DeleteList; and the listing
itself (ListObjectsV2 pages up to ``maxKeys``, then ``regexp`` and ``filter``), shared with
Download's multi-file mode."""

from __future__ import annotations

import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..serdes.common import choice
from .s3_common import (
    EXAMPLE_DEFAULTS,
    OBJECT_PROPS,
    copy_object,
    delete_object,
    download_object,
    instant,
    present,
    s3_client,
    s3_errors,
)

FILTERS = ("FILES", "DIRECTORY", "BOTH")
PAGE = 1000  # S3 returns at most 1000 keys a page

# Kestra's ListInterface, as List, Downloads and DeleteList declare it.
LIST_PROPS: dict[str, Prop] = {
    **OBJECT_PROPS,
    "prefix": Prop("string", description="Only keys that begin with this prefix."),
    "delimiter": Prop("string", description="A character that groups keys (the groups are not listed)."),
    "marker": Prop("string", description="List the keys after this one (ListObjectsV2's StartAfter)."),
    "encodingType": Prop("string", description="EncodingType of the keys in the response, e.g. `url`."),
    "maxKeys": Prop("int", default=1000, description="At most this many keys, over all pages."),
    "expectedBucketOwner": Prop("string", description="The account ID that must own the bucket."),
    "regexp": Prop("string", description="Only keys this Java-style regexp matches in full, e.g. `.*\\.csv`."),
    "filter": Prop("enum", default="BOTH", choices=FILTERS,
                   description="FILES, DIRECTORY (keys ending in `/`) or BOTH."),
}
MAX_FILES = Prop("int", default=25,
                 description="At most this many objects are kept (a warning says when more matched).")
VALIDATE_CHECKSUM = Prop("bool", default=False, description="Ask S3 for the stored checksums and verify the "
                         "downloaded bytes (objects uploaded with a checksum algorithm).")


def list_objects(ctx: TaskContext, client: Any, bucket: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The objects of ``bucket`` the task's list properties select, in Kestra's S3Object shape
    (key, etag, size, lastModified, owner); ``kind`` overrides the ``filter`` property."""
    declared = ctx.task.plugin.all_properties()  # Download declares only some of them

    def get(name: str) -> Any:
        return ctx.get(name) if name in declared else None

    max_keys = get("maxKeys") or 1000
    request = present({
        "Bucket": bucket, "MaxKeys": min(max_keys, PAGE), "Prefix": get("prefix"), "Delimiter": get("delimiter"),
        "StartAfter": get("marker"), "EncodingType": get("encodingType"),
        "ExpectedBucketOwner": get("expectedBucketOwner"), "RequestPayer": get("requestPayer"),
    })
    contents: list[dict[str, Any]] = []
    with s3_errors("ListObjectsV2", bucket):
        while True:
            page = client.list_objects_v2(**request)
            contents.extend(page.get("Contents", []))
            if len(contents) >= max_keys or not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                break
            request["ContinuationToken"] = page["NextContinuationToken"]
    pattern = _regexp(get("regexp"))
    kind = kind or (choice(ctx, "filter") if get("filter") else "BOTH")
    return [_s3_object(item) for item in contents[:max_keys]
            if (pattern is None or pattern.fullmatch(item["Key"])) and _of_kind(item["Key"], kind)]


def _regexp(text: str | None) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise TaskFailure(f"property 'regexp': not a valid regular expression ({exc})") from None


def _of_kind(key: str, kind: str) -> bool:
    return kind == "BOTH" or (kind == "DIRECTORY") == key.endswith("/")


def _s3_object(item: dict[str, Any]) -> dict[str, Any]:
    owner = item.get("Owner")
    return present({
        "key": item["Key"], "etag": item.get("ETag"), "size": item.get("Size"),
        "lastModified": instant(item.get("LastModified")),
        "owner": present({"id": owner.get("ID"), "displayName": owner.get("DisplayName")}) if owner else None,
    })


def at_most(ctx: TaskContext, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first ``maxFiles`` objects, with Kestra's warning when there were more."""
    limit = ctx.get("maxFiles")
    if len(objects) > limit:
        ctx.log("WARN", f"Listing returned {len(objects)} files but maxFiles limit is {limit}. Only the first "
                        f"{limit} files will be returned. Increase the maxFiles property if you need more files.")
    return objects[:limit]


class List(TaskPlugin):
    """List the objects of an S3 bucket: prefix, regexp and filter; output `objects`."""

    type = "io.kestra.plugin.aws.s3.List"
    blocking = True
    properties = {**LIST_PROPS, "maxFiles": MAX_FILES}
    outputs = {"objects": "The objects: key, etag, size, lastModified (and owner when S3 gives it)."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        bucket = ctx.get("bucket")
        return {"objects": at_most(ctx, list_objects(ctx, s3_client(ctx), bucket))}


class Downloads(TaskPlugin):
    """Download the objects a listing selects into internal storage, then MOVE, DELETE or keep them."""

    type = "io.kestra.plugin.aws.s3.Downloads"
    blocking = True
    properties = {
        **LIST_PROPS,
        "maxFiles": MAX_FILES,
        "action": Prop("enum", required=True, choices=("MOVE", "DELETE", "NONE"),
                       description="What to do with the objects once downloaded: MOVE (to `moveTo`), DELETE or NONE."),
        "moveTo": Prop("map", description="With MOVE: `{bucket, key}`, the bucket (the same when absent) and "
                       "the key prefix the objects are moved under."),
        "validateChecksum": VALIDATE_CHECKSUM,
    }
    outputs = {
        "objects": "The downloaded objects (no directories), each with `uri`: its kestra:// file.",
        "outputFiles": "The kestra:// file of each key, by key.",
    }
    example = """id: take_new_files
namespace: company.team
tasks:
  - id: take
    type: io.kestra.plugin.aws.s3.Downloads
    bucket: my-bucket
    prefix: landing/
    regexp: .*\\.csv
    action: MOVE
    moveTo:
      key: processed/
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ outputs.take.outputFiles | keys }}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
""" + EXAMPLE_DEFAULTS

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        bucket = ctx.get("bucket")
        action, move_to = choice(ctx, "action"), ctx.get("moveTo") or {}
        if action == "MOVE" and not move_to.get("key"):
            raise TaskFailure("property 'moveTo': the MOVE action needs moveTo.key "
                              "(and moveTo.bucket, else the same bucket)")
        client = s3_client(ctx, transfer=True)
        listed = at_most(ctx, list_objects(ctx, client, bucket))
        mode = "ENABLED" if ctx.get("validateChecksum") else None
        objects = [{**item, **_stored_fields(download_object(ctx, client, bucket, item["key"], ChecksumMode=mode))}
                   for item in listed if not item["key"].endswith("/")]
        if action == "DELETE":
            for item in listed:
                delete_object(client, bucket, item["key"])
        elif action == "MOVE":
            target = str(move_to.get("bucket") or bucket)
            folder = str(move_to["key"]).rstrip("/")
            for item in listed:
                copy_object(client, {"Bucket": bucket, "Key": item["key"]}, target,
                            f"{folder}/{posixpath.basename(item['key'])}")
                delete_object(client, bucket, item["key"])
        return {"objects": objects, "outputFiles": {item["key"]: item["uri"] for item in objects}}


def _stored_fields(info: dict[str, Any]) -> dict[str, Any]:
    """The fields Downloads adds to a listed object: its kestra:// uri and the checksum S3 reported."""
    return {name: info[name] for name in ("uri", "checksumAlgorithm", "checksumValue") if name in info}


class DeleteList(TaskPlugin):
    """Delete every object a listing of an S3 bucket selects; outputs `count` and `size`."""

    type = "io.kestra.plugin.aws.s3.DeleteList"
    blocking = True
    properties = {
        **LIST_PROPS,
        "concurrent": Prop("int", description="Delete this many objects at once (at least 2); one by one when absent."),
        "errorOnEmpty": Prop("bool", default=False, description="Fail when no object matches."),
    }
    outputs = {"count": "How many objects were deleted.", "size": "Their total size in bytes."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        bucket = ctx.get("bucket")
        concurrent = ctx.get("concurrent")
        if concurrent is not None and concurrent < 2:
            raise TaskFailure("property 'concurrent': must be at least 2")
        client = s3_client(ctx)
        objects = list_objects(ctx, client, bucket)
        with ThreadPoolExecutor(max_workers=concurrent or 1) as pool:
            list(pool.map(lambda item: delete_object(client, bucket, item["key"]), objects))
        count, size = len(objects), sum(item.get("size") or 0 for item in objects)
        if ctx.get("errorOnEmpty") and count == 0:
            regexp, prefix = (ctx.get(name) or "null" for name in ("regexp", "prefix"))  # as Java prints null
            raise TaskFailure(f"Unable to find any files to delete on {bucket} "
                              f"with regexp='{regexp}', prefix='{prefix}'")
        ctx.info(f"Deleted {count} keys for {size} bytes")
        return {"count": count, "size": size}
