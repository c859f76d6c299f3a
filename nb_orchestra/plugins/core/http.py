"""io.kestra.plugin.core.http: Request and Download (httpx, imported when a task runs).

Kestra's semantics: a response code >= 400 fails the task unless
``options.allowFailed``; ``options.allowedResponseCodes`` also fails any code
outside the list; ``options.auth`` (BASIC / BEARER) sets the Authorization
header; ``formData`` is sent url-encoded, or as multipart when ``contentType``
is ``multipart/form-data`` (``kestra://`` URIs become file parts).
"""

from __future__ import annotations

import base64
import codecs
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

from ... import expressions, internal_storage
from ...durations import format_duration, parse_duration
from ..base import Prop, TaskCancelled, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file

if TYPE_CHECKING:
    import threading

    import httpx

_ERROR_BODY_CHARS = 1000      # how much of an error response the failure message shows
_PROGRESS_EVERY_S = 2.0       # at most one progress line per this many seconds...
_UNKNOWN_LENGTH_EVERY_S = 5.0  # ...or per this many when the size is not announced
_READ_TIMEOUT = timedelta(minutes=5)  # Kestra's default readIdleTimeout

_OPTION_KEYS = frozenset({
    "timeout", "proxy", "auth", "ssl", "followRedirects", "allowFailed", "allowedResponseCodes",
    "defaultCharset", "logs",
    # deprecated spellings Kestra still reads (the last three it ignores)
    "connectTimeout", "readTimeout", "proxyType", "proxyAddress", "proxyPort", "proxyUsername",
    "proxyPassword", "basicAuthUser", "basicAuthPassword", "logLevel",
    "readIdleTimeout", "connectionPoolIdleTimeout", "maxContentLength",
})
_LOG_KINDS = ("REQUEST_HEADERS", "REQUEST_BODY", "RESPONSE_HEADERS", "RESPONSE_BODY")
_LOG_LEVEL_KINDS = {"TRACE": _LOG_KINDS, "DEBUG": ("REQUEST_HEADERS", "RESPONSE_HEADERS"),
                    "INFO": ("RESPONSE_HEADERS",)}


class HttpContext(Protocol):
    """What one HTTP exchange needs of its caller: a task's TaskContext, or a polling trigger's."""

    cancel: threading.Event

    def get(self, name: str) -> Any: ...

    def log(self, level: str, message: str) -> None: ...

    def info(self, message: str) -> None: ...


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else expressions.is_truthy(value)


def option_duration(value: Any, name: str) -> timedelta | None:
    """An ISO-8601 duration of ``options`` (None when absent); a bad one fails naming ``options.<name>``."""
    try:
        return None if value in (None, "") else parse_duration(value)
    except ValueError as exc:
        raise TaskFailure(f"options.{name}: {exc}") from None


@dataclass
class _Options:
    """``options`` (Kestra's HttpConfiguration) read once, deprecated spellings folded in."""

    follow_redirects: bool = True
    allow_failed: bool = False
    allowed_codes: list[int] = field(default_factory=list)
    authorization: str | None = None
    connect_timeout: timedelta | None = None
    read_timeout: timedelta = _READ_TIMEOUT
    verify: bool = True
    proxy: str | None = None
    charset: str = "UTF-8"
    logs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ctx: HttpContext) -> _Options:
        raw: dict[str, Any] = ctx.get("options") or {}
        timeout = raw.get("timeout") or {}
        ssl = {**(ctx.get("sslOptions") or {}), **(raw.get("ssl") or {})}
        codes = raw.get("allowedResponseCodes") or []
        try:
            allowed = [int(code) for code in (codes if isinstance(codes, list) else [codes])]
        except (TypeError, ValueError):
            raise TaskFailure(f"options.allowedResponseCodes must be a list of integers, got {codes!r}") from None
        return cls(
            follow_redirects=_flag(raw.get("followRedirects"), True),
            allow_failed=_flag(raw.get("allowFailed", ctx.get("allowFailed")), False),
            allowed_codes=allowed,
            authorization=_authorization(raw),
            connect_timeout=option_duration(timeout.get("connectTimeout", raw.get("connectTimeout")),
                                            "connectTimeout"),
            read_timeout=option_duration(timeout.get("readIdleTimeout", raw.get("readTimeout")), "readTimeout")
            or _READ_TIMEOUT,
            verify=not _flag(ssl.get("insecureTrustAllCertificates"), False),
            proxy=_proxy(raw),
            charset=option_charset(raw.get("defaultCharset")),
            logs=frozenset(raw.get("logs") or _LOG_LEVEL_KINDS.get(str(raw.get("logLevel")).upper(), ())),
        )

    def refuses(self, code: int) -> bool:
        """Kestra's FailedResponseInterceptor: >= 400 unless allowed, and codes outside the allowed list."""
        return (not self.allow_failed and code >= 400) or bool(self.allowed_codes and code not in self.allowed_codes)


def option_charset(name: Any) -> str:
    """``options.defaultCharset`` checked (UTF-8 when absent)."""
    charset = str(name or "UTF-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        raise TaskFailure(f"options.defaultCharset: unknown charset '{charset}'") from None
    return charset


def _authorization(raw: dict[str, Any]) -> str | None:
    auth = raw.get("auth") or {}
    if not auth and raw.get("basicAuthUser") is not None:
        auth = {"type": "BASIC", "username": raw.get("basicAuthUser"), "password": raw.get("basicAuthPassword")}
    if not auth:
        return None
    kind = str(auth.get("type", "")).upper()
    if kind == "BASIC":
        pair = f"{auth.get('username')}:{auth.get('password')}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    if kind == "BEARER":
        return f"Bearer {auth.get('token')}"
    raise TaskFailure(f"options.auth.type must be BASIC or BEARER, got '{auth.get('type')}'")


def _proxy(raw: dict[str, Any]) -> str | None:
    proxy = raw.get("proxy") or {k[5:].lower(): v for k, v in raw.items() if k.startswith("proxy")}
    if not proxy.get("address"):
        return None
    scheme = "socks5" if str(proxy.get("type", "HTTP")).upper() == "SOCKS" else "http"
    user = f"{proxy['username']}:{proxy.get('password', '')}@" if proxy.get("username") else ""
    return f"{scheme}://{user}{proxy['address']}:{proxy.get('port', 8080)}"


def _header_map(response: httpx.Response) -> dict[str, list[str]]:
    """Response headers as Kestra outputs them: name (as received) -> list of values."""
    out: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        out.setdefault(names.setdefault(name.lower(), name), []).append(raw_value.decode("latin-1"))
    return out


def _size(count: int) -> str:
    """``12345678`` -> ``12.3 MB`` (decimal units)."""
    value, unit = float(count), 0
    while value >= 1000 and unit < 3:
        value, unit = value / 1000, unit + 1
    return f"{count} B" if unit == 0 else f"{value:.1f} {('KB', 'MB', 'GB')[unit - 1]}"


class _HttpTask(TaskPlugin):
    """What Request and Download share: the request properties and one streamed exchange."""

    blocking = True
    properties = {
        "uri": Prop("string", required=True, description="The full URI, query string included."),
        "method": Prop("string", default="GET", description="GET, POST, PUT, PATCH, DELETE, HEAD..."),
        "headers": Prop("map", description="Request headers; values are rendered."),
        "body": Prop("string", description="The request body, sent with `contentType`."),
        "formData": Prop("map", description="Form fields; multipart when contentType is multipart/form-data, "
                                            "`kestra://` URIs (or {name, content}) become file parts."),
        "contentType": Prop("string", default="application/json", description="Content type of `body`."),
        "options": Prop("map", description="followRedirects, allowFailed, allowedResponseCodes, auth "
                                           "{type: BASIC|BEARER}, timeout {connectTimeout, readIdleTimeout}, "
                                           "proxy, ssl, defaultCharset, logs."),
        "sslOptions": Prop("map", description="Deprecated: use options.ssl."),
        "allowFailed": Prop("bool", description="Deprecated: use options.allowFailed."),
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        return option_problems(task.props.get("options"))

    @contextmanager
    def exchange(self, ctx: HttpContext) -> Iterator[tuple[httpx.Response, str, _Options]]:
        """Send the request and yield (response, uri, options) once the headers are in.

        A refused response code fails here with the start of its body; network
        errors and timeouts raised while the caller reads the body become task failures.
        """
        import httpx

        options = _Options.of(ctx)
        uri = ctx.get("uri").replace(" ", "%20")
        timeout = httpx.Timeout(None, connect=_seconds(options.connect_timeout),
                                read=_seconds(options.read_timeout), write=_seconds(options.read_timeout))
        with http_errors(uri, options.connect_timeout, options.read_timeout), ExitStack() as stack:
            request = self._request(ctx, options, stack)
            client = stack.enter_context(httpx.Client(
                follow_redirects=options.follow_redirects, timeout=timeout, verify=options.verify,
                proxy=options.proxy, trust_env=False))
            self._log_request(ctx, options, request)
            response = stack.enter_context(client.stream(request.pop("method"), uri, **request))
            if "RESPONSE_HEADERS" in options.logs:
                ctx.info(f"response {response.status_code}: " + "; ".join(
                    f"{name}: {', '.join(values)}" for name, values in _header_map(response).items()))
            if options.refuses(response.status_code):
                raise TaskFailure(_refused(ctx, response))
            yield response, uri, options

    def _request(self, ctx: HttpContext, options: _Options, stack: ExitStack) -> dict[str, Any]:
        """httpx.Client.stream keyword arguments: method, headers and the body Kestra would send."""
        user_headers = {str(k): expressions.to_text(v) for k, v in (ctx.get("headers") or {}).items()}
        headers = {"User-Agent": "Kestra", **user_headers}
        if options.authorization:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = options.authorization
        request: dict[str, Any] = {"method": ctx.get("method").upper(), "headers": headers}
        content_type = ctx.get("contentType")
        form = ctx.get("formData") or {}
        has_type = any(k.lower() == "content-type" for k in user_headers)
        if form and content_type == "multipart/form-data":
            request["files"] = [(str(key), _part(value, stack)) for key, value in form.items()]
        elif form:
            request["data"] = {str(key): expressions.to_text(value) for key, value in form.items()}
        elif ctx.get("body") is not None:
            request["content"] = ctx.get("body").encode(options.charset)
            if content_type and not has_type:
                with_charset = "charset=" in content_type.lower()
                headers["Content-Type"] = content_type if with_charset else f"{content_type}; charset={options.charset}"
        elif content_type and not user_headers:
            headers["Content-Type"] = content_type
        return request

    @staticmethod
    def _log_request(ctx: HttpContext, options: _Options, request: dict[str, Any]) -> None:
        if "REQUEST_HEADERS" in options.logs:
            ctx.info(f"request {request['method']}: " + "; ".join(f"{k}: {v}" for k, v in request["headers"].items()))
        if "REQUEST_BODY" in options.logs and "content" in request:
            ctx.info(f"request body: {request['content'].decode(options.charset, 'replace')}")


@contextmanager
def http_errors(target: str, connect_timeout: timedelta | None, read_timeout: timedelta | None) -> Iterator[None]:
    """httpx's network errors and timeouts raised inside become short TaskFailures naming ``target``
    (the URI, or what may be shown of it); shared by every task that speaks HTTP."""
    import httpx

    try:
        yield
    except httpx.TimeoutException as exc:
        limit, what = ((connect_timeout, "connecting to") if isinstance(exc, httpx.ConnectTimeout)
                       else (read_timeout, "waiting for"))
        after = format_duration(limit) if limit else "the system limit"
        raise TaskFailure(f"timed out after {after} {what} {target}") from None
    except httpx.ConnectError as exc:
        raise TaskFailure(f"cannot reach {target}: {exc}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise TaskFailure(f"invalid uri '{target}': {exc}") from None
    except httpx.HTTPError as exc:
        raise TaskFailure(f"request to {target} failed: {exc}") from None


def option_problems(options: Any) -> list[tuple[str, str]]:
    """The unknown keys of an ``options`` map, as (property, message)."""
    if not isinstance(options, dict):
        return []
    return [("options", f"unknown option '{key}'") for key in options if key not in _OPTION_KEYS]


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _part(value: Any, stack: ExitStack) -> tuple:
    """One multipart part, as Kestra builds it: file, named file, or text (JSON for other values)."""
    if isinstance(value, dict) and "name" in value and "content" in value:
        return str(value["name"]), stack.enter_context(stored_file(value["content"], "formData").open("rb")), \
            "application/octet-stream"
    if isinstance(value, str) and value.startswith("kestra://"):
        path = stored_file(value, "formData")
        return path.name, stack.enter_context(path.open("rb")), "application/octet-stream"
    return None, expressions.to_text(value).encode("utf-8"), "text/plain; charset=UTF-8"


def _chunks(ctx: HttpContext, response: httpx.Response) -> Iterator[bytes]:
    """The response body in chunks; stops (TaskCancelled) as soon as the run is killed or times out."""
    for chunk in response.iter_bytes():
        if ctx.cancel.is_set():
            raise TaskCancelled()
        yield chunk


def _refused(ctx: HttpContext, response: httpx.Response) -> str:
    """Kestra's failure message: the code, then the start of the body."""
    body = bytearray()
    for chunk in _chunks(ctx, response):
        body += chunk
        if len(body) > _ERROR_BODY_CHARS * 4:
            break
    return refused_message(response.status_code, bytes(body))


def refused_message(code: int, body: bytes) -> str:
    """Kestra's message for a refused response: the code, then the start of the body (shared by every
    task that speaks HTTP)."""
    message = f"Failed http request with response code '{code}'"
    text = body[:_ERROR_BODY_CHARS * 4].decode("utf-8", "replace")
    if text:
        cut = text[:_ERROR_BODY_CHARS]
        message += f" and body:\n{cut}" + ("…" if len(text) > len(cut) else "")
    return message


class Request(_HttpTask):
    """Send an HTTP request; outputs ``uri``, ``code``, ``headers`` and ``body`` (a string)."""

    type = "io.kestra.plugin.core.http.Request"
    outputs = {
        "uri": "The request URI.",
        "code": "HTTP status code.",
        "headers": "Response headers (name -> list of values).",
        "body": "Response body as text.",
    }
    aliases = ("io.kestra.plugin.fs.http.Request",)
    properties = {
        **_HttpTask.properties,
        "encryptBody": Prop("bool", default=False, description="Not supported: true fails the task."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        if ctx.get("encryptBody"):
            raise TaskFailure("encryptBody: output encryption is not supported by nb_orchestra")
        return self.respond(ctx)

    def respond(self, ctx: HttpContext) -> dict[str, Any]:
        """Send the request and read the whole response: ``uri``, ``code``, ``headers`` and ``body`` (the
        HTTP polling trigger's variables too)."""
        with self.exchange(ctx) as (response, uri, options):
            content = b"".join(_chunks(ctx, response))
        no_body = response.request.method == "HEAD" or response.status_code in (204, 304)
        body = None if no_body else content.decode("utf-8", "replace")
        if "RESPONSE_BODY" in options.logs:
            ctx.info(f"response body: {body}")
        ctx.log("DEBUG", f"Request '{uri}' with the response code '{response.status_code}'")
        return {"uri": uri, "code": response.status_code, "headers": _header_map(response), "body": body}


class Download(_HttpTask):
    """Stream a response body to a file; outputs ``uri`` (kestra://), ``code``, ``length``, ``headers``."""

    type = "io.kestra.plugin.core.http.Download"
    outputs = {
        "uri": "kestra:// URI of the downloaded file.",
        "code": "HTTP status code.",
        "length": "Number of bytes.",
        "headers": "Response headers (name -> list of values).",
    }
    aliases = ("io.kestra.plugin.fs.http.Download",)
    properties = {
        **_HttpTask.properties,
        "failOnEmptyResponse": Prop("bool", default=True, description="Fail when the body is empty."),
        "saveAs": Prop("string", description="File name of the download (default: from the server or the URI)."),
    }

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        with self.exchange(ctx) as (response, uri, options):
            name = _file_name(ctx.get("saveAs"), response, uri)
            target = ctx.storage_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            progress = _Progress(ctx, response)
            length = 0
            try:
                with target.open("wb") as out:
                    for chunk in _chunks(ctx, response):
                        out.write(chunk)
                        length += len(chunk)
                        progress.update(response.num_bytes_downloaded)
                progress.finish(response.num_bytes_downloaded)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        if length == 0:
            if ctx.get("failOnEmptyResponse") and not options.allow_failed:
                target.unlink(missing_ok=True)
                raise TaskFailure(f"No response from server: {uri} answered {response.status_code} with an empty body")
            ctx.log("WARN", f"File '{uri}' is empty")
        ctx.log("DEBUG", f"File '{uri}' downloaded with size '{length}'")
        return {"uri": internal_storage.to_uri(target), "code": response.status_code, "length": length,
                "headers": _header_map(response)}


class _Progress:
    """Progress lines of a long download: each 10% (at most one per 2 s), or every 5 s when the size is
    unknown; a download that logged progress also logs its end."""

    def __init__(self, ctx: TaskContext, response: httpx.Response):
        self.ctx = ctx
        announced = response.headers.get("Content-Length", "")
        self.total = int(announced) if announced.isdigit() else None
        self.last_time = time.monotonic()
        self.last_done = 0

    def update(self, done: int) -> None:
        elapsed = time.monotonic() - self.last_time
        if self.total:
            if elapsed >= _PROGRESS_EVERY_S and (done - self.last_done) * 10 >= self.total:
                self._log(done)
        elif elapsed >= _UNKNOWN_LENGTH_EVERY_S:
            self._log(done)

    def finish(self, done: int) -> None:
        if self.last_done and done != self.last_done:
            self._log(done)

    def _log(self, done: int) -> None:
        of = f" of {_size(self.total)} ({done * 100 // self.total}%)" if self.total else ""
        self.ctx.info(f"downloaded {_size(done)}{of}")
        self.last_time, self.last_done = time.monotonic(), done


_UNSAFE = re.compile(r'[\x00-\x1f/\\?#%*:|"<>]')


def _file_name(save_as: str | None, response: httpx.Response, uri: str) -> str:
    """``saveAs``, else the Content-Disposition file name, else the last segment of the URI path."""
    name = save_as or _disposition_name(response.headers.get("Content-Disposition", "")) \
        or unquote(urlparse(uri).path.rstrip("/").rpartition("/")[2])
    name = _UNSAFE.sub("_", name.replace("\\", "/").rpartition("/")[2]).lstrip(". ")
    return name or "download"


def _disposition_name(header: str) -> str | None:
    """``filename*=UTF-8''...`` (RFC 5987) wins over ``filename=...``."""
    plain = extended = None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        key = key.strip().lower()
        if key == "filename*":
            extended = unquote(value.strip().split("'", 2)[-1].strip('"'))
        elif key == "filename":
            plain = value.strip().strip('"')
    return extended or plain
