"""Polling HTTP triggers: one request per due trigger, sent off the scheduler's thread.

The scheduler hands a due :class:`~nb_orchestra.model.http_trigger.HttpTrigger` to
:class:`HttpPolls`, which sends its request on a thread of its own (the
scheduler thread never waits on the network) and reports a :class:`PollResult`:
the ``trigger`` variables of the execution to start when the response passed the
trigger's conditions, or a warning when the poll failed (unreachable server,
timeout, a condition that does not render). A failed poll never stops the trigger.

The request is the core HTTP Request task's (``plugins/core/http.py``), with
``allowFailed`` forced on as in Kestra: the condition decides what a response
means. Credentials (secret-looking headers, ``options.auth``, the URI's
password, ``secret()`` values) are masked in every message a poll reports.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .. import api, expressions
from ..errors import UserError
from ..model.conditions import ConditionContext
from ..model.flow import Flow
from ..model.http_trigger import HttpTrigger
from ..model.triggers import flow_variables
from ..plugins.base import TaskFailure
from ..plugins.core.http import Request
from ..secrets import SecretValues, mask, mask_value

# A poll must end: these apply when ``options`` set no timeout (the Request task waits 5 minutes by default).
POLL_TIMEOUT = {"connectTimeout": "PT10S", "readIdleTimeout": "PT30S"}
_TIMEOUT_KEYS = ("timeout", "connectTimeout", "readTimeout")
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|token|key|secret|cookie|password|credential|session")
_QUIET_LEVELS = ("TRACE", "DEBUG")


@dataclass(frozen=True)
class PollResult:
    """What one poll found: the ``trigger`` variables of an execution to start, or a warning, or neither
    (the response did not pass the conditions)."""

    variables: dict[str, Any] | None = None
    warning: str | None = None


class _PollContext:
    """The HttpContext of one poll: the trigger's request properties, rendered; its logs masked."""

    def __init__(self, properties: Mapping[str, Any], secrets: SecretValues, name: str,
                 cancel: threading.Event) -> None:
        self.cancel = cancel
        self._properties = properties
        self._secrets = secrets
        self._name = name

    def get(self, name: str) -> Any:
        return self._properties.get(name)

    def log(self, level: str, message: str) -> None:
        if level not in _QUIET_LEVELS:  # options.logs lines (request headers...), masked
            print(f"nb_orchestra: trigger {self._name}: {mask(message, self._secrets)}", file=sys.stderr)

    def info(self, message: str) -> None:
        self.log("INFO", message)


def poll(flow: Flow, trigger: HttpTrigger, now: datetime, cancel: threading.Event | None = None) -> PollResult:
    """Send ``trigger``'s request once and test the response; never raises."""
    secrets = SecretValues()
    name = ".".join((*flow.key, trigger.id))
    try:
        variables = {"flow": flow_variables(flow), "_runtime": api.expression_services(secrets)}
        properties = request_properties(trigger, variables, secrets)
        context = _PollContext(properties, secrets, name, cancel or threading.Event())
        response = Request().respond(context)
        if not _accepts(trigger, response, variables, now):
            return PollResult()
        # The execution it starts keeps the response (the URI with its password...): masked here.
        return PollResult(variables=mask_value(response, secrets))
    except (UserError, TaskFailure) as exc:
        return PollResult(warning=mask(getattr(exc, "message", None) or str(exc), secrets))
    except Exception as exc:  # noqa: BLE001 - a poll that breaks must not stop the trigger
        return PollResult(warning=mask(f"poll failed: {exc!r}", secrets))


def request_properties(trigger: HttpTrigger, variables: Mapping[str, Any],
                       secrets: SecretValues) -> dict[str, Any]:
    """The Request properties of one poll: rendered, ``method`` GET by default, ``allowFailed`` on, and
    timeouts when none is set. Every credential they carry joins ``secrets``."""
    rendered = expressions.render_value(dict(trigger.request), variables)
    options = dict(rendered.get("options") or {})
    options["allowFailed"] = True  # as Kestra: the response condition judges the code
    if not any(key in options for key in _TIMEOUT_KEYS):
        options["timeout"] = POLL_TIMEOUT
    secrets.update(_credentials(rendered, options))
    return {**rendered, "method": str(rendered.get("method") or "GET"), "options": options}


def _credentials(rendered: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    """The values of secret-looking headers, ``options.auth`` (and its older spellings), the proxy's
    password and the URI's password: what a message of the poll must never show."""
    found = [expressions.to_text(value) for name, value in (rendered.get("headers") or {}).items()
             if _CREDENTIAL_HEADER.search(str(name))]
    auth, proxy = (value if isinstance(value, Mapping) else {} for value in (options.get("auth"), options.get("proxy")))
    user = auth.get("username", options.get("basicAuthUser"))
    password = auth.get("password", options.get("basicAuthPassword"))
    found += [str(value) for value in (password, auth.get("token"), options.get("proxyPassword"),
                                       proxy.get("password")) if value]
    if user is not None and password is not None:
        found.append(f"{user}:{password}")  # what the Basic Authorization header encodes
    uri_password = urlsplit(str(rendered.get("uri", ""))).password
    return [*found, *([uri_password] if uri_password else [])]


def _accepts(trigger: HttpTrigger, response: Mapping[str, Any], variables: Mapping[str, Any],
             now: datetime) -> bool:
    """``responseCondition`` with ``response.*``, then the trigger's ``conditions`` (at ``now``)."""
    seen = {"statusCode": response["code"], "body": response["body"], "headers": response["headers"]}
    try:
        rendered = expressions.render(trigger.response_condition, {**variables, "response": seen})
    except UserError as exc:
        raise UserError(f"responseCondition: {exc}") from None
    if not expressions.is_truthy(rendered):
        return False
    context = ConditionContext(variables=lambda: {**variables, "trigger": {"date": now}}, date=now)
    return all(condition.test(context) for condition in trigger.conditions)


class HttpPolls:
    """Polls, each on a daemon thread of its own (a trigger has one at most: it is not due while it polls;
    a process may exit in the middle of one); ``in_flight`` counts the polls not reported yet."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.in_flight = 0

    def submit(self, flow: Flow, trigger: HttpTrigger, now: datetime, done: Callable[[PollResult], None]) -> None:
        """Poll ``trigger`` on its own thread, then call ``done`` there with the result."""
        with self._lock:
            self.in_flight += 1
        threading.Thread(target=self._run, args=(flow, trigger, now, done), daemon=True,
                         name=f"nbo-http-trigger-{trigger.id}").start()

    def _run(self, flow: Flow, trigger: HttpTrigger, now: datetime, done: Callable[[PollResult], None]) -> None:
        try:
            result = poll(flow, trigger, now, self._stopping)
            if not self._stopping.is_set():
                done(result)
        finally:
            with self._lock:
                self.in_flight -= 1  # after ``done``: whoever waits sees the execution it started

    def stop(self) -> None:
        """Stop reading the responses of the polls in flight; report nothing more."""
        self._stopping.set()
