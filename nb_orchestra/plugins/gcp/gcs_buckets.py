"""io.kestra.plugin.gcp.gcs: CreateBucket and DeleteBucket.

A bucket's settings are written as the JSON API's bucket resource (``billing.requesterPays``,
``website.mainPageSuffix``...) and handed to Google's client as changes of a bucket, which it sends
on create and patch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..base import Prop, TaskContext, TaskFailure
from .gcs_common import GcsTask, choice, gcs_errors, storage_client

STORAGE_CLASSES = ("REGIONAL", "MULTI_REGIONAL", "NEARLINE", "COLDLINE", "STANDARD", "ARCHIVE",
                   "DURABLE_REDUCED_AVAILABILITY")
_ENTITY_PREFIX = {"USER": "user-", "GROUP": "group-", "DOMAIN": "domain-"}
_ROLES = ("READER", "WRITER", "OWNER")
_LIFECYCLE_ACTIONS = {"DELETE": "Delete", "SET_STORAGE_CLASS": "SetStorageClass"}
_FORCE_DELETIONS = 8  # objects deleted at once by DeleteBucket's force (Kestra's CONCURRENT_DELETIONS)

_BUCKET_PROPS: dict[str, Prop] = {
    "name": Prop("string", required=True, description="The bucket's name (globally unique)."),
    "requesterPays": Prop("bool", description="The requester pays for access to the bucket's data."),
    "versioningEnabled": Prop("bool", description="Keep the previous versions of objects."),
    "indexPage": Prop("string", description="The website index page of the bucket."),
    "notFoundPage": Prop("string", description="The website page served for a missing object."),
    "lifecycleRules": Prop("list", description="Rules: `condition: {age: DAYS}` and `action: {type: DELETE}` "
                           "or `{type: SET_STORAGE_CLASS, value: NEARLINE}`."),
    "storageClass": Prop("enum", choices=STORAGE_CLASSES, description="The bucket's default storage class."),
    "location": Prop("string", description="Where the bucket's data lives: a region or multi-region."),
    "cors": Prop("list", description="CORS rules: `maxAgeSeconds`, `methods`, `origins` "
                 "(`- value: https://...`), `responseHeaders`."),
    "acl": Prop("list", description="Access control: `entity: {type: USER|GROUP|DOMAIN, value: ...}`, "
                "`role: READER|WRITER|OWNER`."),
    "defaultAcl": Prop("list", description="Default access control of new objects, as `acl`."),
    "labels": Prop("map", description="The bucket's labels."),
    "defaultKmsKeyName": Prop("string", description="The default Cloud KMS key of new objects."),
    "defaultEventBasedHold": Prop("bool", description="New objects are held until the hold is released."),
    "retentionPeriod": Prop("int", description="Seconds objects are retained."),
    "iamConfiguration": Prop("map", description="`uniformBucketLevelAccessEnabled`, `publicAccessPrevention` "
                             "(ENFORCED or INHERITED)."),
    "logging": Prop("map", description="Access logs: `logBucket`, `logObjectPrefix`."),
}
_BUCKET_OUTPUTS = {
    "bucket": "The bucket: name, uri (gs://name), location, indexPage, notFoundPage.",
    "created": "Whether the bucket was created.",
    "updated": "Whether an existing bucket was updated (ifExists UPDATE).",
}


class CreateBucket(GcsTask):
    """Create a bucket; ``ifExists`` says what to do when it exists: ERROR, UPDATE or SKIP."""

    type = "io.kestra.plugin.gcp.gcs.CreateBucket"
    properties = {
        **GcsTask.properties,
        **_BUCKET_PROPS,
        "ifExists": Prop("enum", default="ERROR", choices=("ERROR", "UPDATE", "SKIP"),
                         description="When the bucket exists: fail (ERROR), apply these settings to it "
                                     "(UPDATE), or leave it as it is (SKIP)."),
    }
    outputs = _BUCKET_OUTPUTS

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        name, policy = str(ctx.get("name")), choice(ctx, "ifExists")
        settings = bucket_settings(ctx)
        client = storage_client(ctx)
        with gcs_errors(f"GCS bucket '{name}' does not exist", f"bucket '{name}'"):
            bucket = client.lookup_bucket(name)
            if bucket is None:
                ctx.log("DEBUG", f"Creating bucket '{name}'")
                return _bucket_output(client.create_bucket(_with_settings(client.bucket(name), settings)),
                                      created=True)
            if policy == "UPDATE":
                ctx.log("DEBUG", f"Updating bucket '{name}'")
                _with_settings(bucket, settings).patch()
                return _bucket_output(bucket, updated=True)
        if policy == "SKIP":
            ctx.log("DEBUG", f"Bucket '{name}' already exists, skipping")
            return _bucket_output(bucket)
        raise TaskFailure(f"Bucket {name} already exists and ifExists policy is set to ERROR")


def _with_settings(bucket: Any, settings: Mapping[str, Any]) -> Any:
    for field, value in settings.items():
        bucket._patch_property(field, value)  # the client's own record of changed fields (sent by create/patch)
    return bucket


def _bucket_output(bucket: Any, created: bool = False, updated: bool = False) -> dict[str, Any]:
    website = bucket._properties.get("website") or {}
    info = {"name": bucket.name, "uri": f"gs://{bucket.name}", "location": bucket.location,
            "indexPage": website.get("mainPageSuffix"), "notFoundPage": website.get("notFoundPage")}
    return {"bucket": {key: value for key, value in info.items() if value is not None},
            "created": created, "updated": updated}


def bucket_settings(ctx: TaskContext) -> dict[str, Any]:
    """The properties given, as fields of the JSON API's bucket resource."""
    fields: dict[str, Any] = {}

    def put(prop: str, field: str, convert: Callable[[Any], Any] = lambda value: value) -> None:
        value = ctx.get(prop)
        if value is not None:
            fields[field] = convert(value)

    put("requesterPays", "billing", lambda value: {"requesterPays": bool(value)})
    put("versioningEnabled", "versioning", lambda value: {"enabled": bool(value)})
    if ctx.get("indexPage") is not None or ctx.get("notFoundPage") is not None:
        fields["website"] = {"mainPageSuffix": ctx.get("indexPage"), "notFoundPage": ctx.get("notFoundPage")}
    put("lifecycleRules", "lifecycle", lambda rules: {"rule": [_lifecycle_rule(rule) for rule in rules]})
    if ctx.get("storageClass") is not None:
        fields["storageClass"] = choice(ctx, "storageClass")
    put("location", "location", str)
    put("cors", "cors", lambda rules: [_cors_rule(rule) for rule in rules])
    put("acl", "acl", lambda entries: [_access("acl", entry) for entry in entries])
    put("defaultAcl", "defaultObjectAcl", lambda entries: [_access("defaultAcl", entry) for entry in entries])
    put("labels", "labels", lambda labels: {str(key): str(value) for key, value in labels.items()})
    put("defaultKmsKeyName", "encryption", lambda key: {"defaultKmsKeyName": str(key)})
    put("defaultEventBasedHold", "defaultEventBasedHold", bool)
    put("retentionPeriod", "retentionPolicy", lambda seconds: {"retentionPeriod": str(int(seconds))})
    put("iamConfiguration", "iamConfiguration", _iam_configuration)
    put("logging", "logging", lambda value: {"logBucket": _entry("logging", value).get("logBucket"),
                                             "logObjectPrefix": value.get("logObjectPrefix")})
    return fields


def _entry(prop: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TaskFailure(f"property '{prop}': expected a map, got {value!r}")
    return value


def _one_of(prop: str, value: Any, choices: tuple[str, ...]) -> str:
    if str(value) not in choices:
        raise TaskFailure(f"property '{prop}': '{value}' is not one of {', '.join(choices)}")
    return str(value)


def _lifecycle_rule(rule: Any) -> dict[str, Any]:
    condition = _entry("lifecycleRules", _entry("lifecycleRules", rule).get("condition"))
    action = _entry("lifecycleRules", rule.get("action"))
    kind = _one_of("lifecycleRules.action.type", action.get("type"), tuple(_LIFECYCLE_ACTIONS))
    converted = {"type": _LIFECYCLE_ACTIONS[kind]}
    if kind == "SET_STORAGE_CLASS":
        converted["storageClass"] = _one_of("lifecycleRules.action.value", action.get("value"), STORAGE_CLASSES)
    age = condition.get("age")
    if age is None:
        raise TaskFailure("property 'lifecycleRules': each rule's condition needs an `age` (days)")
    return {"action": converted, "condition": {"age": int(age)}}


def _cors_rule(rule: Any) -> dict[str, Any]:
    rule = _entry("cors", rule)
    origins = [origin.get("value") if isinstance(origin, Mapping) else origin for origin in rule.get("origins") or []]
    converted = {"maxAgeSeconds": rule.get("maxAgeSeconds"), "method": rule.get("methods"),
                 "origin": origins or None, "responseHeader": rule.get("responseHeaders")}
    return {key: value for key, value in converted.items() if value is not None}


def _access(prop: str, entry: Any) -> dict[str, str]:
    entity = _entry(prop, _entry(prop, entry).get("entity"))
    kind = _one_of(f"{prop}.entity.type", entity.get("type"), tuple(_ENTITY_PREFIX))
    return {"entity": _ENTITY_PREFIX[kind] + str(entity.get("value")),
            "role": _one_of(f"{prop}.role", entry.get("role"), _ROLES)}


def _iam_configuration(value: Any) -> dict[str, Any]:
    value = _entry("iamConfiguration", value)
    converted: dict[str, Any] = {}
    if value.get("uniformBucketLevelAccessEnabled") is not None:
        converted["uniformBucketLevelAccess"] = {"enabled": bool(value["uniformBucketLevelAccessEnabled"])}
    if value.get("publicAccessPrevention") is not None:
        converted["publicAccessPrevention"] = _one_of("iamConfiguration.publicAccessPrevention",
                                                      value["publicAccessPrevention"],
                                                      ("ENFORCED", "INHERITED")).lower()
    return converted


class DeleteBucket(GcsTask):
    """Delete a bucket; with ``force``, its objects first."""

    type = "io.kestra.plugin.gcp.gcs.DeleteBucket"
    properties = {
        **GcsTask.properties,
        "name": Prop("string", required=True, description="The bucket to delete."),
        "force": Prop("bool", default=False, description="Delete every object of the bucket first."),
    }
    outputs = {"bucket": "The bucket's name.", "bucketUri": "The bucket's gs:// URI."}

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        from google.api_core.exceptions import Conflict

        name = str(ctx.get("name"))
        client = storage_client(ctx)
        with gcs_errors(f"Couldn't find bucket '{name}'", f"bucket '{name}'"):
            if ctx.get("force"):
                with ThreadPoolExecutor(max_workers=_FORCE_DELETIONS) as pool:
                    list(pool.map(lambda blob: blob.delete(), client.list_blobs(name)))
            ctx.log("DEBUG", f"Deleting bucket '{name}'")
            try:
                client.bucket(name).delete()
            except Conflict:
                raise TaskFailure(f"GCS bucket '{name}' is not empty: set `force: true` to delete its "
                                  "objects first") from None
        return {"bucket": name, "bucketUri": f"gs://{name}"}
