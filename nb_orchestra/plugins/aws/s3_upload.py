"""io.kestra.plugin.aws.s3.Upload: kestra:// files to S3, one or many (Kestra's reading of `from`)."""

from __future__ import annotations

import json
import posixpath
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file
from ..serdes.common import choice
from .s3_common import ETAG, EXAMPLE_DEFAULTS, OBJECT_PROPS, VERSION, encryption, present, s3_client, s3_errors


class Upload(TaskPlugin):
    """Upload one or many kestra:// files to an S3 bucket; outputs `bucket`, `key`, `eTag`, `versionId`."""

    type = "io.kestra.plugin.aws.s3.Upload"
    blocking = True
    properties = {
        **OBJECT_PROPS,
        "from": Prop("any", required=True, description="A kestra:// URI, a list of them (named by their file "
                     "names under `key`) or a map key -> URI; also as JSON text."),
        "key": Prop("string", required=True, description="The object key; the prefix of the keys when `from` "
                    "holds several files."),
        "metadata": Prop("map", description="User metadata stored with the object."),
        "cacheControl": Prop("string", description="Cache-Control."),
        "contentType": Prop("string", description="Content-Type, e.g. `text/csv`."),
        "contentEncoding": Prop("string", description="Content-Encoding."),
        "contentDisposition": Prop("string", description="Content-Disposition."),
        "contentLanguage": Prop("string", description="Content-Language."),
        "contentLength": Prop("int", description="Content-Length, when it cannot be inferred."),
        "expires": Prop("string", description="Expires: an ISO-8601 instant."),
        "acl": Prop("string", description="A canned ACL, e.g. `private`, `public-read`."),
        "storageClass": Prop("enum", choices=("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                              "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS",
                                              "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"),
                             description="The storage class (S3's default STANDARD when absent)."),
        "serverSideEncryption": Prop("string", description="AES256, AWS_KMS (aws:kms) or AWS_KMS_DSSE (aws:kms:dsse)."),
        "bucketKeyEnabled": Prop("bool", description="Use an S3 Bucket Key with SSE-KMS."),
        "checksumAlgorithm": Prop("enum", choices=("CRC32", "CRC32_C", "CRC32C", "SHA1", "SHA256"),
                                  description="The checksum algorithm S3 verifies the upload with."),
        "checksum": Prop("string", description="The checksum value (base64) of `checksumAlgorithm`."),
        "expectedBucketOwner": Prop("string", description="The account ID that must own the bucket."),
        "objectLockMode": Prop("enum", choices=("GOVERNANCE", "COMPLIANCE"), description="Object Lock mode."),
        "objectLockLegalHoldStatus": Prop("enum", choices=("ON", "OFF"), description="Object Lock legal hold."),
        "objectLockRetainUntilDate": Prop("string", description="Object Lock retention end: an ISO-8601 instant."),
        "tagging": Prop("map", description="Tags of the object."),
        "concurrentUploads": Prop("int", default=50, description="At most this many files uploaded at once."),
    }
    example = """id: upload_to_s3
namespace: company.team
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/trips.csv
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    from: "{{ outputs.extract.uri }}"
    bucket: my-bucket
    key: raw/trips.csv
""" + EXAMPLE_DEFAULTS
    outputs = {
        "bucket": "The bucket.",
        "key": "The key (the prefix for several files).",
        "eTag": ETAG + " (one file)",
        "versionId": VERSION + " (one file)",
        "files": "For several files: by name, `{eTag, versionId, contentLength}`.",
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        bucket, key = ctx.get("bucket"), ctx.get("key")
        files = _files_to_upload(ctx)
        client = s3_client(ctx, transfer=True)
        request = _put_options(ctx)
        if len(files) == 1:
            response = _put(client, bucket, key, next(iter(files.values())), request)
            return present({"bucket": bucket, "key": key, "eTag": response.get("ETag"),
                            "versionId": response.get("VersionId")})

        def upload(name: str) -> tuple[str, dict[str, Any]]:
            path = files[name]
            response = _put(client, bucket, posixpath.join(key, name), path, request)
            return name, present({"eTag": response.get("ETag"), "versionId": response.get("VersionId"),
                                  "contentLength": path.stat().st_size})

        workers = max(1, min(ctx.get("concurrentUploads") or 50, len(files)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return {"bucket": bucket, "key": key, "files": dict(pool.map(upload, files))}


def _files_to_upload(ctx: TaskContext) -> dict[str, Any]:
    """Kestra's reading of ``from``: one URI, a list (named by file name) or a map name -> URI,
    each possibly as JSON text; the local file of each, by name."""
    value = ctx.get("from")
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise TaskFailure("property 'from': neither a URI nor a JSON list or map of URIs") from None
        else:
            value = [text]
    if isinstance(value, list):
        value = {posixpath.basename(str(uri)): uri for uri in value}
    if not isinstance(value, dict):
        raise TaskFailure("property 'from': expected a kestra:// URI, a list of them or a map name -> URI")
    if not value:
        raise TaskFailure("No files to upload: the 'from' property contains an empty collection or array")
    namespace = ctx.execution.namespace
    return {str(name): stored_file(uri, f"from.{name}" if len(value) > 1 else "from", namespace)
            for name, uri in value.items()}


_CHECKSUM_PARAMETERS = {"CRC32": "CRC32", "CRC32_C": "CRC32C", "CRC32C": "CRC32C", "SHA1": "SHA1", "SHA256": "SHA256"}


def _put_options(ctx: TaskContext) -> dict[str, Any]:
    """The PutObject parameters of Upload's properties."""
    tags = ctx.get("tagging")
    request: dict[str, Any] = {
        "RequestPayer": ctx.get("requestPayer"), "CacheControl": ctx.get("cacheControl"),
        "ContentType": ctx.get("contentType"), "ContentEncoding": ctx.get("contentEncoding"),
        "ContentDisposition": ctx.get("contentDisposition"), "ContentLanguage": ctx.get("contentLanguage"),
        "ContentLength": ctx.get("contentLength"), "ACL": ctx.get("acl"), "StorageClass": ctx.get("storageClass"),
        "BucketKeyEnabled": ctx.get("bucketKeyEnabled"), "ExpectedBucketOwner": ctx.get("expectedBucketOwner"),
        "ObjectLockMode": ctx.get("objectLockMode"), "ObjectLockLegalHoldStatus": ctx.get("objectLockLegalHoldStatus"),
        "Expires": _instant(ctx, "expires"), "ObjectLockRetainUntilDate": _instant(ctx, "objectLockRetainUntilDate"),
        "Tagging": urlencode({str(k): str(v) for k, v in tags.items()}) if tags else None,
        "Metadata": {str(k): str(v) for k, v in (ctx.get("metadata") or {}).items()} or None,
        "ServerSideEncryption": encryption(ctx.get("serverSideEncryption")),
    }
    if ctx.get("checksumAlgorithm"):
        parameter = _CHECKSUM_PARAMETERS[choice(ctx, "checksumAlgorithm")]
        request["ChecksumAlgorithm"] = parameter
        request[f"Checksum{parameter}"] = ctx.get("checksum")
    return present(request)


def _instant(ctx: TaskContext, name: str) -> datetime | None:
    text = ctx.get(name)
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise TaskFailure(f"property '{name}': '{text}' is not an ISO-8601 instant "
                          "such as 2030-01-01T00:00:00Z") from None


def _put(client: Any, bucket: str, key: str, path: Any, request: dict[str, Any]) -> dict[str, Any]:
    """PutObject of a local file (a single request: up to 5 GB)."""
    with s3_errors("PutObject", bucket, key), open(path, "rb") as body:
        response: dict[str, Any] = client.put_object(Bucket=bucket, Key=key, Body=body, **request)
    return response
