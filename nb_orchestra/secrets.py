"""Secrets for ``secret('NAME')``: set in Python, or Kestra's ``SECRET_<NAME>`` variables.

Kestra's open-source edition reads ``SECRET_<NAME>`` environment variables
holding the base64 of the value. In a notebook it is handier to hand the
plain value over: :func:`set_secret` does that for the whole process and
wins over the environment variable.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading

_configured: dict[str, str] = {}
_lock = threading.Lock()


class SecretError(LookupError):
    """A secret that is not set, or whose environment variable is not valid base64."""


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
    encoded = os.environ.get(f"SECRET_{name}")
    if encoded is None:
        raise SecretError(f"Cannot find secret for key '{name}': call nb_orchestra.set_secret('{name}', value) "
                          f"or set the environment variable SECRET_{name} to the base64 encoding of its value")
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SecretError(f"SECRET_{name} is not valid base64") from None
