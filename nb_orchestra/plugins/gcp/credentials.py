"""The connection properties every GCP task shares, and the credentials they give.

As Kestra's GCP plugin: ``serviceAccount`` is a service account key as JSON text; without one,
Application Default Credentials are used; ``scopes`` narrows them and ``impersonatedServiceAccount``
acts as another account. The key's text and private key join the execution's secrets, so they are
masked in logs, errors, outputs and the store. A local emulator named by its environment variable
(``STORAGE_EMULATOR_HOST``, ``BIGQUERY_EMULATOR_HOST``) is reached without credentials, as Google's
emulators expect, after the key has still been checked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ..base import Prop, TaskContext, TaskFailure
from ..extras import require

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
_ADC_HELP = ("set the task's `serviceAccount` to a service account key (JSON text, e.g. "
             "\"{{ secret('GCP_CREDS') }}\") or configure Application Default Credentials "
             "(GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`)")

GCP_PROPS: dict[str, Prop] = {
    "projectId": Prop("string", description="The GCP project ID (else the key's or the environment's project)."),
    "serviceAccount": Prop("string", description="A service account key as JSON text, e.g. "
                           "`{{ secret('GCP_CREDS') }}`; Application Default Credentials when absent. Masked."),
    "impersonatedServiceAccount": Prop("string", description="The e-mail of a service account to act as."),
    "scopes": Prop("list", default=[CLOUD_PLATFORM], description="OAuth scopes of the credentials."),
}


@dataclass(frozen=True)
class GcpConnection:
    """What a Google client needs: the project and the credentials (None for an emulator)."""

    project: str | None
    credentials: Any


def connect(ctx: TaskContext, emulator_variable: str) -> GcpConnection:
    """The project and credentials of a GCP task, from its properties or the environment."""
    require("google.auth", "gcp", "GCP")
    scopes = [str(scope) for scope in ctx.get("scopes") or [CLOUD_PLATFORM]]
    key = ctx.get("serviceAccount")
    info = _key_info(ctx, str(key)) if key not in (None, "") else None
    project = ctx.get("projectId") or (info or {}).get("project_id")
    if os.environ.get(emulator_variable):
        from google.auth.credentials import AnonymousCredentials
        return GcpConnection(str(project or "local-project"), AnonymousCredentials())
    if info is not None:
        credentials = _key_credentials(info, scopes)
    else:
        credentials, default_project = _default_credentials(scopes)
        project = project or default_project
    target = ctx.get("impersonatedServiceAccount")
    if target:
        from google.auth import impersonated_credentials
        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials, target_principal=str(target), target_scopes=scopes, lifetime=3600)
    if not project:
        raise TaskFailure("No GCP project: set the task's `projectId` (the course sets it in pluginDefaults "
                          "from kv('GCP_PROJECT_ID')), or use a key or credentials that name one")
    return GcpConnection(str(project), credentials)


def _key_info(ctx: TaskContext, text: str) -> dict[str, Any]:
    """The parsed key, its text and private key added to the execution's secrets first."""
    ctx.execution.secrets.add(text)
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFailure(f"property 'serviceAccount': not JSON (line {exc.lineno}, column {exc.colno}); "
                          "it must be the service account key file's text") from None
    if not isinstance(info, dict):
        raise TaskFailure("property 'serviceAccount': the key must be a JSON object")
    if isinstance(info.get("private_key"), str):
        ctx.execution.secrets.add(info["private_key"])
    missing = [name for name in ("type", "client_email", "private_key") if not info.get(name)]
    if missing:
        raise TaskFailure(f"property 'serviceAccount': not a service account key (no {', '.join(missing)})")
    return info


def _key_credentials(info: dict[str, Any], scopes: list[str]) -> Any:
    from google.oauth2 import service_account
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=scopes)
    except (ValueError, TypeError) as exc:
        # The message of a bad key names its fields, never its values.
        raise TaskFailure(f"property 'serviceAccount': the key is not usable ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:120]})") from None


def _default_credentials(scopes: list[str]) -> tuple[Any, str | None]:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    try:
        return google.auth.default(scopes=scopes)
    except DefaultCredentialsError:
        raise TaskFailure(f"No GCP credentials: {_ADC_HELP}") from None
