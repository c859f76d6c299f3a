"""Services expressions reach through the engine: kv(), secret(), read(), envs, masking."""

from __future__ import annotations

import os
from typing import Any

from .. import internal_storage, secrets
from ..errors import KVStoreError, SecretError, TemplateError
from ..kv import KVStore
from ..secrets import SecretValues, mask

NSFILE = "nsfile://"


class Runtime:
    """The ``ExpressionRuntime`` of one execution."""

    def __init__(self, kv: KVStore, secrets: SecretValues | None = None, logs: list[Any] | None = None) -> None:
        self._kv = kv
        # Secret values read so far: shared with the execution, which masks them too.
        self._secrets = secrets if secrets is not None else SecretValues()
        self._logs = logs if logs is not None else []  # the execution's log records

    @staticmethod
    def envs() -> dict[str, str]:
        """Environment variables starting with ``ENV_``, prefix removed, lower-cased (``envs.foo``)."""
        # keys first: os.environ decodes every value it gives, and few variables are ENV_ ones
        return {key[4:].lower(): os.environ[key] for key in os.environ if key.startswith("ENV_")}

    def kv(self, namespace: str, key: str, error_on_missing: bool, inherit: bool = False) -> Any:
        """``inherit``: no namespace was named, so parent namespaces are searched too (Kestra >= 0.22).
        An expired value is missing, or "The requested value has expired" with ``error_on_missing``."""
        parts = namespace.split(".")
        searched = [".".join(parts[:depth]) for depth in range(len(parts), 0, -1)] if inherit else [namespace]
        try:
            for candidate in searched:
                found, value = self._kv.get(candidate, key, expired_error=error_on_missing)
                if found:
                    return value
        except KVStoreError as exc:
            raise TemplateError(str(exc)) from None
        if error_on_missing:
            raise TemplateError(f"The key '{key}' does not exist in the namespace '{namespace}'.")
        return None

    def secret(self, name: str) -> str:
        """A secret set with ``set_secret``, else Kestra's ``SECRET_<NAME>`` (base64); masked in logs."""
        try:
            value = secrets.get_secret(name)
        except SecretError as exc:
            raise TemplateError(str(exc)) from None
        self.hide(value)
        return value

    def hide(self, value: str) -> None:
        """Mask ``value`` wherever this execution shows or stores it (a secret, a decrypted text)."""
        if value:
            self._secrets.add(value)

    def read(self, uri: str, namespace: str | None = None) -> str:
        """A ``kestra://`` file, else a namespace file of ``namespace``: ``nsfile:///a/b.txt`` or a path
        such as ``a/b.txt`` (Kestra's ``read(path, namespace)``)."""
        try:
            if uri.startswith(f"{internal_storage.SCHEME}://"):
                path = internal_storage.to_path(uri)
            else:
                if namespace is None:
                    raise TemplateError(f"read(): '{uri}' is a namespace file, and no namespace is known")
                relative = uri[len(NSFILE):] if uri.startswith(NSFILE) else uri
                path = internal_storage.namespace_file(namespace, relative)
                if not path.is_file():
                    raise TemplateError(f"read(): no namespace file '{relative}' in namespace '{namespace}'")
        except ValueError as exc:
            raise TemplateError(f"read(): {exc}") from None
        if not path.is_file():
            raise TemplateError(f"read(): no file at {uri}")
        return path.read_text(encoding="utf-8")

    def error_logs(self) -> list[dict[str, Any]]:
        """The execution's ERROR log lines, as Kestra's ``errorLogs()`` lists them."""
        return [{"taskId": log.task_id, "taskRunId": log.taskrun_id, "value": log.value, "level": log.level,
                 "message": log.message, "timestamp": log.timestamp}
                for log in list(self._logs) if log.level == "ERROR"]

    def mask(self, message: str) -> str:
        """Hide every secret value read so far."""
        return mask(message, self._secrets)

