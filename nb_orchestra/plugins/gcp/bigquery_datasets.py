"""io.kestra.plugin.gcp.bigquery.CreateDataset and DeleteDataset (Kestra's AbstractDataset)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..base import Prop, TaskContext, TaskFailure
from .bigquery_client import BIGQUERY_PROPS, BigQueryTask, bigquery_errors

_ROLES = ("READER", "WRITER", "OWNER")
# Kestra's Entity types and the REST Access field that holds each.
_ENTITIES = {"USER": "userByEmail", "GROUP": "groupByEmail", "DOMAIN": "domain", "IAM_MEMBER": "iamMember"}

DATASET_OUTPUTS: dict[str, str] = {
    "dataset": "The dataset's name.",
    "project": "The dataset's project.",
    "friendlyName": "The dataset's friendly name.",
    "description": "The dataset's description.",
    "location": "The dataset's location.",
}


class CreateDataset(BigQueryTask):
    """Create a BigQuery dataset, or update or keep the existing one (`ifExists`)."""

    type = "io.kestra.plugin.gcp.bigquery.CreateDataset"
    properties: ClassVar[dict[str, Prop]] = {
        **BIGQUERY_PROPS,
        "name": Prop("string", required=True, description="The dataset's name."),
        "ifExists": Prop("enum", default="ERROR", choices=("ERROR", "UPDATE", "SKIP"),
                         description="When the dataset exists: fail (ERROR), update it (UPDATE), keep it (SKIP)."),
        "acl": Prop("list", description="Access controls: [{entity: {type: USER|GROUP|DOMAIN|IAM_MEMBER, value}, "
                    "role: READER|WRITER|OWNER}]."),
        "defaultTableLifetime": Prop("int", description="The default lifetime of its tables, in milliseconds."),
        "description": Prop("string", description="The dataset's description."),
        "friendlyName": Prop("string", description="The dataset's friendly name."),
        "defaultEncryptionConfiguration": Prop("map", description="{kmsKeyName}: the default Cloud KMS key of its "
                                               "tables."),
        "defaultPartitionExpirationMs": Prop("int", description="The default partition expiration of its tables, "
                                             "in milliseconds."),
        "labels": Prop("map", description="The dataset's labels."),
    }
    outputs: ClassVar[dict[str, str]] = DATASET_OUTPUTS

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        from google.api_core.exceptions import Conflict
        from google.cloud.bigquery import Dataset

        name = str(ctx.get("name"))
        resource = _dataset_resource(ctx, client.project, name)
        if_exists = str(ctx.get("ifExists"))
        with bigquery_errors():
            try:
                dataset = client.create_dataset(Dataset.from_api_repr(resource))
                ctx.info(f"Created dataset {client.project}:{name}")
            except Conflict:
                if if_exists == "ERROR":
                    raise
                if if_exists == "UPDATE":
                    fields = [key for key in resource if key != "datasetReference"]
                    dataset = client.update_dataset(Dataset.from_api_repr(resource), fields)
                    ctx.info(f"Updated the existing dataset {client.project}:{name}")
                else:
                    dataset = client.get_dataset(name)
                    ctx.info(f"Dataset {client.project}:{name} exists: kept as it is")
        return {"dataset": dataset.dataset_id, "project": dataset.project, "friendlyName": dataset.friendly_name,
                "description": dataset.description, "location": dataset.location}


def _dataset_resource(ctx: TaskContext, project: str, name: str) -> dict[str, Any]:
    """The REST Dataset resource of the task's properties (Kestra's AbstractDataset.datasetInfo)."""
    resource: dict[str, Any] = {"datasetReference": {"projectId": project, "datasetId": name}}
    if ctx.get("acl"):
        resource["access"] = [_access(entry) for entry in ctx.get("acl")]
    for prop, key in (("defaultTableLifetime", "defaultTableExpirationMs"),
                      ("defaultPartitionExpirationMs", "defaultPartitionExpirationMs")):
        if ctx.get(prop) is not None:
            resource[key] = str(ctx.get(prop))
    for key in ("description", "friendlyName", "location"):
        if ctx.get(key):
            resource[key] = str(ctx.get(key))
    encryption = ctx.get("defaultEncryptionConfiguration")
    if encryption:
        resource["defaultEncryptionConfiguration"] = {"kmsKeyName": str(encryption.get("kmsKeyName", ""))}
    if ctx.get("labels"):
        resource["labels"] = {str(key): str(value) for key, value in ctx.get("labels").items()}
    return resource


def _access(entry: Any) -> dict[str, str]:
    entry = entry if isinstance(entry, dict) else {}
    entity = entry.get("entity") if isinstance(entry.get("entity"), dict) else {}
    role = str(entry.get("role", ""))
    kind = str(entity.get("type", ""))
    if kind not in _ENTITIES or role not in _ROLES or not entity.get("value"):
        raise TaskFailure("property 'acl': each entry needs entity {type: USER|GROUP|DOMAIN|IAM_MEMBER, value} "
                          "and role READER|WRITER|OWNER")
    return {"role": role, _ENTITIES[kind]: str(entity["value"])}


class DeleteDataset(BigQueryTask):
    """Delete a BigQuery dataset (with its tables when `deleteContents`)."""

    type = "io.kestra.plugin.gcp.bigquery.DeleteDataset"
    properties: ClassVar[dict[str, Prop]] = {
        **BIGQUERY_PROPS,
        "name": Prop("string", required=True, description="The dataset's name."),
        "deleteContents": Prop("bool", description="Delete its tables too (else a dataset with tables is kept "
                               "and the task fails)."),
    }
    outputs: ClassVar[dict[str, str]] = {"dataset": "The dataset's name."}

    def call(self, ctx: TaskContext, client: Any) -> dict[str, Any]:
        name = str(ctx.get("name"))
        with bigquery_errors():
            client.delete_dataset(name, delete_contents=bool(ctx.get("deleteContents")))
        ctx.info(f"Deleted dataset {client.project}:{name}")
        return {"dataset": name}
