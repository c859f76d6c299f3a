"""What every HTTP notification shares: request options, one POST with httpx, and the base of the
incoming-webhook tasks (Kestra's ``AbstractHttpOptionsTask``).

The URL of a webhook holds its credentials (Slack's token is its path, Google Chat's its query), so
messages show only ``scheme://host/…`` of it, and any text that quotes it whole is masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from ... import expressions
from ...secrets import SecretValues, mask
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..core.http import http_errors, option_charset, option_duration, refused_message

if TYPE_CHECKING:
    import httpx

# Kestra's RequestOptions; only the timeouts, the charset and the headers change what is sent.
OPTION_KEYS = frozenset({"connectTimeout", "readTimeout", "readIdleTimeout", "connectionPoolIdleTimeout",
                         "maxContentLength", "defaultCharset", "headers"})
_READ_IDLE_TIMEOUT = timedelta(minutes=5)  # Kestra's default readIdleTimeout

OPTIONS_PROP = Prop("map", description=(
    "HTTP client options: `connectTimeout`, `readIdleTimeout` (ISO-8601 durations; the read limit, PT5M by "
    "default), `defaultCharset`, `headers` (added to the request); `readTimeout`, "
    "`connectionPoolIdleTimeout` and `maxContentLength` are accepted and, as in Kestra, unused."))


@dataclass(frozen=True)
class RequestOptions:
    """``options`` of a notification task, read once."""

    connect_timeout: timedelta | None = None
    read_timeout: timedelta = _READ_IDLE_TIMEOUT
    charset: str = "UTF-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> RequestOptions:
        raw = raw or {}
        headers = raw.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise TaskFailure("options.headers must be a map of header names to values")
        return cls(
            connect_timeout=option_duration(raw.get("connectTimeout"), "connectTimeout"),
            read_timeout=option_duration(raw.get("readIdleTimeout"), "readIdleTimeout") or _READ_IDLE_TIMEOUT,
            charset=option_charset(raw.get("defaultCharset")),
            headers={str(k): expressions.to_text(v) for k, v in headers.items()},
        )


def shown_url(url: str) -> str:
    """What a message may show of a URL that holds credentials: ``https://hooks.slack.com/…``."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if not parts.scheme or not host:
        return "the configured URL"
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{rest}"


def post(url: str, body: bytes, headers: Mapping[str, str], options: RequestOptions,
         hidden: Iterable[str] = ()) -> httpx.Response:
    """POST ``body`` to ``url``; a network error, a timeout or a response code >= 400 is a short
    TaskFailure that names only :func:`shown_url` of the URL and masks it and ``hidden`` values."""
    import httpx

    secrets = SecretValues([url, *hidden])
    seconds = (None if options.connect_timeout is None else options.connect_timeout.total_seconds(),
               options.read_timeout.total_seconds())
    timeout = httpx.Timeout(None, connect=seconds[0], read=seconds[1], write=seconds[1])
    try:
        with http_errors(shown_url(url), options.connect_timeout, options.read_timeout), \
                httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
            response = client.post(url, content=body, headers={"User-Agent": "Kestra", **headers})
    except TaskFailure as exc:
        raise TaskFailure(mask(str(exc), secrets)) from None
    if response.status_code >= 400:
        raise TaskFailure(mask(refused_message(response.status_code, response.content), secrets))
    return response


def parse_json(text: str, prop: str) -> Any:
    """A JSON property value (Jackson's ``readTree``): a clear failure when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TaskFailure(f"property '{prop}' is not valid JSON: {exc}") from None


def url_prop(service: str, example: str) -> Prop:
    return Prop("string", required=True, description=(
        f"{service} incoming webhook URL, e.g. `{{{{ secret('{example}') }}}}`: it holds the webhook's "
        "credentials, so logs and errors show only its scheme and host."))


class Webhook(TaskPlugin):
    """An incoming-webhook task: POST one message, as JSON, to ``url``."""

    blocking = True
    service: ClassVar[str] = "webhook"
    properties = {
        "url": Prop("string", required=True, description="The incoming webhook URL."),
        "options": OPTIONS_PROP,
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        options = task.props.get("options")
        if not isinstance(options, dict):
            return []
        return [("options", f"unknown option '{key}'") for key in options if key not in OPTION_KEYS]

    def message(self, ctx: TaskContext) -> Any:
        """What is sent: a JSON value, or a string sent as it is."""
        raise NotImplementedError

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        options = RequestOptions.of(ctx.get("options"))
        message = self.message(ctx)
        text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False,
                                                                    separators=(",", ":"))
        ctx.log("DEBUG", f"Send {self.service} webhook: {text}")
        url = ctx.get("url")
        if not url:
            raise TaskFailure("property 'url' must not be empty")
        headers = {**options.headers, "Content-Type": "application/json"}
        response = post(url, text.encode(options.charset), headers, options)
        ctx.log("DEBUG", "Response: " + mask(response.text, SecretValues([url])))
        if response.status_code == 200:
            ctx.info("Request succeeded")
        return None


def required_payload(ctx: TaskContext) -> str:
    """``payload`` rendered, or a failure saying it is missing."""
    payload = ctx.get("payload")
    if payload is None or not str(payload).strip():
        raise TaskFailure("property 'payload' is required")
    return str(payload)
