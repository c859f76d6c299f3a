"""io.kestra.plugin.aws.s3: Download, Delete, Copy and CreateBucket, one object (or bucket) at a
time; Upload is in s3_upload.py, the tasks on a listing in s3_listing.py."""

from __future__ import annotations

from typing import Any

from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from .connection import AWS_PROPS
from .s3_common import (
    BUCKET,
    ETAG,
    EXAMPLE_DEFAULTS,
    OBJECT_PROPS,
    VERSION,
    copy_object,
    delete_object,
    download_object,
    encryption,
    present,
    s3_client,
    s3_errors,
)
from .s3_listing import LIST_PROPS, MAX_FILES, VALIDATE_CHECKSUM, at_most, list_objects


class Download(TaskPlugin):
    """Download an S3 object into internal storage (output `uri`); with prefix, delimiter or regexp,
    every object they select (output `files`)."""

    type = "io.kestra.plugin.aws.s3.Download"
    blocking = True
    properties = {
        **{name: prop for name, prop in LIST_PROPS.items() if name not in ("filter", "encodingType")},
        "key": Prop("string", description="The key of the object (single-file mode)."),
        "versionId": Prop("string", description="The version of the object (single-file mode)."),
        "maxFiles": MAX_FILES,
        "validateChecksum": VALIDATE_CHECKSUM,
    }
    outputs = {
        "uri": "The kestra:// file of the object.",
        "contentLength": "Its size in bytes.",
        "contentType": "Its Content-Type.",
        "metadata": "Its user metadata.",
        "eTag": ETAG,
        "versionId": VERSION,
        "checksumAlgorithm": "The checksum algorithm S3 reported (with validateChecksum).",
        "checksumValue": "The checksum S3 reported, base64.",
        "files": "In multi-file mode, by key: `{uri, contentLength, contentType, metadata, eTag, versionId}`.",
    }
    example = """id: download_from_s3
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: my-bucket
    key: raw/trips.csv
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{ outputs.download.uri }}"
""" + EXAMPLE_DEFAULTS

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        bucket = ctx.get("bucket")
        request = {"RequestPayer": ctx.get("requestPayer"), "ExpectedBucketOwner": ctx.get("expectedBucketOwner"),
                   "ChecksumMode": "ENABLED" if ctx.get("validateChecksum") else None}
        several = any(ctx.task.props.get(name) is not None for name in ("prefix", "delimiter", "regexp"))
        if not several and ctx.task.props.get("key") is None:
            raise TaskFailure("Invalid configuration: either specify 'key' for single file download or at least "
                              "one filtering parameter (prefix, delimiter, regexp) for multiple files download")
        client = s3_client(ctx, transfer=True)
        if not several:
            return download_object(ctx, client, bucket, ctx.get("key"), VersionId=ctx.get("versionId"), **request)
        objects = at_most(ctx, list_objects(ctx, client, bucket, kind="FILES"))
        if not objects:
            ctx.log("WARN", "No objects found matching the filter criteria")
        return {"files": {item["key"]: download_object(ctx, client, bucket, item["key"], **request)
                          for item in objects}}


class Delete(TaskPlugin):
    """Delete an S3 object; outputs `deleteMarker`, `versionId`, `requestCharged`."""

    type = "io.kestra.plugin.aws.s3.Delete"
    blocking = True
    properties = {
        **OBJECT_PROPS,
        "key": Prop("string", required=True, description="The key of the object."),
        "bypassGovernanceRetention": Prop("bool", description="Bypass Object Lock governance-mode retention."),
        "mfa": Prop("string", description="The MFA device's serial number, a space, and its current code."),
    }
    outputs = {
        "deleteMarker": "Whether the version deleted was (or a delete marker was created as) a delete marker.",
        "versionId": "The version ID of the delete marker created (versioned buckets).",
        "requestCharged": "RequestCharged, when the requester paid.",
    }

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        response = delete_object(s3_client(ctx), ctx.get("bucket"), ctx.get("key"),
                                 BypassGovernanceRetention=ctx.get("bypassGovernanceRetention"),
                                 MFA=ctx.get("mfa"), RequestPayer=ctx.get("requestPayer"))
        return present({"versionId": response.get("VersionId"), "deleteMarker": response.get("DeleteMarker"),
                        "requestCharged": response.get("RequestCharged")})


class Copy(TaskPlugin):
    """Copy an S3 object to another bucket or key, and delete the source with `delete`."""

    type = "io.kestra.plugin.aws.s3.Copy"
    blocking = True
    properties = {
        **AWS_PROPS,
        "from": Prop("map", required=True, description="The source: `{bucket, key, versionId}`."),
        "to": Prop("map", description="The destination: `{bucket, key, serverSideEncryption, kmsKeyId}`; "
                   "the source's bucket and key where absent."),
        "delete": Prop("bool", default=False, description="Delete the source once copied (a move)."),
    }
    outputs = {"bucket": "The destination bucket.", "key": "The destination key.", "eTag": ETAG,
               "versionId": "The destination's version ID (versioned buckets)."}
    example = """id: archive_in_s3
namespace: company.team
tasks:
  - id: archive
    type: io.kestra.plugin.aws.s3.Copy
    from:
      bucket: my-bucket
      key: raw/trips.csv
    to:
      key: archive/trips.csv
    delete: true
""" + EXAMPLE_DEFAULTS

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        source, target = ctx.get("from"), ctx.get("to") or {}
        if not source.get("bucket") or not source.get("key"):
            raise TaskFailure("property 'from': needs `bucket` and `key`")
        bucket = str(target.get("bucket") or source["bucket"])
        key = str(target.get("key") or source["key"])
        request = present({"Bucket": str(source["bucket"]), "Key": str(source["key"]),
                           "VersionId": source.get("versionId")})
        wanted = target.get("serverSideEncryption")
        sse = None if str(wanted or "").upper() == "NONE" else encryption(wanted)  # Kestra's enum has NONE
        client = s3_client(ctx, transfer=True)
        response = copy_object(client, request, bucket, key, ServerSideEncryption=sse,
                               SSEKMSKeyId=target.get("kmsKeyId") if sse == "aws:kms" else None)
        if ctx.get("delete"):
            delete_object(client, request["Bucket"], request["Key"])
        return present({"bucket": bucket, "key": key, "eTag": response.get("CopyObjectResult", {}).get("ETag"),
                        "versionId": response.get("VersionId")})


class CreateBucket(TaskPlugin):
    """Create an S3 bucket; outputs `bucket` and `region` (the location S3 answers). An existing bucket
    fails the task, as in Kestra (S3's us-east-1 answers success to its owner)."""

    type = "io.kestra.plugin.aws.s3.CreateBucket"
    blocking = True
    properties = {
        **AWS_PROPS,
        "bucket": BUCKET,
        "grantFullControl": Prop("string", description="Grantees given read, write, read ACP and write ACP."),
        "grantRead": Prop("string", description="Grantees allowed to list the objects."),
        "grantReadACP": Prop("string", description="Grantees allowed to read the bucket's ACL."),
        "grantWrite": Prop("string", description="Grantees allowed to create, overwrite and delete objects."),
        "grantWriteACP": Prop("string", description="Grantees allowed to write the bucket's ACL."),
        "acl": Prop("string", description="A canned ACL, e.g. `private`."),
        "objectLockEnabledForBucket": Prop("bool", description="Enable S3 Object Lock on the new bucket."),
    }
    outputs = {"bucket": "The bucket.", "region": "The location S3 answers, e.g. `/my-bucket`."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        bucket = ctx.get("bucket")
        client = s3_client(ctx)
        region = client.meta.region_name  # the property's, else the default chain's
        request = present({
            "GrantFullControl": ctx.get("grantFullControl"), "GrantRead": ctx.get("grantRead"),
            "GrantReadACP": ctx.get("grantReadACP"), "GrantWrite": ctx.get("grantWrite"),
            "GrantWriteACP": ctx.get("grantWriteACP"), "ACL": ctx.get("acl"),
            "ObjectLockEnabledForBucket": ctx.get("objectLockEnabledForBucket"),
            # S3 wants the region named outside us-east-1 (the AWS SDK for Java sends it on its own)
            "CreateBucketConfiguration": ({"LocationConstraint": region}
                                          if region not in (None, "us-east-1", "aws-global") else None),
        })
        with s3_errors("CreateBucket", bucket):
            response = client.create_bucket(Bucket=bucket, **request)
        return present({"bucket": bucket, "region": response.get("Location")})
