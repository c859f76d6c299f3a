"""Services expressions reach through the engine: kv(), secret(), read(), envs, masking."""

from __future__ import annotations

import os
from typing import Any

from .. import internal_storage, secrets
from ..errors import SecretError, TemplateError
from ..kv import KVStore
from ..secrets import SecretValues, mask


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
        return {key[4:].lower(): value for key, value in os.environ.items() if key.startswith("ENV_")}

    def kv(self, namespace: str, key: str, error_on_missing: bool, inherit: bool = False) -> Any:
        """``inherit``: no namespace was named, so parent namespaces are searched too (Kestra >= 0.22)."""
        found, value = self._kv.get_inherited(namespace, key) if inherit else self._kv.get(namespace, key)
        if not found and error_on_missing:
            raise TemplateError(f"Cannot find the key '{key}' in the KV store of namespace '{namespace}'")
        return value

    def secret(self, name: str) -> str:
        """A secret set with ``set_secret``, else Kestra's ``SECRET_<NAME>`` (base64); masked in logs."""
        try:
            value = secrets.get_secret(name)
        except SecretError as exc:
            raise TemplateError(str(exc)) from None
        if value:
            self._secrets.add(value)
        return value

    def read(self, uri: str) -> str:
        path = internal_storage.to_path(uri)
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

