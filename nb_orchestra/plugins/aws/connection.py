"""The connection properties every AWS task shares, and the boto3 client they give.

As Kestra's AbstractConnection: ``accessKeyId`` with ``secretKeyId`` (and ``sessionToken``) are
static credentials; without them boto3's default chain is used (environment variables,
``~/.aws``, an instance role). ``stsRoleArn`` assumes a role through STS first (with the static
keys when given, else the default chain). ``endpointOverride`` points the client at an
S3-compatible server (MinIO, moto). The keys, and the temporary ones STS hands back, join the
execution's secrets as soon as they are read, so they are masked everywhere. Timeouts are short so
an unreachable endpoint fails in seconds.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from ...durations import parse_duration
from ..base import Prop, TaskContext, TaskFailure
from ..extras import require

CONNECT_TIMEOUT = 5   # seconds; botocore's default (60) makes a wrong endpoint hang for minutes
READ_TIMEOUT = 60
# Shorter keys (test values like "a") are masked no more: hiding them would hide letters of every message.
MIN_MASKED = 4

AWS_PROPS: dict[str, Prop] = {
    "region": Prop("string", description="The AWS region, e.g. `eu-west-1`; else the default chain's."),
    "endpointOverride": Prop("string", description="The endpoint to talk to instead of AWS's, for an "
                             "S3-compatible server (MinIO, moto): `http://127.0.0.1:9000`."),
    "compatibilityMode": Prop("bool", default=False, description="For S3-compatible servers: path-style "
                              "addressing, and checksums only where the API requires them."),
    "forcePathStyle": Prop("bool", default=False, description="Address buckets as `endpoint/bucket` rather "
                           "than `bucket.endpoint`; with `compatibilityMode` for the transfer tasks."),
    "accessKeyId": Prop("string", description="The access key ID, e.g. `{{ secret('AWS_ACCESS_KEY_ID') }}`; "
                        "the default credential chain when absent. Masked."),
    "secretKeyId": Prop("string", description="The secret access key, e.g. "
                        "`{{ secret('AWS_SECRET_KEY_ID') }}`. Masked."),
    "sessionToken": Prop("string", description="A session token of temporary credentials. Masked."),
    "stsRoleArn": Prop("string", description="The ARN of a role to assume through STS."),
    "stsRoleExternalId": Prop("string", description="The external ID the role may require (with `stsRoleArn`)."),
    "stsRoleSessionName": Prop("string", description="The role session's name (with `stsRoleArn`)."),
    "stsRoleSessionDuration": Prop("duration", default="PT15M",
                                   description="How long the role session lasts (with `stsRoleArn`)."),
    "stsEndpointOverride": Prop("string", description="The STS endpoint to use instead of AWS's."),
}


def aws_client(ctx: TaskContext, service: str, path_style: bool = False, compatible: bool = False) -> Any:
    """A boto3 client of ``service`` made from the task's connection properties.

    ``path_style`` addresses S3 buckets in the path; ``compatible`` sends and checks checksums only
    where the API requires them (S3-compatible servers that predate S3's default checksums).
    """
    boto3 = require("boto3", "aws", "AWS")
    from botocore.config import Config  # type: ignore[import-untyped]

    secrets = ctx.execution.secrets
    keys = {name: ctx.get(name) or None for name in ("accessKeyId", "secretKeyId", "sessionToken")}
    for value in keys.values():
        if value and len(value) >= MIN_MASKED:
            secrets.add(value)
    region = ctx.get("region") or None
    endpoint = _endpoint(ctx, "endpointOverride")
    options: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
        "retries": {"mode": "standard", "max_attempts": 2},
    }
    if path_style:
        options["s3"] = {"addressing_style": "path"}
    if compatible:
        options.update(request_checksum_calculation="when_required", response_checksum_validation="when_required")
    config = Config(**options)
    with aws_errors(f"The {service} client of properties 'region' and 'endpointOverride'"):  # a bad region name
        session = boto3.session.Session(region_name=region, **_static_credentials(keys))
        if ctx.get("stsRoleArn"):
            session = boto3.session.Session(region_name=region, **_assumed_role(ctx, session, config))
        return session.client(service, endpoint_url=endpoint, config=config)


def _static_credentials(keys: dict[str, str | None]) -> dict[str, str | None]:
    """boto3's credential arguments when both keys are given (Kestra ignores one key alone)."""
    if not (keys["accessKeyId"] and keys["secretKeyId"]):
        return {}
    return {"aws_access_key_id": keys["accessKeyId"], "aws_secret_access_key": keys["secretKeyId"],
            "aws_session_token": keys["sessionToken"]}


def _assumed_role(ctx: TaskContext, session: Any, config: Any) -> dict[str, str]:
    """Temporary credentials of ``stsRoleArn``, their secret and token added to the secrets."""
    duration = parse_duration(ctx.get("stsRoleSessionDuration") or "PT15M")
    request: dict[str, Any] = {
        "RoleArn": ctx.get("stsRoleArn"),
        "RoleSessionName": ctx.get("stsRoleSessionName") or f"kestra-plugin-s3-{int(time.time() * 1000)}",
        "DurationSeconds": int(duration.total_seconds()),
    }
    if ctx.get("stsRoleExternalId"):
        request["ExternalId"] = ctx.get("stsRoleExternalId")
    sts = session.client("sts", endpoint_url=_endpoint(ctx, "stsEndpointOverride"), config=config)
    with aws_errors("STS AssumeRole of property 'stsRoleArn'"):
        credentials = sts.assume_role(**request)["Credentials"]
    ctx.execution.secrets.add(credentials["SecretAccessKey"])
    ctx.execution.secrets.add(credentials["SessionToken"])
    return {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def _endpoint(ctx: TaskContext, name: str) -> str | None:
    """An endpoint property, refused (as Kestra does) when it is a link-local address: the instance
    metadata service lives there, and a flow must not reach the host's credentials through it."""
    text = (ctx.get(name) or "").strip()
    if not text:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise TaskFailure(f"property '{name}': '{text}' is not an http(s) URL")
    try:
        link_local = ipaddress.ip_address(parsed.hostname).is_link_local
    except ValueError:  # a host name
        link_local = False
    if link_local:
        raise TaskFailure(f"property '{name}': '{text}' is a link-local address (instance metadata), not allowed")
    return text


# Error codes that mean the credentials themselves are wrong, and the property to look at.
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId": "the access key ID is not known to the server: check property 'accessKeyId'",
    "InvalidClientTokenId": "the access key ID is not known to the server: check property 'accessKeyId'",
    "SignatureDoesNotMatch": "the request signature does not match: check property 'secretKeyId'",
    "InvalidToken": "the session token is not valid: check property 'sessionToken'",
    "ExpiredToken": "the session token has expired: check property 'sessionToken'",
    "UnrecognizedClientException": "the credentials are not valid: check properties 'accessKeyId' and 'secretKeyId'",
}


@contextmanager
def aws_errors(doing: str, codes: Mapping[str, Callable[[Mapping[str, Any]], str]] | None = None) -> Iterator[None]:
    """Errors of AWS calls ``doing`` (e.g. "S3 GetObject of bucket 'b'") as one short TaskFailure:
    the service's codes through ``codes`` (code -> the message of the error's fields) or as they
    come, credentials, endpoint,
    region. Never a traceback; the keys are masked anyway, and no message here quotes them."""
    require("boto3", "aws", "AWS")
    from botocore import exceptions as boto  # type: ignore[import-untyped]

    try:
        yield
    except boto.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        if codes and code in codes:
            raise TaskFailure(codes[code](error)) from None
        if code in _CREDENTIAL_CODES:
            raise TaskFailure(f"{doing} refused: {_CREDENTIAL_CODES[code]}") from None
        message = str(error.get("Message") or "").splitlines()
        raise TaskFailure(f"{doing} failed: {code or 'error'}{': ' + message[0][:200] if message else ''}") from None
    except boto.NoCredentialsError:
        raise TaskFailure(f"{doing}: no AWS credentials: set properties 'accessKeyId' and 'secretKeyId' (e.g. "
                          "\"{{ secret('AWS_SECRET_KEY_ID') }}\") or configure the default chain "
                          "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, an instance role)") from None
    except boto.NoRegionError:
        raise TaskFailure(f"{doing}: no AWS region: set property 'region'") from None
    except (boto.EndpointConnectionError, boto.ConnectTimeoutError, boto.ReadTimeoutError,
            boto.ConnectionClosedError) as exc:
        url = urlparse(str(getattr(exc, "kwargs", {}).get("endpoint_url", "")))
        where = f"{url.scheme}://{url.netloc}" if url.netloc else "the endpoint"  # the server, not the request
        raise TaskFailure(f"{doing}: cannot reach {where}: check properties 'endpointOverride' and 'region'") from None
    except boto.ParamValidationError as exc:
        raise TaskFailure(f"{doing}: invalid request: {' '.join(str(exc).split())[:300]}") from None
    except boto.BotoCoreError as exc:
        raise TaskFailure(f"{doing}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
