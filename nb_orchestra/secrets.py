"""Secrets for ``secret('NAME')``: set in Python, or Kestra's ``SECRET_<NAME>`` variables; masking.

Kestra's open-source edition reads ``SECRET_<NAME>`` environment variables
holding the base64 of the value. In a notebook it is handier to hand the
plain value over: :func:`set_secret` does that for the whole process and
wins over the environment variable.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import SecretError

MASK = "******"
# Base64 forms of shorter values are a few letters that ordinary text holds too: not hidden.
MIN_ENCODED_LENGTH = 4

_configured: dict[str, str] = {}
_lock = threading.Lock()


def set_secret(name: str, value: str | None) -> None:
    """Make ``secret(name)`` return ``value`` in every flow of this process; None forgets it."""
    if not name:
        raise ValueError("a secret needs a name")
    with _lock:
        if value is None:
            _configured.pop(name, None)
        else:
            _configured[name] = str(value)


def get_secret(name: str) -> str:
    """The value set with :func:`set_secret`, else the base64-decoded ``SECRET_<name>``."""
    with _lock:
        value = _configured.get(name)
    if value is not None:
        return value
    # Kestra's SecretService: SECRET_<NAME> variables, names compared in upper case, line breaks in
    # the base64 ignored.
    variable, encoded = next(((key, text) for key, text in os.environ.items()
                              if key.startswith("SECRET_") and key[len("SECRET_"):].upper() == name.upper()),
                             (f"SECRET_{name}", None))
    if encoded is None:
        raise SecretError(f"Cannot find secret for key '{name}'. Call nb_orchestra.set_secret('{name}', value) "
                          f"or set the environment variable SECRET_{name.upper()} to the base64 encoding of its value.")
    try:
        return base64.b64decode(re.sub(r"\r\n|\r|\n", "", encoded), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SecretError(f"{variable} is not valid base64") from None


class SecretValues:
    """The secret values of one execution (``secret()`` reads, SECRET inputs), as every form they may
    take in text: as they are, JSON- and HTML-escaped, base64 (standard and URL-safe, with or without
    padding) and URL-encoded. Iterating yields every form to hide, longest first."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._forms: list[str] = []
        self.update(values)

    def add(self, value: str) -> None:
        if not value or value in self._values:
            return
        self._values.add(value)
        forms = set(self._forms) | _forms(value)
        self._forms = sorted(forms, key=len, reverse=True)  # a longer form is hidden before its parts

    def update(self, values: Iterable[str]) -> None:
        for value in values:
            self.add(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._forms)

    def __len__(self) -> int:
        return len(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def values(self) -> set[str]:
        """The secret values themselves."""
        return set(self._values)


def _forms(value: str) -> set[str]:
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1], html.escape(value),
             urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    if len(value) >= MIN_ENCODED_LENGTH:
        raw = value.encode("utf-8")
        encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
        forms |= encoded | {form.rstrip("=") for form in encoded}
    return {form for form in forms if form}


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (every form of a SecretValues) replaced by ******."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_value(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a value tree (maps, lists) with every string masked; other values as they are."""
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return type(value)((mask_value(k, secrets), mask_value(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(mask_value(v, secrets) for v in value)
    return value


_URL_USERINFO = re.compile(r"^(?P<scheme>[\w+.-]+://)(?P<user>[^:@/]*):(?P<password>.*)@(?P<host>[^@]*)$")
_URL_PASSWORD_PARAM = re.compile(r"(?i)([?&](?:password|passwd|pwd|sslpassword)=)[^&#]*")


def redact_url(url: str) -> str:
    """A connection URL with its password hidden, in the user part (even one holding ``@``) and in
    query parameters such as ``?password=``: for messages, reprs and logs."""
    head, sep, query = url.partition("?")
    found = _URL_USERINFO.match(head)
    if found:
        head = f"{found['scheme']}{found['user']}:{MASK}@{found['host']}"
    return head + _URL_PASSWORD_PARAM.sub(rf"\g<1>{MASK}", sep + query)
