"""Services expressions reach through the engine: kv(), secret(), read(), envs, masking."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from .. import storage
from ..errors import TemplateError
from ..kv import kv_store

MASK = "******"


class Runtime:
    """The ``ExpressionRuntime`` of one execution."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    @staticmethod
    def envs() -> dict[str, str]:
        """Environment variables starting with ``ENV_``, prefix removed, lower-cased (``envs.foo``)."""
        return {key[4:].lower(): value for key, value in os.environ.items() if key.startswith("ENV_")}

    def kv(self, namespace: str, key: str, error_on_missing: bool) -> Any:
        found, value = kv_store().get(namespace, key)
        if not found and error_on_missing:
            raise TemplateError(f"Cannot find the key '{key}' in the KV store of namespace '{namespace}'")
        return value

    def secret(self, name: str) -> str:
        """Kestra's open-source secrets: ``SECRET_<NAME>`` holds the base64 of the value."""
        encoded = os.environ.get(f"SECRET_{name}")
        if encoded is None:
            raise TemplateError(f"Cannot find secret for key '{name}': set the environment variable "
                                f"SECRET_{name} to the base64 encoding of its value")
        try:
            value = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TemplateError(f"SECRET_{name} is not valid base64") from None
        if value:
            self._secrets.add(value)
        return value

    def read(self, uri: str) -> str:
        path = storage.to_path(uri)
        if not path.is_file():
            raise TemplateError(f"read(): no file at {uri}")
        return path.read_text(encoding="utf-8")

    def mask(self, message: str) -> str:
        """Hide every secret value read so far."""
        for secret in self._secrets:
            message = message.replace(secret, MASK)
        return message
