"""What the S3 tasks share: their properties, the client, errors naming the bucket and key, and
the object calls several tasks make (download to internal storage, copy, delete)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from ... import internal_storage
from ..base import Prop, TaskCancelled, TaskContext, TaskFailure
from .connection import AWS_PROPS, aws_client, aws_errors

BUCKET = Prop("string", required=True, description="The S3 bucket name.")
REQUEST_PAYER = Prop("string", description="RequestPayer: `requester` when the requester pays for the request.")
# Properties of the tasks on objects of one bucket (Kestra's AbstractS3Object).
OBJECT_PROPS: dict[str, Prop] = {**AWS_PROPS, "bucket": BUCKET, "requestPayer": REQUEST_PAYER}

CHUNK = 1 << 20
ETAG, VERSION = "The object's ETag.", "The object's version ID (versioned buckets)."

# The connection of the examples: the course's pluginDefaults on the family's prefix.
EXAMPLE_DEFAULTS = """
pluginDefaults:
  - type: io.kestra.plugin.aws
    values:
      region: eu-west-1
      accessKeyId: "{{ secret('AWS_ACCESS_KEY_ID') }}"
      secretKeyId: "{{ secret('AWS_SECRET_KEY_ID') }}"
"""


def s3_client(ctx: TaskContext, transfer: bool = False) -> Any:
    """The S3 client of a task. ``transfer`` tasks (Kestra's async client: Upload, Download(s),
    Copy) accept ``forcePathStyle`` only with ``compatibilityMode``, as Kestra does."""
    compatible = bool(ctx.get("compatibilityMode"))
    force_path_style = bool(ctx.get("forcePathStyle"))
    if transfer and force_path_style and not compatible:
        raise TaskFailure("'forcePathStyle' must be used in conjunction with 'compatibilityMode'")
    return aws_client(ctx, "s3", path_style=force_path_style or compatible, compatible=compatible)


def s3_errors(operation: str, bucket: str, key: str | None = None) -> AbstractContextManager[None]:
    """S3 errors of ``operation`` on ``bucket`` (and ``key``) as one line naming them (the bucket or
    key the server names first: a copy has two of each)."""
    where = "bucket '{bucket}'" + (", key '{key}'" if key else "")

    def named(text: str) -> Callable[[Mapping[str, Any]], str]:
        return lambda error: (text.replace("{bucket}", str(error.get("BucketName") or bucket))
                              .replace("{key}", str(error.get("Key") or key)))

    missing_key = named("S3 object '{key}' does not exist in bucket '{bucket}'")
    denied = named(f"S3 {operation} of {where} refused: access denied (the credentials lack the permission)")
    return aws_errors(named(f"S3 {operation} of {where}")({}), {
        "NoSuchBucket": named("S3 bucket '{bucket}' does not exist"),
        "NoSuchKey": missing_key,
        "404": missing_key if key else named("S3 bucket '{bucket}' does not exist"),
        "NoSuchVersion": named("S3 object '{key}' of bucket '{bucket}' has no such version"),
        "AccessDenied": denied,
        "403": denied,
        "InvalidBucketName": named("'{bucket}' is not a valid S3 bucket name"),
        "BucketAlreadyOwnedByYou": named("S3 bucket '{bucket}' already exists and is yours"),
        "BucketAlreadyExists": named("S3 bucket '{bucket}' already exists (bucket names are global: choose another)"),
    })


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the absent ones, as Kestra leaves null fields out of outputs."""
    return {name: value for name, value in values.items() if value is not None}


def instant(value: datetime | None) -> str | None:
    """A timestamp as Kestra prints an Instant: UTC, ISO-8601, ``Z``."""
    if value is None:
        return None
    text = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{value.microsecond:06d}"
    fraction = fraction[:3] if fraction.endswith("000") else fraction  # Java prints millis or micros
    return f"{text}.{fraction}Z" if value.microsecond else f"{text}Z"


def checksum(response: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The first checksum S3 reported, as (algorithm, base64 value), Kestra's order."""
    for algorithm in ("SHA256", "SHA1", "CRC32", "CRC32C"):
        if response.get(f"Checksum{algorithm}"):
            return algorithm, response[f"Checksum{algorithm}"]
    return None, None


def encryption(name: str | None) -> str | None:
    """A server-side encryption as Kestra's enum names it (AWS_KMS) or as S3 does (aws:kms)."""
    if not name:
        return None
    normal = name.strip().upper().replace(":", "_")
    if normal not in ("AES256", "AWS_KMS", "AWS_KMS_DSSE"):
        raise TaskFailure(f"property 'serverSideEncryption': '{name}' is not one of AES256, AWS_KMS, AWS_KMS_DSSE")
    return normal if normal == "AES256" else normal.lower().replace("_", ":")


def download_object(ctx: TaskContext, client: Any, bucket: str, key: str, **request: Any) -> dict[str, Any]:
    """GetObject into a new file of the task run's storage; Kestra's FileInfo of it (``uri``...)."""
    with s3_errors("GetObject", bucket, key):
        response = client.get_object(Bucket=bucket, Key=key, **present(request))
        folder = ctx.storage_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{uuid.uuid4().hex}{PurePosixPath(key).suffix}"
        with target.open("wb") as file:
            for chunk in response["Body"].iter_chunks(CHUNK):
                if ctx.cancel.is_set():
                    raise TaskCancelled()
                file.write(chunk)
    algorithm, value = checksum(response)
    if request.get("ChecksumMode") == "ENABLED" and algorithm is None:
        ctx.log("WARN", f"Checksum validation requested for key '{key}' but the object has no stored checksum; "
                        "transfer was not verified.")
    return present({
        "uri": internal_storage.to_uri(target), "contentLength": response.get("ContentLength"),
        "contentType": response.get("ContentType"), "metadata": response.get("Metadata"),
        "versionId": response.get("VersionId"), "eTag": response.get("ETag"),
        "checksumAlgorithm": algorithm, "checksumValue": value,
    })


def delete_object(client: Any, bucket: str, key: str, **request: Any) -> dict[str, Any]:
    """DeleteObject; the response."""
    with s3_errors("DeleteObject", bucket, key):
        response: dict[str, Any] = client.delete_object(Bucket=bucket, Key=key, **present(request))
    return response


def copy_object(client: Any, source: Mapping[str, Any], bucket: str, key: str, **request: Any) -> dict[str, Any]:
    """CopyObject of ``source`` ({Bucket, Key[, VersionId]}) to ``bucket``/``key``; the response."""
    with s3_errors("CopyObject", source["Bucket"], source["Key"]):
        response: dict[str, Any] = client.copy_object(CopySource=dict(source), Bucket=bucket, Key=key,
                                                      **present(request))
    return response
